"""``ModelInfo``: what ``log_model`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkeep.models.mlmodel import Model
from labkeep.models.schema import ModelSignature


@dataclass
class ModelInfo:
    """Metadata of a logged model: where it lives and what it expects."""

    artifact_path: str | None
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str | None
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    mlflow_version: str | None = None
    metadata: dict[str, Any] | None = None
    model_id: str | None = None
    name: str | None = None
    registered_model_version: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature is not None else None

    @classmethod
    def from_model(cls, model: Model, model_uri: str, name: str | None = None, **kw: Any) -> ModelInfo:
        return cls(
            artifact_path=model.artifact_path,
            flavors=model.flavors,
            model_uri=model_uri,
            model_uuid=model.model_uuid,
            run_id=model.run_id,
            saved_input_example_info=model.saved_input_example_info,
            signature=model.signature,
            utc_time_created=model.utc_time_created,
            mlflow_version=model.extra.get("mlflow_version"),
            metadata=model.metadata,
            model_id=model.model_id,
            name=name,
            **kw,
        )
