"""The ``langchain`` flavor: a runnable chain saved as code (mlflow's models-from-code layout).

The chain's Python file is copied into the model directory; it builds the chain and calls
``labkeep.models.set_model(chain)``. Loading runs the file again with the saved ``model_config``.
MLmodel keys follow mlflow 3's ``langchain`` flavor (``python_function.model_code_path``,
``config``, ``streamable``; ``langchain.langchain_version``), so mlflow reads the layout too.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from labkeep.exceptions import InvalidParameterValue
from labkeep.models.mlmodel import Model, safe_join

FLAVOR_NAME = "langchain"
MODEL_CODE_PATH = "model_code_path"
MODEL_CONFIG = "config"


def get_default_pip_requirements() -> list[str]:
    from labkeep.models.env import pinned

    return [pinned("langchain-core"), pinned("langchain-openai"), pinned("pydantic")]


def _langchain_version() -> str:
    from labkeep.models.env import installed_version

    return installed_version("langchain") or installed_version("langchain-core") or "unknown"


def save_model(
    lc_model: str,
    path: str,
    conda_env=None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature=None,
    input_example: Any = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    metadata: dict | None = None,
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
) -> Model:
    """Save the chain defined by the Python file ``lc_model`` to ``path`` (models from code)."""
    from labkeep.models.builder import pyfunc_flavor_conf, save_flavor
    from labkeep.models.code import load_code_model

    if not isinstance(lc_model, str | os.PathLike):
        raise InvalidParameterValue(
            "LangChain models are saved as code: pass lc_model='path/to/chain.py', a file that builds "
            "the chain and calls labkeep.models.set_model(chain)."
        )
    code_file = os.path.abspath(os.fspath(lc_model))
    chain = load_code_model(code_file, model_config)  # fails early when the file is broken
    if streamable is None:
        streamable = hasattr(chain, "stream")

    def write_flavor(model_dir: str, model: Model, code: str | None) -> None:
        shutil.copy2(code_file, os.path.join(model_dir, os.path.basename(code_file)))
        extra: dict[str, Any] = {MODEL_CODE_PATH: code_file, "predict_stream_fn": "predict_stream",
                                 "streamable": streamable}  # fmt: skip
        if model_config:
            extra[MODEL_CONFIG] = dict(model_config)
        model.add_flavor("python_function", **pyfunc_flavor_conf("mlflow.langchain", code=code, **extra))
        model.add_flavor(FLAVOR_NAME, langchain_version=_langchain_version(), code=code, streamable=streamable)

    return save_flavor(locals(), write_flavor, get_default_pip_requirements(), _ChainWrapper(chain).predict)


def log_model(
    lc_model: str,
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
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
    name: str | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
):
    """Log the chain defined by the Python file ``lc_model`` as a logged model; returns ModelInfo."""
    from labkeep.models.logging import log_flavor_model

    return log_flavor_model(save_model, locals())


def _load_chain(model_dir: str, config_overrides: dict[str, Any] | None = None) -> Any:
    from labkeep.models.code import load_code_model
    from labkeep.models.loader import read_flavor

    conf, meta = read_flavor(model_dir, FLAVOR_NAME)
    pyfunc_conf = meta.flavors.get("python_function") or {}
    code_path = pyfunc_conf.get(MODEL_CODE_PATH) or conf.get(MODEL_CODE_PATH)
    if not code_path:
        raise InvalidParameterValue(
            f"Model at {model_dir} is a pickled LangChain model; labkeep loads LangChain models saved as code."
        )
    config = pyfunc_conf.get(MODEL_CONFIG, conf.get(MODEL_CONFIG)) or {}
    if isinstance(config, str):
        import yaml

        with open(safe_join(model_dir, os.path.basename(config))) as fh:
            config = yaml.safe_load(fh) or {}
    return load_code_model(
        safe_join(model_dir, os.path.basename(code_path)), {**config, **(config_overrides or {})}
    )


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """The LangChain runnable behind ``model_uri``."""
    from labkeep.models.uris import download_model_uri

    return _load_chain(download_model_uri(model_uri, dst_path))


def _plain(value: Any) -> Any:
    """An answer as data: a message becomes its text, documents their dicts."""
    if hasattr(value, "content") and hasattr(value, "type"):
        return value.content
    if hasattr(value, "page_content"):
        return {"page_content": value.page_content, "metadata": value.metadata}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _records(data: Any) -> list[Any]:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.to_dict("records")
    if isinstance(data, pd.Series):
        return data.tolist()
    if isinstance(data, list):
        return data
    return [data]


class _ChainWrapper:
    """pyfunc view of a chain: one ``invoke`` per input row (a dict, a string or a message list)."""

    def __init__(self, chain: Any) -> None:
        self.raw_model = chain

    def predict(self, data: Any, params: dict | None = None) -> list[Any]:
        config = {"configurable": dict(params)} if params else None
        return [_plain(self.raw_model.invoke(row, config=config)) for row in _records(data)]

    def predict_stream(self, data: Any, params: dict | None = None):
        rows = _records(data)
        if len(rows) != 1:
            raise InvalidParameterValue("predict_stream takes one input (one row).")
        for chunk in self.raw_model.stream(rows[0]):
            yield _plain(chunk)


def _load_pyfunc(path: str, model_config: dict | None = None) -> _ChainWrapper:
    from labkeep.models.loader import model_dir_of

    return _ChainWrapper(_load_chain(model_dir_of(path), model_config))
