"""LightGBM flavor (optional extra ``labkeep[lightgbm]``): ``save_model``, ``log_model``, ``load_model``.

A ``lightgbm.Booster`` is stored in LightGBM's own text format (``model.lgb``, no pickle).
scikit-learn API models (``LGBMClassifier``/``LGBMRegressor``) are stored with skops
(``model.skops``, default) or pickle/cloudpickle (``model.pkl`` — loading a pickle runs code).
The layout is mlflow's (``loader_module: mlflow.lightgbm``), so models load in both directions.
"""

from __future__ import annotations

import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.lightgbm.autolog import autolog
from labkeep.models.mlmodel import Model, safe_join

FLAVOR_NAME = "lightgbm"
_BOOSTER_CLASS = "lightgbm.basic.Booster"
# Types the sklearn-API models need beyond what skops trusts by default.
SKOPS_TRUSTED_TYPES = [
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
]

__all__ = ["save_model", "log_model", "load_model", "get_default_pip_requirements", "autolog"]


def get_default_pip_requirements(model: Any = None, serialization_format: str = "skops") -> list[str]:
    from labkeep.models.env import pinned

    reqs = [pinned("lightgbm"), pinned("numpy"), pinned("scipy"), pinned("pandas")]
    if model is not None and not _is_booster(model):
        reqs.append(pinned("scikit-learn"))
        reqs.append(pinned("skops" if serialization_format == "skops" else "cloudpickle"))
    return reqs


def _is_booster(model: Any) -> bool:
    import lightgbm as lgb

    return isinstance(model, lgb.Booster)


def save_model(
    lgb_model: Any,
    path: str,
    conda_env=None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature=None,
    input_example: Any = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    metadata: dict | None = None,
    serialization_format: str = "skops",
    skops_trusted_types: list[str] | None = None,
) -> Model:
    """Save a LightGBM Booster or sklearn-API estimator as a model directory at ``path``."""
    import lightgbm as lgb

    from labkeep.models.builder import class_path, pyfunc_flavor_conf, save_flavor
    from labkeep.sklearn import _dump, check_serialization_format

    check_serialization_format(serialization_format)
    booster = _is_booster(lgb_model)
    if not booster and not hasattr(lgb_model, "booster_"):
        raise InvalidParameterValue("lgb_model must be a lightgbm.Booster or a fitted LGBMModel.")
    if booster:
        file_name, trusted = "model.lgb", None
    elif serialization_format == "skops":
        file_name = "model.skops"
        trusted = sorted(set(SKOPS_TRUSTED_TYPES) | set(skops_trusted_types or []))
    else:
        file_name, trusted = "model.pkl", skops_trusted_types

    def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
        target = os.path.join(model_dir, file_name)
        if booster:
            lgb_model.save_model(target)
        else:
            _dump(lgb_model, target, serialization_format, trusted)
        model.add_flavor(
            "python_function", **pyfunc_flavor_conf("mlflow.lightgbm", code=code, data=file_name)
        )
        model.add_flavor(
            FLAVOR_NAME,
            lgb_version=lgb.__version__,
            data=file_name,
            model_class=class_path(lgb_model),
            code=code,
            serialization_format=serialization_format,
            skops_trusted_types=trusted,
        )

    requirements = get_default_pip_requirements(lgb_model, serialization_format)
    return save_flavor(locals(), write_flavor, requirements, lgb_model.predict)


def log_model(
    lgb_model: Any,
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
    serialization_format: str = "skops",
    skops_trusted_types: list[str] | None = None,
    **kwargs: Any,
):
    """Log a LightGBM model as a logged model of the active run (or experiment); returns ModelInfo."""
    from labkeep.models.logging import log_flavor_model

    return log_flavor_model(save_model, locals())


def _load_model_dir(model_dir: str) -> Any:
    from labkeep.models.loader import read_flavor
    from labkeep.sklearn import _load_from_file

    conf, _meta = read_flavor(model_dir, FLAVOR_NAME)
    data = safe_join(model_dir, conf.get("data", "model.lgb"))
    if conf.get("model_class", _BOOSTER_CLASS) == _BOOSTER_CLASS:
        import lightgbm as lgb

        return lgb.Booster(model_file=data)
    # sklearn-API model: skops, or pickle (loading a pickle runs code from the file)
    return _load_from_file(
        data, conf.get("serialization_format", "cloudpickle"), conf.get("skops_trusted_types")
    )


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load the LightGBM Booster or sklearn-API model behind ``model_uri``."""
    from labkeep.models.uris import download_model_uri

    return _load_model_dir(download_model_uri(model_uri, dst_path))


def _load_pyfunc(path: str) -> Any:
    """pyfunc loader: ``path`` is the data file (``python_function.data``) or the model dir."""
    from labkeep.models.loader import PredictWrapper, model_dir_of

    return PredictWrapper(_load_model_dir(model_dir_of(path)))
