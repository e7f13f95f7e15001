"""Models from code: a Python file that builds the model and hands it over with ``set_model``.

``labkeep.models.set_model(model)`` (mlflow.models.set_model's name) marks the object the file
defines as the model. ``load_code_model(path, config)`` runs such a file and returns that object;
a file written for mlflow (``mlflow.models.set_model``) works too when mlflow is installed.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
from typing import Any

from labkeep.exceptions import InvalidParameterValue

_state = threading.local()


def set_model(model: Any) -> None:
    """Declare ``model`` as the model defined by the file being logged or loaded."""
    if model is None:
        raise InvalidParameterValue("set_model() needs a model object, got None.")
    _state.model = model


def model_config() -> dict[str, Any]:
    """The ``model_config`` passed to ``log_model``/``load_model``, seen from inside the model file."""
    return dict(getattr(_state, "config", None) or {})


def load_code_model(path: str, config: dict[str, Any] | None = None) -> Any:
    """Run the model file at ``path`` and return the object it passed to ``set_model``."""
    path = os.fspath(path)
    if not os.path.isfile(path) or not path.endswith(".py"):
        raise InvalidParameterValue(f"A model from code must be a path to a .py file; got {path!r}.")
    _state.model = None
    _state.config = dict(config or {})
    mlflow_models = sys.modules.get("mlflow.models.model")
    if mlflow_models is not None:
        vars(mlflow_models)["__mlflow_model__"] = None  # a module global set_model of mlflow's reads
    folder = os.path.dirname(os.path.abspath(path))
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        runpy.run_path(path, run_name="__labkeep_model__")
    finally:
        if added:
            sys.path.remove(folder)
        _state.config = None
    model = _state.model
    _state.model = None
    if model is None:  # a file written for mlflow
        mlflow_models = sys.modules.get("mlflow.models.model")
        model = getattr(mlflow_models, "__mlflow_model__", None) if mlflow_models else None
    if model is None:
        raise InvalidParameterValue(
            f"The model file {path} did not call labkeep.models.set_model(model) (or mlflow's)."
        )
    return model
