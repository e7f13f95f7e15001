"""The MLmodel file: read and write it (docs/reference/formats.md), keeping keys we do not know."""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from typing import Any

import yaml

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.models.schema import ModelSignature, ParamSchema, Schema

MLMODEL_FILE = "MLmodel"
# Keys that are written even when null (docs/reference/formats.md).
_ALWAYS_WRITTEN = ("prompts", "model_id")
_DROPPED_WHEN_NULL = ("run_id", "artifact_path")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


class Model:
    """In-memory MLmodel. Unknown top-level keys are kept in ``extra`` and written back."""

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        model_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        prompts: list | None = None,
        **extra: Any,
    ) -> None:
        from labkeep.version import __version__

        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = utc_time_created or _now()
        self.flavors = flavors or {}
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or model_id or uuid.uuid4().hex
        self.model_id = model_id
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.prompts = prompts
        extra.setdefault("labkeep_version", __version__)
        self.extra = extra
        self._dir: str | None = None  # set by load(): where example files are read from

    # -- flavors -------------------------------------------------------------------------------
    def add_flavor(self, name: str, **params: Any) -> Model:
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        return self.signature.params if self.signature is not None else None

    @property
    def loader_module(self) -> str | None:
        return (self.flavors.get("python_function") or {}).get("loader_module")

    def load_input_example(self, path: str | None = None):
        """The stored input example (DataFrame / ndarray / JSON), or None; ``path`` is the model dir."""
        from labkeep.models.examples import load_input_example

        return load_input_example(path or self._dir or ".", self.saved_input_example_info)

    def load_input_example_params(self, path: str | None = None) -> dict | None:
        from labkeep.models.examples import load_input_example_params

        return load_input_example_params(path or self._dir or ".", self.saved_input_example_info)

    # -- (de)serialization ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        fields = {
            "artifact_path": self.artifact_path,
            "run_id": self.run_id,
            "utc_time_created": self.utc_time_created,
            "flavors": self.flavors,
            "model_uuid": self.model_uuid,
            "model_id": self.model_id,
            "prompts": self.prompts,
            "metadata": self.metadata,
            "model_size_bytes": self.model_size_bytes,
            "saved_input_example_info": self.saved_input_example_info,
        }
        for key, value in fields.items():
            if value is not None or key in _ALWAYS_WRITTEN:
                out[key] = value
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
            out.setdefault("is_signature_from_type_hint", False)
            out.setdefault("type_hint_from_example", False)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=True)

    def save(self, path: str) -> None:
        """Write MLmodel to ``path`` (a file path, or a directory that gets an MLmodel file)."""
        if os.path.isdir(path):
            path = os.path.join(path, MLMODEL_FILE)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_yaml())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Model:
        d = dict(d)
        sig = d.pop("signature", None)
        known = {
            k: d.pop(k)
            for k in list(d)
            if k
            in (
                "artifact_path",
                "run_id",
                "utc_time_created",
                "flavors",
                "saved_input_example_info",
                "model_uuid",
                "model_id",
                "metadata",
                "model_size_bytes",
                "prompts",
            )
        }
        signature = ModelSignature.from_dict(sig) if isinstance(sig, dict) else None
        return cls(signature=signature, **known, **d)

    @classmethod
    def load(cls, path: str) -> Model:
        """Load from a model directory or an MLmodel file path."""
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, MLMODEL_FILE)
        if not os.path.exists(path):
            raise ResourceDoesNotExist(f"No MLmodel file at {path}: is this a model directory?")
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        if not isinstance(data, dict):
            raise InvalidParameterValue(f"{path} is not a valid MLmodel file (expected a YAML mapping).")
        model = cls.from_dict(data)
        model._dir = os.path.dirname(path)
        return model

    def __repr__(self) -> str:
        return f"Model(flavors={sorted(self.flavors)}, model_id={self.model_id!r}, run_id={self.run_id!r})"


def directory_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def safe_join(model_dir: str, relative: str) -> str:
    """Join a path from MLmodel to the model dir, refusing anything that escapes it."""
    if relative is None:
        raise InvalidParameterValue("MLmodel is missing a required path entry.")
    if os.path.isabs(relative) or relative.startswith(("/", "\\")):
        raise InvalidParameterValue(
            f"Refusing absolute path {relative!r} in MLmodel: paths must be relative."
        )
    root = os.path.realpath(model_dir)
    full = os.path.realpath(os.path.join(root, relative))
    if full != root and not full.startswith(root + os.sep):
        raise InvalidParameterValue(
            f"Refusing path {relative!r} in MLmodel: it escapes the model directory {model_dir}."
        )
    return full
