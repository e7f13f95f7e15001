"""Shared steps of every flavor's ``save_model``: directory, code, example, signature, env files."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Mapping
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
        copy_into(src, code_dir, ignore=shutil.ignore_patterns("__pycache__"))
    return CODE_DIR


def copy_into(src: str, folder: str, ignore: Callable[..., Any] | None = None) -> str:
    """Copy the file or directory ``src`` into ``folder`` under its own name; returns the copy's path."""
    dst = os.path.join(folder, os.path.basename(os.path.normpath(src)))
    if os.path.isdir(src):
        shutil.copytree(src, dst, dirs_exist_ok=True, ignore=ignore)
    else:
        shutil.copy2(src, dst)
    return dst


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


# A flavor's writer: ``(model_dir, model, code)`` saves its files and adds its flavors; ``code``
# is the copied ``code_paths`` folder ('code') or None.
WriteFlavor = Callable[[str, Model, "str | None"], None]
# The ``save_model`` arguments every flavor takes and hands on unchanged.
COMMON_SAVE_ARGS = ("path", "code_paths", "signature", "input_example", "pip_requirements",
                    "extra_pip_requirements", "conda_env", "metadata", "mlflow_model")  # fmt: skip


def save_flavor(
    args: Mapping[str, Any],
    write_flavor: WriteFlavor,
    default_requirements: list[str],
    predict: Callable[[Any], Any] | None = None,
) -> Model:
    """Create a complete model directory; the flavor's own part is ``write_flavor``.

    ``args`` holds the flavor's ``save_model`` arguments (its ``locals()``); the common ones
    (``COMMON_SAVE_ARGS``) are read from it by name. ``predict`` runs on the input example to
    infer the output schema. A failed save leaves no directory behind.
    """
    arg = {k: args[k] for k in COMMON_SAVE_ARGS}  # a KeyError names what a new flavor forgot
    path = prepare_dir(arg["path"])
    try:
        model = arg["mlflow_model"] or Model()
        if arg["metadata"]:
            model.metadata = arg["metadata"]
        write_flavor(path, model, copy_code_paths(path, arg["code_paths"]))
        example = arg["input_example"]
        if example is not None:
            model.saved_input_example_info = save_input_example(path, example)
        model.signature = build_signature(arg["signature"], example, predict)
        pip, extra_pip, conda = arg["pip_requirements"], arg["extra_pip_requirements"], arg["conda_env"]
        write_env_files(path, default_requirements, pip, extra_pip, conda)
        model.save(os.path.join(path, MLMODEL_FILE))
        model.model_size_bytes = directory_size(path)
        model.save(os.path.join(path, MLMODEL_FILE))
        return model
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def class_path(obj: Any) -> str:
    """``module.QualifiedName`` of the object's class (recorded so loading rebuilds the type)."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def pyfunc_flavor_conf(
    loader_module: str, code: str | None = None, data: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The ``python_function`` flavor entry (docs/reference/formats.md)."""
    from labkeep.models.env import python_version

    conf: dict[str, Any] = {"loader_module": loader_module, "python_version": python_version()}
    conf["env"] = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    if data is not None:
        conf["data"] = data
    if code is not None or "python_model" in extra:
        conf["code"] = code
    conf.update(extra)
    return conf
