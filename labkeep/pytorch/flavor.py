"""PyTorch flavor: save, log and load ``torch.nn.Module`` models and state dicts.

Layout (mlflow's, so models load in both directions): ``data/model.pt2`` (``torch.export``, the
default when an input example is given: no pickle) or ``data/model.pth`` saved with cloudpickle
plus ``data/pickle_module_info.txt``. Loading a pickled model runs code from the file, so, as in
mlflow, it needs ``LABKEEP_ALLOW_PICKLE_DESERIALIZATION=true`` (or mlflow's variable).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from labkeep import config
from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.models.mlmodel import Model, safe_join

FLAVOR_NAME = "pytorch"
DATA_DIR = "data"
PICKLE_FILE = "model.pth"
EXPORT_FILE = "model.pt2"
PICKLE_INFO_FILE = "pickle_module_info.txt"
STATE_DICT_FILE = "state_dict.pth"
MLFLOW_PICKLE_MODULE = "mlflow.pytorch.pickle_module"
SERIALIZATION_FORMATS = ("pt2", "pickle")
_log = logging.getLogger("labkeep.pytorch")


def get_default_pip_requirements() -> list[str]:
    from labkeep.models.env import pinned

    return [pinned("torch"), pinned("cloudpickle"), pinned("numpy")]


def _example_tensors(input_example: Any) -> tuple[Any, ...]:
    import numpy as np
    import torch

    data = input_example
    if hasattr(data, "to_numpy"):
        data = data.to_numpy(dtype=np.float32)
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if not isinstance(data, torch.Tensor):
        raise InvalidParameterValue(
            "serialization_format='pt2' needs an input_example that is a tensor, a numpy array or a "
            "numeric DataFrame; pass one, or serialization_format='pickle'."
        )
    return (data,)


def _export(model: Any, example: tuple[Any, ...], target: str) -> None:
    import torch

    dims = tuple({0: torch.export.Dim.AUTO} if t.dim() > 0 else None for t in example)
    program = torch.export.export(model, example, dynamic_shapes=dims)
    torch.export.save(program, target)


def save_model(
    pytorch_model: Any,
    path: str,
    conda_env=None,
    mlflow_model: Model | None = None,
    code_paths: list[str] | None = None,
    signature=None,
    input_example: Any = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    metadata: dict | None = None,
    serialization_format: str | None = None,
    **kwargs: Any,
) -> Model:
    """Save a ``torch.nn.Module`` as a model directory at ``path``.

    ``serialization_format``: ``"pt2"`` (``torch.export``, needs ``input_example``; the default
    when one is given) or ``"pickle"`` (the whole module with cloudpickle; the default without an
    example, and what Lightning autolog uses, as mlflow does).
    """
    import torch

    from labkeep.models.builder import pyfunc_flavor_conf, save_flavor

    if not isinstance(pytorch_model, torch.nn.Module):
        raise InvalidParameterValue(f"pytorch_model must be a torch.nn.Module, not {type(pytorch_model).__name__}.")
    fmt = serialization_format or ("pt2" if input_example is not None else "pickle")
    if fmt not in SERIALIZATION_FORMATS:
        raise InvalidParameterValue(f"Unknown serialization_format {fmt!r}; use one of {list(SERIALIZATION_FORMATS)}.")
    example = _example_tensors(input_example) if fmt == "pt2" else None
    if fmt == "pt2" and input_example is None:
        raise InvalidParameterValue("serialization_format='pt2' needs an input_example to trace the model.")

    def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
        data_dir = os.path.join(model_dir, DATA_DIR)
        os.makedirs(data_dir)
        extra: dict[str, Any] = {}
        if fmt == "pt2" and example is not None:  # example is always set for pt2 (checked above)
            pytorch_model.eval()
            _export(pytorch_model, example, os.path.join(data_dir, EXPORT_FILE))
        else:
            from labkeep.pytorch import pickle_module

            with open(os.path.join(data_dir, PICKLE_INFO_FILE), "w") as f:
                f.write(MLFLOW_PICKLE_MODULE)
            target = os.path.join(data_dir, PICKLE_FILE)
            if isinstance(pytorch_model, torch.jit.ScriptModule):
                torch.jit.save(pytorch_model, target)
            else:
                torch.save(pytorch_model, target, pickle_module=pickle_module, **kwargs)
            extra["pickle_module_name"] = MLFLOW_PICKLE_MODULE
        model.add_flavor(
            "python_function",
            **pyfunc_flavor_conf("mlflow.pytorch", code=code, data=DATA_DIR, **extra),
            model_config={"device": None},
        )
        model.add_flavor(FLAVOR_NAME, model_data=DATA_DIR, pytorch_version=str(torch.__version__), code=code)

    def predict(data: Any) -> Any:
        return _Wrapper(pytorch_model).predict(data)

    return save_flavor(locals(), write_flavor, get_default_pip_requirements(), predict)


def log_model(
    pytorch_model: Any,
    artifact_path: str | None = None,
    conda_env=None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature=None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements=None,
    extra_pip_requirements=None,
    metadata: dict | None = None,
    name: str | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    serialization_format: str | None = None,
    **kwargs: Any,
):
    """Log a PyTorch model as a logged model of the active run (or experiment); returns ModelInfo."""
    from labkeep.models.logging import log_flavor_model

    return log_flavor_model(save_model, locals())


def _pickle_allowed() -> bool:
    return config.ALLOW_PICKLE_DESERIALIZATION.flag()


def _load_data_dir(data_dir: str, **kwargs: Any) -> Any:
    import torch

    exported = os.path.join(data_dir, EXPORT_FILE)
    if os.path.exists(exported):
        return torch.export.load(exported).module()
    target = os.path.join(data_dir, PICKLE_FILE) if os.path.isdir(data_dir) else data_dir
    if not os.path.exists(target):
        raise InvalidParameterValue(f"No PyTorch model file in {data_dir} (expected {EXPORT_FILE} or {PICKLE_FILE}).")
    if not _pickle_allowed():
        raise LabkeepException(
            "This PyTorch model is saved with pickle, and loading a pickle runs code from the file. "
            "Set LABKEEP_ALLOW_PICKLE_DESERIALIZATION=true if you trust its source, or save the model "
            "with serialization_format='pt2'.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    from labkeep.pytorch import pickle_module

    model = torch.load(target, pickle_module=pickle_module, weights_only=False, **kwargs)
    model.eval()
    return model


def _model_dir_parts(model_dir: str) -> tuple[str, dict]:
    from labkeep.models.loader import read_flavor

    conf, _meta = read_flavor(model_dir, FLAVOR_NAME)
    return safe_join(model_dir, conf.get("model_data", DATA_DIR)), conf


def load_model(model_uri: str, dst_path: str | None = None, **kwargs: Any) -> Any:
    """Load the ``torch.nn.Module`` behind ``model_uri`` (in eval mode)."""
    from labkeep.models.uris import download_model_uri

    data_dir, _conf = _model_dir_parts(download_model_uri(model_uri, dst_path))
    return _load_data_dir(data_dir, **kwargs)


def save_state_dict(state_dict: dict, path: str, **kwargs: Any) -> None:
    """Save a ``state_dict`` as ``path/state_dict.pth`` (tensors only; loads without pickle)."""
    import torch

    if not isinstance(state_dict, dict):
        raise InvalidParameterValue("state_dict must be a dict (for example model.state_dict()).")
    os.makedirs(path, exist_ok=True)
    torch.save(state_dict, os.path.join(path, STATE_DICT_FILE), **kwargs)


def log_state_dict(state_dict: dict, artifact_path: str, **kwargs: Any) -> None:
    """Save a ``state_dict`` as an artifact directory of the active run."""
    import tempfile

    from labkeep import fluent

    with tempfile.TemporaryDirectory(prefix="labkeep-sd-") as tmp:
        save_state_dict(state_dict, tmp, **kwargs)
        fluent.log_artifacts(tmp, artifact_path)


def load_state_dict(state_dict_uri: str, **kwargs: Any) -> dict:
    """Load a ``state_dict`` saved by ``save_state_dict``/``log_state_dict`` (weights only)."""
    import torch

    from labkeep.models.uris import download_model_uri

    local = download_model_uri(state_dict_uri, None)
    target = os.path.join(local, STATE_DICT_FILE) if os.path.isdir(local) else local
    kwargs.setdefault("weights_only", True)
    return torch.load(target, **kwargs)


class _Wrapper:
    """pyfunc adapter: DataFrame → float32 tensor (answers a DataFrame), array/tensor → array."""

    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict | None = None) -> Any:
        import numpy as np
        import torch

        frame = hasattr(data, "to_numpy") and hasattr(data, "columns")
        if frame:
            tensor = torch.tensor(data.to_numpy(dtype=np.float32))
        elif isinstance(data, np.ndarray):
            tensor = torch.from_numpy(data if data.flags.writeable else data.copy())
        elif isinstance(data, torch.Tensor):
            tensor = data
        else:
            raise InvalidParameterValue(
                f"PyTorch models predict on a DataFrame, numpy array or tensor, not {type(data).__name__}."
            )
        with torch.no_grad():
            out = self.raw_model(tensor, **(params or {}))
        if not isinstance(out, torch.Tensor):
            raise InvalidParameterValue(f"The model returned {type(out).__name__}; pyfunc expects one tensor.")
        arr = out.detach().cpu().numpy()
        if frame:
            import pandas as pd

            return pd.DataFrame(arr, index=data.index)
        return arr


def _load_pyfunc(path: str, model_config: dict | None = None) -> _Wrapper:
    """pyfunc loader: ``path`` is the ``data`` directory (``python_function.data``) or the model dir."""
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "MLmodel")):
        path, _conf = _model_dir_parts(path)
    return _Wrapper(_load_data_dir(path))
