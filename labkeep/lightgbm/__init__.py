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


def _class_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


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

    from labkeep.models.builder import copy_code_paths, pyfunc_flavor_conf, save_model_dir
    from labkeep.sklearn import SUPPORTED_SERIALIZATION_FORMATS, _dump

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidParameterValue(
            f"Unknown serialization_format {serialization_format!r}; use one of {list(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
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

    def write_flavor(model_dir: str, model: Model) -> None:
        code = copy_code_paths(model_dir, code_paths)
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
            model_class=_class_name(lgb_model),
            code=code,
            serialization_format=serialization_format,
            skops_trusted_types=trusted,
        )

    return save_model_dir(
        path,
        write_flavor,
        get_default_pip_requirements(lgb_model, serialization_format),
        signature=signature,
        input_example=input_example,
        predict=lgb_model.predict,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        metadata=metadata,
        mlflow_model=mlflow_model,
    )


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
    from labkeep.models.logging import log_model as _log_model

    return _log_model(
        save_model,
        dict(
            lgb_model=lgb_model,
            conda_env=conda_env,
            code_paths=code_paths,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            serialization_format=serialization_format,
            skops_trusted_types=skops_trusted_types,
        ),
        name=name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
        await_registration_for=await_registration_for,
    )


def _load_model_dir(model_dir: str) -> Any:
    from labkeep.sklearn import _load_from_file

    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME)
    if conf is None:
        raise InvalidParameterValue(f"Model at {model_dir} has no lightgbm flavor.")
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


class _LGBWrapper:
    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict | None = None) -> Any:
        return self.raw_model.predict(data)


def _load_pyfunc(path: str) -> _LGBWrapper:
    """pyfunc loader: ``path`` is the data file (``python_function.data``) or the model dir."""
    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    return _LGBWrapper(_load_model_dir(model_dir))
