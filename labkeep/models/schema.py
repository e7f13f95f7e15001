"""Model signatures: column and tensor schemas, params schemas, and their MLmodel encoding.

Encoding as in docs/reference/formats.md: a signature is stored in MLmodel as a map whose values are JSON
*strings* (``inputs``, ``outputs``, ``params``). numpy/pandas are imported only where needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from labkeep.exceptions import InvalidParameterValue

# Scalar column types and the numpy dtype each converts to.
SCALAR_TYPES: dict[str, str] = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


@dataclass
class ColSpec:
    """One column: a scalar type name or a composite type dict (array/object/map/any)."""

    type: Any
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(self.type, dict):
            out.update(self.type)
        else:
            out["type"] = self.type
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColSpec:
        d = dict(d)
        name = d.pop("name", None)
        required = d.pop("required", True)
        t = d.get("type")
        if t in SCALAR_TYPES and len(d) == 1:
            return cls(t, name, required)
        if t not in SCALAR_TYPES and t not in ("array", "object", "map", "any"):
            raise InvalidParameterValue(f"Unsupported column type {t!r} in model signature.")
        return cls(d if t != "any" else "any", name, required)


@dataclass
class TensorSpec:
    """A tensor input: numpy dtype name plus shape (-1 marks a variable dimension)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)},
        }
        if self.name is not None:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TensorSpec:
        spec = d.get("tensor-spec") or {}
        return cls(str(spec.get("dtype")), tuple(spec.get("shape") or ()), d.get("name"))


@dataclass
class Schema:
    """An ordered list of ColSpec (column-based) or TensorSpec (tensor-based) inputs."""

    inputs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        kinds = {isinstance(s, TensorSpec) for s in self.inputs}
        if len(kinds) > 1:
            raise InvalidParameterValue("A schema cannot mix column specs and tensor specs.")
        names = [s.name for s in self.inputs]
        named = [n is not None for n in names]
        if any(named) and not all(named):
            raise InvalidParameterValue("Either all or none of the schema's inputs must be named.")

    @property
    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return bool(self.inputs) and self.inputs[0].name is not None

    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    def required_input_names(self) -> list[str]:
        return [s.name for s in self.inputs if getattr(s, "required", True)]

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.inputs])

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.inputs]

    @classmethod
    def from_json(cls, text: str) -> Schema:
        items = json.loads(text) if isinstance(text, str) else text
        return cls(
            [TensorSpec.from_dict(i) if i.get("type") == "tensor" else ColSpec.from_dict(i) for i in items]
        )

    def __len__(self) -> int:
        return len(self.inputs)


@dataclass
class ParamSpec:
    """A named inference parameter with a scalar type and default (shape None or [-1] for lists)."""

    name: str
    type: str
    default: Any = None
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        default = self.default
        if hasattr(default, "isoformat"):
            default = default.isoformat()
        return {
            "name": self.name,
            "type": self.type,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParamSpec:
        shape = d.get("shape")
        return cls(d["name"], d["type"], d.get("default"), tuple(shape) if shape is not None else None)


@dataclass
class ParamSchema:
    params: list[ParamSpec] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps([p.to_dict() for p in self.params])

    def to_dict(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.params]

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        items = json.loads(text) if isinstance(text, str) else text
        return cls([ParamSpec.from_dict(i) for i in items])


@dataclass
class ModelSignature:
    """Inputs, outputs and params of a model, as stored under ``signature`` in MLmodel."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": self.params.to_json() if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSignature:
        def _schema(v):
            return Schema.from_json(v) if v else None

        params = d.get("params")
        return cls(
            _schema(d.get("inputs")),
            _schema(d.get("outputs")),
            ParamSchema.from_json(params) if params else None,
        )

    def __repr__(self) -> str:
        parts = []
        for label, s in (("inputs", self.inputs), ("outputs", self.outputs), ("params", self.params)):
            parts.append(f"{label}: {s.to_dict() if s is not None else None}")
        return "ModelSignature(" + ", ".join(parts) + ")"
