"""Load any model directory through its ``python_function`` flavor.

MLmodel files name a ``loader_module``. labkeep writes mlflow's module names (``mlflow.sklearn``,
``mlflow.pyfunc.model``, ``mlflow.lightgbm``) so that mlflow loads labkeep models natively, and
maps those names to its own loaders here. Other modules are imported as written (for example a
``labkeep.*`` loader, or an mlflow flavor when mlflow is installed).
"""

from __future__ import annotations

import importlib
import inspect
import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.models.enforce import enforce_params, enforce_schema
from labkeep.models.loader import add_code_dir
from labkeep.models.mlmodel import Model, safe_join
from labkeep.pyfunc.model import accepts_params

LOADER_ALIASES = {
    "mlflow.sklearn": "labkeep.sklearn",
    "mlflow.pyfunc.model": "labkeep.pyfunc.model",
    "mlflow.lightgbm": "labkeep.lightgbm",
    "mlflow.langchain": "labkeep.langchain",
    "mlflow.transformers": "labkeep.transformers",
    "mlflow.xgboost": "labkeep.xgboost",
    "mlflow.pytorch": "labkeep.pytorch",
}


class PyFuncModel:
    """A loaded model: ``predict(data, params=None)`` with signature enforcement."""

    def __init__(self, model_meta: Model, model_impl: Any, model_dir: str | None = None) -> None:
        self._model_meta = model_meta
        self._model_impl = model_impl
        self.model_dir = model_dir
        self._input_schema = model_meta.get_input_schema()
        self._params_schema = model_meta.get_params_schema()
        self._impl_takes_params = accepts_params(model_impl.predict)

    @property
    def metadata(self) -> Model:
        return self._model_meta

    @property
    def loader_module(self) -> str | None:
        return self._model_meta.loader_module

    @property
    def model_id(self) -> str | None:
        return self._model_meta.model_id

    @property
    def input_schema(self):
        return self._input_schema

    def predict(self, data: Any, params: dict | None = None) -> Any:
        data = enforce_schema(data, self._input_schema)
        if self._params_schema is not None or params:
            params = enforce_params(params, self._params_schema)
        if self._impl_takes_params:
            return self._model_impl.predict(data, params=params)
        return self._model_impl.predict(data)

    def unwrap_python_model(self) -> Any:
        unwrap = getattr(self._model_impl, "unwrap_python_model", None)
        if unwrap is None:
            raise LabkeepException("This model is not a custom PythonModel; use get_raw_model().")
        return unwrap()

    def get_raw_model(self) -> Any:
        return getattr(self._model_impl, "raw_model", self._model_impl)

    def __repr__(self) -> str:
        return f"labkeep.pyfunc.PyFuncModel(loader_module={self.loader_module!r}, model_id={self.model_id!r})"


def _import_loader(name: str):
    target = LOADER_ALIASES.get(name, name)
    try:
        return importlib.import_module(target)
    except ImportError as e:
        raise LabkeepException(
            f"Cannot load this model: its loader module {name!r} is not importable here ({e}). "
            "Install the package that provides it.",
            error_code="INVALID_PARAMETER_VALUE",
        )


def load_model_from_dir(path: str, model_config: dict | None = None) -> PyFuncModel:
    """Load a local model directory as a PyFuncModel."""
    path = os.path.abspath(os.fspath(path))
    meta = Model.load(path)
    conf = meta.flavors.get("python_function")
    if conf is None:
        raise InvalidParameterValue(
            f"Model at {path} has no python_function flavor (flavors: {sorted(meta.flavors)}); "
            "load it with its own flavor module instead."
        )
    add_code_dir(path, conf.get("code"))
    loader = conf.get("loader_module")
    if not loader:
        raise InvalidParameterValue(f"Model at {path} has no python_function.loader_module in MLmodel.")
    module = _import_loader(loader)
    data_path = safe_join(path, conf["data"]) if conf.get("data") else path
    load = module._load_pyfunc
    try:
        takes_config = len(inspect.signature(load).parameters) > 1
    except (TypeError, ValueError):
        takes_config = False
    impl = load(data_path, model_config) if takes_config and model_config else load(data_path)
    return PyFuncModel(meta, impl, path)


def load_model(
    model_uri: str,
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: dict | None = None,
) -> PyFuncModel:
    """Load a model from a local path, ``runs:/``, ``models:/`` or artifact URI as a PyFuncModel."""
    from labkeep.models.uris import download_model_uri

    local = download_model_uri(model_uri, dst_path)
    return load_model_from_dir(local, model_config)
