"""MLflow 3 logged models: a model stored under its experiment and linked to runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkeep.entities.enums import LoggedModelStatus
from labkeep.entities.tracking import Metric, _kv_dict, _kv_list


@dataclass(frozen=True)
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = LoggedModelStatus.PENDING
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)

    @property
    def artifact_uri(self) -> str:
        return self.artifact_location

    def to_dict(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "model_id": self.model_id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "creation_timestamp_ms": self.creation_timestamp,
            "last_updated_timestamp_ms": self.last_updated_timestamp,
            "artifact_uri": self.artifact_location,
            "status": self.status,
        }
        for key in ("model_type", "source_run_id", "status_message"):
            value = getattr(self, key)
            if value is not None:
                info[key] = value
        if self.tags:
            info["tags"] = _kv_list(self.tags)
        data: dict[str, Any] = {}
        if self.params:
            data["params"] = _kv_list(self.params)
        if self.metrics:
            data["metrics"] = [m.to_dict() for m in self.metrics]
        return {"info": info, "data": data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoggedModel:
        info = d.get("info", {})
        data = d.get("data", {})
        return cls(
            model_id=info["model_id"],
            experiment_id=str(info.get("experiment_id", "")),
            name=info.get("name", ""),
            artifact_location=info.get("artifact_uri", ""),
            creation_timestamp=int(info.get("creation_timestamp_ms", 0)),
            last_updated_timestamp=int(info.get("last_updated_timestamp_ms", 0)),
            status=LoggedModelStatus.to_string(info.get("status", LoggedModelStatus.UNSPECIFIED)),
            model_type=info.get("model_type"),
            source_run_id=info.get("source_run_id"),
            status_message=info.get("status_message"),
            tags=_kv_dict(info.get("tags")),
            params=_kv_dict(data.get("params")),
            metrics=[Metric.from_dict(m) for m in data.get("metrics", [])],
        )
