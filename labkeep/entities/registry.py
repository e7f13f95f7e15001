"""Model registry entities: registered models, versions, tags, aliases and promotion events.

Small dataclasses with ``to_dict``/``from_dict`` in MLflow's REST JSON shapes (docs/reference/rest.md).
Attribute names follow mlflow's entity properties (``tags`` is a dict, ``RegisteredModel.aliases``
maps alias -> version, ``ModelVersion.aliases`` is a list of alias names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkeep.entities.enums import ModelVersionStatus
from labkeep.entities.tracking import _kv_dict, _kv_list


@dataclass(frozen=True)
class RegisteredModelTag:
    key: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegisteredModelTag:
        return cls(d["key"], d.get("value", ""))


@dataclass(frozen=True)
class ModelVersionTag:
    key: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelVersionTag:
        return cls(d["key"], d.get("value", ""))


@dataclass(frozen=True)
class RegisteredModelAlias:
    alias: str
    version: str

    def to_dict(self) -> dict[str, str]:
        return {"alias": self.alias, "version": self.version}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegisteredModelAlias:
        return cls(d["alias"], str(d["version"]))


@dataclass(frozen=True)
class ModelVersion:
    """One numbered version of a registered model."""

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int | None = None
    description: str | None = None
    user_id: str | None = None
    current_stage: str = "None"
    source: str | None = None
    run_id: str | None = None
    status: str = ModelVersionStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)
    model_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "creation_timestamp": self.creation_timestamp,
            "current_stage": self.current_stage,
            "status": self.status,  # always present: the client polls while it is missing
        }
        for key in (
            "last_updated_timestamp",
            "description",
            "user_id",
            "source",
            "run_id",
            "status_message",
            "run_link",
            "model_id",
        ):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.tags:
            d["tags"] = _kv_list(self.tags)
        if self.aliases:
            d["aliases"] = list(self.aliases)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelVersion:
        return cls(
            name=d.get("name", ""),
            version=str(d.get("version", "")),
            creation_timestamp=int(d.get("creation_timestamp", 0)),
            last_updated_timestamp=_opt_int(d.get("last_updated_timestamp")),
            description=d.get("description"),
            user_id=d.get("user_id"),
            current_stage=d.get("current_stage", "None"),
            source=d.get("source"),
            run_id=d.get("run_id"),
            # A missing status means the proto default, PENDING_REGISTRATION.
            status=d.get("status", ModelVersionStatus.PENDING_REGISTRATION),
            status_message=d.get("status_message"),
            tags=_kv_dict(d.get("tags")),
            run_link=d.get("run_link"),
            aliases=list(d.get("aliases", [])),
            model_id=d.get("model_id"),
        )


@dataclass(frozen=True)
class RegisteredModel:
    """A named model; ``latest_versions`` holds the newest version in each stage."""

    name: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        for key in ("creation_timestamp", "last_updated_timestamp", "user_id", "description"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.latest_versions:
            d["latest_versions"] = [v.to_dict() for v in self.latest_versions]
        if self.tags:
            d["tags"] = _kv_list(self.tags)
        if self.aliases:
            d["aliases"] = [{"alias": a, "version": v} for a, v in self.aliases.items()]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegisteredModel:
        return cls(
            name=d.get("name", ""),
            creation_timestamp=_opt_int(d.get("creation_timestamp")),
            last_updated_timestamp=_opt_int(d.get("last_updated_timestamp")),
            description=d.get("description"),
            latest_versions=[ModelVersion.from_dict(v) for v in d.get("latest_versions", [])],
            tags=_kv_dict(d.get("tags")),
            aliases={a["alias"]: str(a["version"]) for a in d.get("aliases", [])},
            user_id=d.get("user_id"),
        )


@dataclass(frozen=True)
class PromotionEvent:
    """One entry of a model's promotion history: a stage transition or an alias change.

    ``kind`` is ``"stage"`` (``from_stage``/``to_stage`` in ``from_value``/``to_value``) or
    ``"alias"`` (``subject`` is the alias; ``from_value``/``to_value`` are the versions it pointed
    at before and after; ``to_value`` is None when the alias was deleted).
    """

    event_id: int
    name: str
    version: str | None
    kind: str
    from_value: str | None
    to_value: str | None
    user_id: str | None
    timestamp: int
    subject: str | None = None
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "event_id": self.event_id,
            "name": self.name,
            "kind": self.kind,
            "timestamp": self.timestamp,
        }
        for key in ("version", "subject", "from_value", "to_value", "user_id", "comment"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PromotionEvent:
        version = d.get("version")
        return cls(
            event_id=int(d.get("event_id", 0)),
            name=d.get("name", ""),
            version=None if version is None else str(version),
            kind=d.get("kind", ""),
            from_value=d.get("from_value"),
            to_value=d.get("to_value"),
            user_id=d.get("user_id"),
            timestamp=int(d.get("timestamp", 0)),
            subject=d.get("subject"),
            comment=d.get("comment"),
        )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
