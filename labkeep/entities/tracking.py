"""Tracking entities: experiments, runs, metrics, params, tags, datasets, files.

Small dataclasses with ``to_dict``/``from_dict`` in MLflow's REST JSON shapes. Attribute names
match mlflow's entity properties so code written for mlflow reads them unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from labkeep.entities.enums import LifecycleStage, RunStatus


def _kv_list(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in d.items()]


def _kv_dict(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {i["key"]: i.get("value", "") for i in items or []}


def float_to_json(value: float) -> float | str:
    """Encode a float the way MLflow's JSON does: specials as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def float_from_json(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("bool is not a metric value")
    if isinstance(value, str):
        return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}.get(value, value))
    return float(value)


@dataclass(frozen=True)
class ExperimentTag:
    key: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value}


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "lifecycle_stage": self.lifecycle_stage,
            "workspace": "default",
        }
        if self.creation_time is not None:
            d["creation_time"] = self.creation_time
        if self.last_update_time is not None:
            d["last_update_time"] = self.last_update_time
        if self.tags:
            d["tags"] = _kv_list(self.tags)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Experiment:
        return cls(
            experiment_id=str(d["experiment_id"]),
            name=d.get("name", ""),
            artifact_location=d.get("artifact_location", ""),
            lifecycle_stage=d.get("lifecycle_stage", LifecycleStage.ACTIVE),
            tags=_kv_dict(d.get("tags")),
            creation_time=_opt_int(d.get("creation_time")),
            last_update_time=_opt_int(d.get("last_update_time")),
        )


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


class Metric(NamedTuple):
    """One metric point. A named tuple rather than a dataclass: histories of a million points are
    built from database rows in C (``tuple.__new__``), several times faster than per-point
    ``__init__`` calls. Immutable, compared and hashed by value, as before."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "key": self.key,
            "value": float_to_json(self.value),
            "timestamp": self.timestamp,
            "step": self.step,
        }
        for name in ("model_id", "dataset_name", "dataset_digest", "run_id"):
            v = getattr(self, name)
            if v is not None:
                d[name] = v
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metric:
        return cls(
            key=d["key"],
            value=float_from_json(d["value"]),
            timestamp=int(d.get("timestamp", 0)),
            step=int(d.get("step", 0) or 0),
            model_id=d.get("model_id"),
            dataset_name=d.get("dataset_name"),
            dataset_digest=d.get("dataset_digest"),
            run_id=d.get("run_id"),
        )


class MetricColumns(NamedTuple):
    """One metric's history as parallel columns, ordered by step then timestamp: ``steps[i]``,
    ``timestamps[i]`` and ``values[i]`` are one point. Cheaper than ``Metric`` objects for
    long histories (charts, analysis); ``numpy.asarray(cols.values)`` gives an array."""

    steps: Sequence[int]
    timestamps: Sequence[int]
    values: Sequence[float]


@dataclass(frozen=True)
class Param:
    key: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Param:
        return cls(d["key"], str(d.get("value", "")))


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunTag:
        return cls(d["key"], str(d.get("value", "")))


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    run_name: str = ""

    @property
    def run_uuid(self) -> str:
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "run_id": self.run_id,
            "run_uuid": self.run_id,
            "run_name": self.run_name,
            "experiment_id": self.experiment_id,
            "user_id": self.user_id,
            "status": self.status,
            "artifact_uri": self.artifact_uri,
            "lifecycle_stage": self.lifecycle_stage,
        }
        if self.start_time is not None:
            d["start_time"] = self.start_time
        if self.end_time is not None:
            d["end_time"] = self.end_time
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunInfo:
        status = d.get("status", RunStatus.RUNNING)
        return cls(
            run_id=d.get("run_id") or d["run_uuid"],
            experiment_id=str(d.get("experiment_id", "")),
            user_id=d.get("user_id", ""),
            status=RunStatus.validate(status),
            start_time=_opt_int(d.get("start_time")),
            end_time=_opt_int(d.get("end_time")),
            artifact_uri=d.get("artifact_uri", ""),
            lifecycle_stage=d.get("lifecycle_stage", LifecycleStage.ACTIVE),
            run_name=d.get("run_name", ""),
        )


@dataclass(frozen=True)
class RunData:
    """Latest metric values, params and tags of a run, as dicts (mlflow's ``RunData`` shape)."""

    metric_objs: list[Metric] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float]:
        return {m.key: m.value for m in self.metric_objs}

    @property
    def _metric_objs(self) -> list[Metric]:  # mlflow's private spelling, used by some tools
        return self.metric_objs

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.metric_objs:
            d["metrics"] = [m.to_dict() for m in self.metric_objs]
        if self.params:
            d["params"] = _kv_list(self.params)
        if self.tags:
            d["tags"] = _kv_list(self.tags)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunData:
        return cls(
            metric_objs=[Metric.from_dict(m) for m in d.get("metrics", [])],
            params=_kv_dict(d.get("params")),
            tags=_kv_dict(d.get("tags")),
        )


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "digest": self.digest, "source_type": self.source_type, "source": self.source}
        if self.schema is not None:
            d["schema"] = self.schema
        if self.profile is not None:
            d["profile"] = self.profile
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Dataset:
        return cls(
            name=d.get("name", ""),
            digest=d.get("digest", ""),
            source_type=d.get("source_type", ""),
            source=d.get("source", ""),
            schema=d.get("schema"),
            profile=d.get("profile"),
        )


@dataclass(frozen=True)
class InputTag:
    key: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value}


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"dataset": self.dataset.to_dict()}
        if self.tags:
            d["tags"] = [t.to_dict() for t in self.tags]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetInput:
        return cls(
            dataset=Dataset.from_dict(d.get("dataset", {})),
            tags=[InputTag(t["key"], t.get("value", "")) for t in d.get("tags", [])],
        )


@dataclass(frozen=True)
class LoggedModelInput:
    model_id: str

    def to_dict(self) -> dict[str, str]:
        return {"model_id": self.model_id}


@dataclass(frozen=True)
class LoggedModelOutput:
    model_id: str
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "step": self.step}


@dataclass(frozen=True)
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[LoggedModelInput] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.dataset_inputs:
            d["dataset_inputs"] = [i.to_dict() for i in self.dataset_inputs]
        if self.model_inputs:
            d["model_inputs"] = [i.to_dict() for i in self.model_inputs]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunInputs:
        d = d or {}
        return cls(
            dataset_inputs=[DatasetInput.from_dict(x) for x in d.get("dataset_inputs", [])],
            model_inputs=[LoggedModelInput(x["model_id"]) for x in d.get("model_inputs", [])],
        )


@dataclass(frozen=True)
class RunOutputs:
    model_outputs: list[LoggedModelOutput] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        if not self.model_outputs:
            return {}
        return {"model_outputs": [o.to_dict() for o in self.model_outputs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunOutputs:
        d = d or {}
        return cls(
            [LoggedModelOutput(x["model_id"], int(x.get("step", 0))) for x in d.get("model_outputs", [])]
        )


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData = field(default_factory=RunData)
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": self.info.to_dict(),
            "data": self.data.to_dict(),
            "inputs": self.inputs.to_dict(),
            "outputs": self.outputs.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        return cls(
            info=RunInfo.from_dict(d["info"]),
            data=RunData.from_dict(d.get("data", {})),
            inputs=RunInputs.from_dict(d.get("inputs")),
            outputs=RunOutputs.from_dict(d.get("outputs")),
        )


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "is_dir": self.is_dir}
        if not self.is_dir and self.file_size is not None:
            d["file_size"] = self.file_size
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileInfo:
        size = d.get("file_size")
        return cls(d["path"], bool(d.get("is_dir", False)), None if size is None else int(size))
