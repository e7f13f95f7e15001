"""The generic ``python_function`` flavor: load any model, save/log custom ``PythonModel`` objects.

Loader contract: MLmodel's ``python_function.loader_module`` names a module with
``_load_pyfunc(path[, model_config])`` returning an object with ``predict(data[, params])``.
``mlflow.sklearn``, ``mlflow.pyfunc.model`` and ``mlflow.lightgbm`` are served by labkeep's own
loaders, so mlflow-saved models load without mlflow and labkeep-saved models load in mlflow.

Security: custom models are stored with cloudpickle; loading one runs code from the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkeep.models.mlmodel import Model
from labkeep.pyfunc.loader import PyFuncModel, load_model, load_model_from_dir
from labkeep.pyfunc.model import PythonModel, PythonModelContext

FLAVOR_NAME = "python_function"

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "load_model_from_dir",
    "log_model",
    "save_model",
    "get_default_pip_requirements",
    "get_model_dependencies",
]


def get_model_dependencies(model_uri: str, format: str = "pip") -> str:
    """Path of the model's requirements.txt (``format="pip"``) or conda.yaml (``"conda"``)."""
    import os

    from labkeep.exceptions import InvalidParameterValue
    from labkeep.models.uris import download_model_uri

    name = {"pip": "requirements.txt", "conda": "conda.yaml"}.get(format)
    if name is None:
        raise InvalidParameterValue("format must be 'pip' or 'conda'.")
    path = os.path.join(download_model_uri(model_uri), name)
    if not os.path.exists(path):
        raise InvalidParameterValue(f"The model at {model_uri} has no {name}.")
    return path


def get_default_pip_requirements() -> list[str]:
    from labkeep.models.env import pinned

    # The pickled object refers to labkeep.pyfunc.PythonModel, so labkeep must be installed to load it.
    return [pinned("labkeep"), pinned("cloudpickle"), pinned("numpy"), pinned("pandas")]


def save_model(
    path: str,
    loader_module: str | None = None,
    data_path: str | None = None,
    code_paths: list[str] | None = None,
    infer_code_paths: bool = False,
    conda_env=None,
    mlflow_model: Model | None = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    signature=None,
    input_example: Any = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    metadata: dict | None = None,
    model_config: dict | None = None,
    **kwargs: Any,
) -> Model:
    """Save a custom ``python_model`` (with ``artifacts`` and ``code_paths``) to ``path``."""
    import os

    from labkeep.exceptions import InvalidParameterValue
    from labkeep.models.builder import copy_into, pyfunc_flavor_conf, save_flavor
    from labkeep.pyfunc.model import PythonModelContext, _PythonModelWrapper, save_python_model

    if infer_code_paths:
        import logging

        logging.getLogger(__name__).warning(
            "infer_code_paths is not supported; list modules in code_paths=[...]."
        )
    if (python_model is None) == (loader_module is None):
        raise InvalidParameterValue("Pass either python_model=... or loader_module=... (exactly one).")

    predict: Callable[[Any], Any] | None = None
    if loader_module is None:  # then python_model is set

        def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
            save_python_model(model_dir, model, python_model, artifacts, code)
            if model_config:
                model.flavors["python_function"]["model_config"] = model_config

        def predict_example(data: Any) -> Any:
            ctx = PythonModelContext({k: str(v) for k, v in (artifacts or {}).items()}, model_config)
            if hasattr(python_model, "load_context"):
                python_model.load_context(ctx)
            return _PythonModelWrapper(python_model, ctx).predict(data)

        predict = predict_example
        defaults = get_default_pip_requirements()
    else:

        def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
            data = None if data_path is None else os.path.basename(copy_into(data_path, model_dir))
            model.add_flavor(FLAVOR_NAME, **pyfunc_flavor_conf(loader_module, code=code, data=data))

        defaults = [p for p in get_default_pip_requirements() if not p.startswith("cloudpickle")]

    return save_flavor(locals(), write_flavor, defaults, predict)


def log_model(
    artifact_path: str | None = None,
    loader_module: str | None = None,
    data_path: str | None = None,
    code_paths: list[str] | None = None,
    infer_code_paths: bool = False,
    conda_env=None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    registered_model_name: str | None = None,
    signature=None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements=None,
    extra_pip_requirements=None,
    metadata: dict | None = None,
    model_config: dict | None = None,
    name: str | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
):
    """Log a custom model as a logged model of the active run (or experiment); returns ModelInfo."""
    from labkeep.models.logging import log_flavor_model

    return log_flavor_model(save_model, locals())
