"""Shared steps of every flavor's ``save_model``: directory, code, example, signature, env files."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from typing import Any

from labkeep.exceptions import InvalidParameterValue, ResourceAlreadyExists
from labkeep.models.env import write_env_files
from labkeep.models.examples import save_input_example, split_example
from labkeep.models.infer import infer_output_schema, infer_param_schema, infer_schema
from labkeep.models.mlmodel import MLMODEL_FILE, Model, directory_size
from labkeep.models.schema import ModelSignature

_log = logging.getLogger(__name__)
CODE_DIR = "code"


def prepare_dir(path: str) -> str:
    """Create the model directory; refuse a non-empty existing one."""
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise ResourceAlreadyExists(
            f"Path '{path}' already exists and is not empty; choose a new model path."
        )
    os.makedirs(path, exist_ok=True)
    return path


def copy_code_paths(model_dir: str, code_paths: list[str] | None) -> str | None:
    """Copy user code into ``code/`` (added to sys.path at load time); returns 'code' or None."""
    if not code_paths:
        return None
    code_dir = os.path.join(model_dir, CODE_DIR)
    os.makedirs(code_dir, exist_ok=True)
    for src in code_paths:
        src = os.fspath(src)
        if not os.path.exists(src):
            raise InvalidParameterValue(f"code_paths entry {src!r} does not exist.")
        dst = os.path.join(code_dir, os.path.basename(os.path.normpath(src)))
        if os.path.isdir(src):
            shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    return CODE_DIR


def build_signature(
    signature: ModelSignature | None,
    input_example: Any,
    predict: Callable[[Any], Any] | None,
) -> ModelSignature | None:
    """The given signature, or one inferred from the example (outputs by running ``predict``)."""
    if signature is not None or input_example is None:
        return signature
    data, params = split_example(input_example)
    try:
        inputs = infer_schema(data)
    except InvalidParameterValue as e:
        _log.warning("Could not infer a signature from the input example: %s", e)
        return None
    outputs = None
    if predict is not None:
        try:
            outputs = infer_output_schema(predict(data), inputs)
        except Exception as e:  # the model may reject the raw example; keep the input schema
            _log.warning("Could not infer the output schema by running the model on the example: %s", e)
    return ModelSignature(inputs, outputs, infer_param_schema(params) if params else None)


def save_model_dir(
    path: str,
    write_flavor: Callable[[str, Model], None],
    default_requirements: list[str],
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    predict: Callable[[Any], Any] | None = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    conda_env=None,
    metadata: dict | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Create a complete model directory at ``path``; ``write_flavor`` adds files and flavors."""
    path = prepare_dir(path)
    try:
        model = mlflow_model or Model()
        if metadata:
            model.metadata = metadata
        write_flavor(path, model)
        if input_example is not None:
            model.saved_input_example_info = save_input_example(path, input_example)
        model.signature = build_signature(signature, input_example, predict)
        write_env_files(path, default_requirements, pip_requirements, extra_pip_requirements, conda_env)
        model.save(os.path.join(path, MLMODEL_FILE))
        model.model_size_bytes = directory_size(path)
        model.save(os.path.join(path, MLMODEL_FILE))
        return model
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def pyfunc_flavor_conf(
    loader_module: str, code: str | None = None, data: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The ``python_function`` flavor entry (formats.md §2.1)."""
    from labkeep.models.env import python_version

    conf: dict[str, Any] = {"loader_module": loader_module, "python_version": python_version()}
    conf["env"] = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    if data is not None:
        conf["data"] = data
    if code is not None or "python_model" in extra:
        conf["code"] = code
    conf.update(extra)
    return conf
