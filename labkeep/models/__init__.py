"""Model format: MLmodel files, signatures, input examples, environments and model URIs.

Heavy libraries (numpy, pandas) are imported only inside the functions that need them.
"""

from __future__ import annotations

from labkeep.models.info import ModelInfo
from labkeep.models.mlmodel import Model
from labkeep.models.schema import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema, TensorSpec


def infer_signature(model_input=None, model_output=None, params=None) -> ModelSignature:
    """Infer a ModelSignature from example input, output and params."""
    from labkeep.models.infer import infer_signature as _infer

    return _infer(model_input, model_output, params)


def set_model(model) -> None:
    """Declare the model a models-from-code file defines (see ``labkeep.models.code``)."""
    from labkeep.models.code import set_model as _set

    _set(model)


def get_model_info(model_uri: str) -> ModelInfo:
    """Read the MLmodel behind ``model_uri`` and describe it."""
    from labkeep.models.uris import download_model_uri

    local = download_model_uri(model_uri)
    model = Model.load(local)
    return ModelInfo.from_model(model, model_uri)


__all__ = [
    "ColSpec",
    "Model",
    "ModelInfo",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "get_model_info",
    "infer_signature",
    "set_model",
]
