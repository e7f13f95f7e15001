"""scikit-learn flavor: ``save_model``, ``log_model``, ``load_model`` (docs/reference/formats.md, MLmodel).

Serialization: ``skops`` (default) stores the estimator without pickle; loading only allows the
types skops trusts plus ``skops_trusted_types``. ``pickle``/``cloudpickle`` are supported for
models skops cannot represent, but **loading a pickle runs arbitrary code**: only load pickled
models from sources you trust. The MLmodel layout is mlflow's (``loader_module: mlflow.sklearn``),
so labkeep-saved models load with ``mlflow.sklearn.load_model`` and vice versa.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.mlmodel import Model, safe_join

# Imported eagerly (it is light) so the name ``autolog`` is the function, not its submodule.
from labkeep.sklearn.autolog import autolog  # noqa: E402

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
)
_FILE_BY_FORMAT = {"skops": "model.skops", "pickle": "model.pkl", "cloudpickle": "model.pkl"}
_log = logging.getLogger(__name__)

__all__ = ["save_model", "log_model", "load_model", "get_default_pip_requirements", "autolog"]


def get_default_pip_requirements(serialization_format: str = SERIALIZATION_FORMAT_SKOPS) -> list[str]:
    from labkeep.models.env import pinned

    reqs = [pinned("scikit-learn"), pinned("numpy"), pinned("scipy"), pinned("pandas")]
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        reqs.append(pinned("skops"))
    elif serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        reqs.append(pinned("cloudpickle"))
    return reqs


def _dump(sk_model: Any, path: str, fmt: str, trusted: list[str] | None) -> None:
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        skops.io.dump(sk_model, path)
        untrusted = [t for t in skops.io.get_untrusted_types(file=path) if t not in set(trusted or [])]
        if untrusted:
            os.remove(path)
            raise InvalidParameterValue(
                f"The model uses types skops does not trust: {untrusted}. Pass "
                "skops_trusted_types=[...] listing them if you trust them, or use "
                "serialization_format='cloudpickle'."
            )
        return
    if fmt == SERIALIZATION_FORMAT_PICKLE:
        import pickle

        with open(path, "wb") as f:
            pickle.dump(sk_model, f)
        return
    import cloudpickle

    with open(path, "wb") as f:
        cloudpickle.dump(sk_model, f)


def check_serialization_format(serialization_format: str) -> None:
    """Refuse a serialization format ``_dump`` cannot write."""
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidParameterValue(
            f"Unknown serialization_format {serialization_format!r}; use one of {list(SUPPORTED_SERIALIZATION_FORMATS)}."
        )


def save_model(
    sk_model: Any,
    path: str,
    conda_env=None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature=None,
    input_example: Any = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict | None = None,
    skops_trusted_types: list[str] | None = None,
) -> Model:
    """Save a scikit-learn estimator as a model directory at ``path``; returns its MLmodel."""
    from labkeep.models.builder import pyfunc_flavor_conf, save_flavor

    check_serialization_format(serialization_format)
    if serialization_format != SERIALIZATION_FORMAT_SKOPS:
        _log.warning(
            "Saving with %s: loading a pickle can run arbitrary code; prefer 'skops'.", serialization_format
        )
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise InvalidParameterValue(f"The model has no method {pyfunc_predict_fn!r} (pyfunc_predict_fn).")
    import sklearn

    file_name = _FILE_BY_FORMAT[serialization_format]

    def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
        _dump(sk_model, os.path.join(model_dir, file_name), serialization_format, skops_trusted_types)
        model.add_flavor(
            "python_function",
            **pyfunc_flavor_conf(
                "mlflow.sklearn", model_path=file_name, predict_fn=pyfunc_predict_fn, code=code
            ),
        )
        model.add_flavor(
            FLAVOR_NAME,
            pickled_model=file_name,
            sklearn_version=sklearn.__version__,
            serialization_format=serialization_format,
            code=code,
            skops_trusted_types=skops_trusted_types,
        )

    requirements = get_default_pip_requirements(serialization_format)
    return save_flavor(locals(), write_flavor, requirements, getattr(sk_model, pyfunc_predict_fn))


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env=None,
    code_paths: list[str] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    registered_model_name: str | None = None,
    signature=None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements=None,
    extra_pip_requirements=None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    name: str | None = None,
    skops_trusted_types: list[str] | None = None,
    **kwargs: Any,
):
    """Log a scikit-learn model as a logged model of the active run (or experiment); returns ModelInfo."""
    from labkeep.models.logging import log_flavor_model

    return log_flavor_model(save_model, locals())


def _load_from_file(path: str, serialization_format: str, skops_trusted_types: list[str] | None) -> Any:
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        from labkeep.sklearn.skops_cache import load_skops

        return load_skops(path, skops_trusted_types)
    # pickle / cloudpickle: unpickling executes code from the file (trusted models only).
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)


def _load_model_dir(model_dir: str) -> tuple[Any, dict]:
    from labkeep.models.loader import read_flavor

    conf, meta = read_flavor(model_dir, FLAVOR_NAME)
    fmt = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    file_path = safe_join(model_dir, conf.get("pickled_model", _FILE_BY_FORMAT.get(fmt, "model.pkl")))
    return _load_from_file(file_path, fmt, conf.get("skops_trusted_types")), meta.flavors.get(
        "python_function", {}
    )


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """Load the scikit-learn estimator behind ``model_uri`` (path, runs:/, models:/ …)."""
    from labkeep.models.uris import download_model_uri

    return _load_model_dir(download_model_uri(model_uri, dst_path))[0]


def _accepts_plain_arrays(est: Any) -> bool:
    """True when a 2-D array in feature order predicts exactly like the DataFrame would.

    Column-selecting steps (``sklearn.compose``, FunctionTransformer) and non-scikit-learn
    estimators may look at column names, so models containing them always get the DataFrame.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline):
        return all(
            _accepts_plain_arrays(step) for _name, step in est.steps if step not in (None, "passthrough")
        )
    cls = type(est)
    if not cls.__module__.startswith("sklearn.") or cls.__name__ == "FunctionTransformer":
        return False
    return not cls.__module__.startswith(("sklearn.compose", "sklearn.pipeline"))


class _SklearnModelWrapper:
    """pyfunc adapter: ``predict`` calls the configured ``predict_fn`` of the estimator."""

    def __init__(self, sk_model: Any, predict_fn: str = "predict") -> None:
        self.raw_model = sk_model
        self._predict = getattr(sk_model, predict_fn)
        names = getattr(sk_model, "feature_names_in_", None)
        self.feature_names = [str(n) for n in names] if names is not None else None
        self.takes_arrays = _accepts_plain_arrays(sk_model)

    def predict(self, data: Any, params: dict | None = None) -> Any:
        return self._predict(data)

    def predict_array(self, arr: Any) -> Any:
        """Predict a float array whose columns are in ``feature_names`` order (serving fast path)."""
        if self.feature_names is None:
            return self._predict(arr)
        import warnings

        with warnings.catch_warnings():
            # the array is in the fitted column order; sklearn only warns that names are absent
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return self._predict(arr)


def _load_pyfunc(path: str) -> _SklearnModelWrapper:
    """pyfunc loader: ``path`` is the model directory, or (old layouts) the pickle file itself."""
    if os.path.isfile(path):
        return _SklearnModelWrapper(_load_from_file(path, SERIALIZATION_FORMAT_PICKLE, None))
    sk_model, pyfunc_conf = _load_model_dir(path)
    return _SklearnModelWrapper(sk_model, pyfunc_conf.get("predict_fn", "predict"))
