"""Custom Python models: ``PythonModel`` and the ``python_model.pkl`` loader.

Security: ``python_model.pkl`` is a cloudpickle. Unpickling runs code from the file, so only load
models you trust. The pickled object refers to its classes by import path: a model whose class
derives from ``labkeep.pyfunc.PythonModel`` needs labkeep importable where it is loaded (also
when mlflow loads it); a class defined in ``__main__`` is pickled by value.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.mlmodel import Model, safe_join

PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
# mlflow resolves this name to its own PythonModel loader, so the directory loads in mlflow too.
LOADER_MODULE = "mlflow.pyfunc.model"


class PythonModel:
    """Base class for custom models: override ``predict`` and optionally ``load_context``."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load artifacts (files in ``context.artifacts``) once, when the model is loaded."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict | None = None) -> Any:
        raise NotImplementedError("PythonModel subclasses must implement predict().")

    @property
    def predict_type_hints(self) -> _NoTypeHints:
        """Read by mlflow's loader when mlflow loads a labkeep model; labkeep uses no type hints."""
        return _NoTypeHints()


class _NoTypeHints:
    input = None
    output = None


class PythonModelContext:
    """What ``load_context``/``predict`` get: local artifact paths and the model config."""

    def __init__(self, artifacts: dict[str, str], model_config: dict | None = None) -> None:
        self._artifacts = artifacts
        self._model_config = model_config or {}

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict:
        return self._model_config


def _takes_context(fn: Any) -> bool:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return True
    return bool(params) and params[0] == "context"


def accepts_params(fn: Any) -> bool:
    """True when ``fn`` takes a ``params`` keyword (by name or through ``**kwargs``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return "params" in sig.parameters or any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())


class _PythonModelWrapper:
    """Adapts a PythonModel (labkeep's or mlflow's) to ``predict(data, params=None)``."""

    def __init__(self, python_model: Any, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        self._with_context = _takes_context(python_model.predict)
        self._with_params = accepts_params(python_model.predict)

    def predict(self, data: Any, params: dict | None = None) -> Any:
        args = (self.context, data) if self._with_context else (data,)
        if self._with_params:
            return self.python_model.predict(*args, params=params)
        return self.python_model.predict(*args)

    def unwrap_python_model(self) -> Any:
        return self.python_model


def save_python_model(
    model_dir: str, model: Model, python_model: Any, artifacts: dict[str, str] | None, code: str | None
) -> None:
    """Write python_model.pkl and copy artifacts; add the python_function flavor."""
    import cloudpickle

    from labkeep.models.builder import copy_into, pyfunc_flavor_conf

    if not (hasattr(python_model, "predict") and callable(python_model.predict)):
        raise InvalidParameterValue("python_model must be an object with a predict() method (a PythonModel).")
    if isinstance(python_model, (str, os.PathLike)):
        raise InvalidParameterValue(
            "Models-from-code (python_model as a file path) is not supported; pass an object."
        )
    with open(os.path.join(model_dir, PYTHON_MODEL_FILE), "wb") as f:
        cloudpickle.dump(python_model, f)
    saved: dict[str, dict[str, str]] = {}
    if artifacts:
        os.makedirs(os.path.join(model_dir, ARTIFACTS_DIR), exist_ok=True)
        for name, uri in artifacts.items():
            dst = copy_into(_local_artifact(str(uri), model_dir), os.path.join(model_dir, ARTIFACTS_DIR))
            rel = os.path.join(ARTIFACTS_DIR, os.path.basename(dst))
            saved[name] = {"path": rel, "uri": str(uri)}
    extra: dict[str, Any] = {"artifacts": saved} if saved else {}
    model.add_flavor(
        "python_function",
        **pyfunc_flavor_conf(
            LOADER_MODULE,
            code=code,
            python_model=PYTHON_MODEL_FILE,
            cloudpickle_version=cloudpickle.__version__,
            streamable=hasattr(python_model, "predict_stream"),
            **extra,
        ),
    )


def _local_artifact(uri: str, model_dir: str) -> str:
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(uri).path)
    if "://" in uri or uri.startswith(("runs:/", "models:/", "mlflow-artifacts:")):
        import tempfile

        from labkeep.artifacts import download_artifacts
        from labkeep.models.uris import resolve_artifact_uri

        return download_artifacts(resolve_artifact_uri(uri), dst_path=tempfile.mkdtemp(prefix="labkeep-artifact-"))
    if not os.path.exists(uri):
        raise InvalidParameterValue(f"Artifact {uri!r} does not exist.")
    return uri


def _load_pyfunc(path: str, model_config: dict | None = None) -> _PythonModelWrapper:
    """Loader for ``python_model.pkl`` models (labkeep- or mlflow-saved)."""
    import cloudpickle

    model = Model.load(path)
    conf = model.flavors.get("python_function", {})
    with open(safe_join(path, conf.get("python_model", PYTHON_MODEL_FILE)), "rb") as f:
        python_model = cloudpickle.load(f)
    artifacts = {
        name: safe_join(path, info["path"] if isinstance(info, dict) else str(info))
        for name, info in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, model_config or conf.get("model_config"))
    if hasattr(python_model, "load_context"):
        python_model.load_context(context)
    return _PythonModelWrapper(python_model, context)
