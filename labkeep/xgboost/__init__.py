"""XGBoost flavor (optional extra ``labkeep[xgboost]``): ``save_model``, ``log_model``, ``load_model``.

Boosters and the scikit-learn API models (``XGBClassifier``, ``XGBRegressor`` …) are stored in
XGBoost's own format (``model.ubj`` by default, or ``json``/``xgb``), never pickled; the model's
class is recorded so loading rebuilds the same type. The MLmodel layout is mlflow's
(``loader_module: mlflow.xgboost``), so models load in both directions. ``autolog()`` logs
``xgboost.train`` and the scikit-learn API's ``fit``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.mlmodel import Model, safe_join

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.xgboost.autolog import autolog

FLAVOR_NAME = "xgboost"
MODEL_FORMATS = ("ubj", "json", "xgb", "deprecated")
_BOOSTER_CLASS = "xgboost.core.Booster"

__all__ = ["save_model", "log_model", "load_model", "get_default_pip_requirements", "autolog"]


def get_default_pip_requirements() -> list[str]:
    from labkeep.models.env import pinned

    return [pinned("xgboost"), pinned("numpy"), pinned("scipy"), pinned("pandas")]


def _predict_fn(model: Any) -> Any:
    import xgboost as xgb

    if isinstance(model, xgb.Booster):
        return lambda data: model.predict(xgb.DMatrix(data))
    return model.predict


def save_model(
    xgb_model: Any,
    path: str,
    conda_env=None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature=None,
    input_example: Any = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    model_format: str = "ubj",
    metadata: dict | None = None,
    **kwargs: Any,
) -> Model:
    """Save an XGBoost Booster or scikit-learn API model as a model directory at ``path``."""
    import xgboost as xgb

    from labkeep.models.builder import class_path, pyfunc_flavor_conf, save_flavor

    if model_format not in MODEL_FORMATS:
        raise InvalidParameterValue(f"Unknown model_format {model_format!r}; use one of {list(MODEL_FORMATS)}.")
    if not isinstance(xgb_model, (xgb.Booster, xgb.XGBModel)):
        raise InvalidParameterValue(
            f"xgb_model must be an xgboost.Booster or an XGBoost scikit-learn model, not {type(xgb_model).__name__}."
        )
    file_name = f"model.{model_format}"

    def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
        xgb_model.save_model(os.path.join(model_dir, file_name), **kwargs)
        model.add_flavor("python_function", **pyfunc_flavor_conf("mlflow.xgboost", code=code, data=file_name))
        model.add_flavor(
            FLAVOR_NAME,
            xgb_version=xgb.__version__,
            data=file_name,
            model_class=class_path(xgb_model),
            model_format=model_format,
            code=code,
        )

    return save_flavor(locals(), write_flavor, get_default_pip_requirements(), _predict_fn(xgb_model))


def log_model(
    xgb_model: Any,
    artifact_path: str | None = None,
    conda_env=None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature=None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements=None,
    extra_pip_requirements=None,
    model_format: str = "ubj",
    metadata: dict | None = None,
    name: str | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
):
    """Log an XGBoost model as a logged model of the active run (or experiment); returns ModelInfo."""
    from labkeep.models.logging import log_flavor_model

    return log_flavor_model(save_model, locals())


def _model_class(class_path: str) -> type:
    module, _, name = class_path.rpartition(".")
    if not module.startswith("xgboost"):
        raise InvalidParameterValue(f"Refusing to load model class {class_path!r}: not an XGBoost class.")
    return getattr(importlib.import_module(module), name)


def _load_model_dir(model_dir: str) -> Any:
    from labkeep.models.loader import read_flavor

    conf, _meta = read_flavor(model_dir, FLAVOR_NAME)
    model = _model_class(conf.get("model_class", _BOOSTER_CLASS))()
    model.load_model(safe_join(model_dir, conf.get("data", "model.xgb")))
    return model


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load the XGBoost Booster or scikit-learn API model behind ``model_uri``."""
    from labkeep.models.uris import download_model_uri

    return _load_model_dir(download_model_uri(model_uri, dst_path))


def _load_pyfunc(path: str) -> Any:
    """pyfunc loader: ``path`` is the data file (``python_function.data``) or the model dir.

    Boosters predict on a DMatrix built from the input; sklearn-API models on the input itself.
    """
    from labkeep.models.loader import PredictWrapper, model_dir_of

    model = _load_model_dir(model_dir_of(path))
    return PredictWrapper(model, _predict_fn(model))
