"""Loading saved transformers models: weights (full, local base + adapter, or hub reference),
tokenizer and generation config, as a pipeline, a components dict or a pyfunc."""

from __future__ import annotations

import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.models.mlmodel import Model, safe_join
from labkeep.transformers.flavor import COMPONENTS_DIR, FLAVOR_NAME


def _model_class(conf: dict[str, Any]) -> Any:
    import transformers

    cls = getattr(transformers, str(conf.get("pipeline_model_type", "")), None)
    return cls or transformers.AutoModel


def _has_accelerate() -> bool:
    import importlib.util

    return importlib.util.find_spec("accelerate") is not None


def load_components(model_dir: str, base_model_path: str | None = None, device: Any = None) -> dict[str, Any]:
    """``{"model", "tokenizer", "task"}`` of a saved model directory."""
    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME)
    if conf is None:
        raise InvalidParameterValue(f"Model at {model_dir} has no transformers flavor.")
    kwargs: dict[str, Any] = {}
    if device is None and _has_accelerate():
        kwargs["device_map"] = "cpu"  # weights go straight in: no random init of a throw-away model
    if conf.get("torch_dtype"):
        import torch

        kwargs["dtype"] = getattr(torch, str(conf["torch_dtype"]).replace("torch.", ""), None)
    cls = _model_class(conf)
    if conf.get("model_binary"):
        model = cls.from_pretrained(safe_join(model_dir, conf["model_binary"]), **kwargs)
    elif base_model_path or conf.get("local_base_model_path"):
        where = base_model_path or conf["local_base_model_path"]
        if not os.path.isfile(os.path.join(where, "config.json")):
            raise LabkeepException(
                f"The base model of this adapter is expected at '{where}' but no checkpoint is there; "
                "pass base_model_path= to load_model.",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        model = cls.from_pretrained(where, **kwargs)
    else:
        repo, rev = conf.get("source_model_name"), conf.get("source_model_revision")
        if not repo or not rev:
            raise LabkeepException(
                "This model was saved by reference but names no repository and revision.",
                error_code="INVALID_STATE",
            )
        try:
            model = cls.from_pretrained(repo, revision=rev, **kwargs)
        except OSError as exc:
            raise LabkeepException(
                f"Cannot load '{repo}' at revision {rev} (saved by reference): {exc}",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
    if conf.get("generation_config") and getattr(model, "generation_config", None) is not None:
        for key, value in conf["generation_config"].items():
            setattr(model.generation_config, key, value)
    if conf.get("peft_adaptor"):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, safe_join(model_dir, conf["peft_adaptor"]))
    model.eval()
    tokenizer = None
    if "tokenizer" in (conf.get("components") or []):
        from transformers import AutoTokenizer

        local = os.path.join(model_dir, COMPONENTS_DIR, "tokenizer")
        if os.path.isdir(local):
            tokenizer = AutoTokenizer.from_pretrained(local)
        else:
            tokenizer = AutoTokenizer.from_pretrained(conf["tokenizer_name"], revision=conf.get("tokenizer_revision"))
    if device is not None:
        model.to(device)
    return {"model": model, "tokenizer": tokenizer, "task": conf.get("task")}


def build_pipeline(parts: dict[str, Any]) -> Any:
    """A transformers pipeline of the loaded parts, or None when this transformers has no such task."""
    import logging as _logging

    import transformers
    from transformers.pipelines import SUPPORTED_TASKS

    task = parts["task"]
    if task not in SUPPORTED_TASKS:
        return None
    level = _logging.getLogger("transformers.pipelines.base").level
    _logging.getLogger("transformers.pipelines.base").setLevel(_logging.ERROR)  # "PeftModel not supported"
    try:
        return transformers.pipeline(task=task, model=parts["model"], tokenizer=parts["tokenizer"])
    finally:
        _logging.getLogger("transformers.pipelines.base").setLevel(level)


def load_model(
    model_uri: str,
    dst_path: str | None = None,
    return_type: str = "pipeline",
    device: Any = None,
    base_model_path: str | None = None,
    **kwargs: Any,
) -> Any:
    """The pipeline (``return_type="pipeline"``) or components dict (``"components"``) behind ``model_uri``.

    Tasks this transformers version has no pipeline for (e.g. summarization on transformers 5)
    come back as the components dict.
    """
    from labkeep.models.uris import download_model_uri

    if return_type not in ("pipeline", "components"):
        raise InvalidParameterValue(f"return_type must be 'pipeline' or 'components'; got {return_type!r}.")
    parts = load_components(download_model_uri(model_uri, dst_path), base_model_path, device)
    if return_type == "components":
        return parts
    return build_pipeline(parts) or parts


def _load_pyfunc(path: str, model_config: dict | None = None) -> Any:
    from labkeep.transformers.wrapper import TransformersWrapper

    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    meta = Model.load(model_dir)
    conf = meta.flavors[FLAVOR_NAME]
    py = meta.flavors.get("python_function") or {}
    config = {**(py.get("config") or {}), **(model_config or {})}
    return TransformersWrapper(load_components(model_dir), conf, config)
