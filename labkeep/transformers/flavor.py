"""Save and log Hugging Face ``transformers`` models (mlflow 3's ``transformers`` MLmodel layout).

Directory layout and flavor keys follow mlflow's flavor, so each side loads the other's models:

* ``model/`` - the weights (``save_pretrained``), unless saved by reference;
* ``components/tokenizer/`` - the tokenizer;
* ``peft/`` - LoRA/PEFT adapter weights only; the base model is a reference:
  ``local_base_model_path`` (a local checkpoint) or ``source_model_name`` + ``source_model_revision``
  (a hub repository at a fixed commit);
* ``model_card.md`` / ``model_card_data.yaml`` - the model card when one is given.

The generation config is saved with the weights; for reference and adapter saves it is kept in
the flavor (``generation_config``) so loading restores it. Loading is in ``loading.py``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException
from labkeep.models.mlmodel import Model

log = logging.getLogger("labkeep.transformers")

FLAVOR_NAME = "transformers"
MODEL_DIR = "model"
COMPONENTS_DIR = "components"
PEFT_DIR = "peft"
CARD_TEXT = "model_card.md"
CARD_DATA = "model_card_data.yaml"
CHAT_TASK = "llm/v1/chat"
COMPLETIONS_TASK = "llm/v1/completions"
_LLM_TASKS = (CHAT_TASK, COMPLETIONS_TASK)
# Tasks with a pyfunc (text in, text or labels out), as in mlflow's flavor.
PYFUNC_TASKS = ("text-generation", "text-classification", "summarization", "text2text-generation",
                "fill-mask", "translation")  # fmt: skip


def get_default_pip_requirements(model: Any = None) -> list[str]:
    from labkeep.models.env import pinned

    reqs = [pinned("transformers"), pinned("torch"), pinned("tokenizers"), pinned("safetensors")]
    if model is not None and is_peft_model(model):
        reqs.append(pinned("peft"))
    return reqs


def is_peft_model(model: Any) -> bool:
    try:
        from peft import PeftModel
    except ImportError:
        return False
    return isinstance(model, PeftModel)


def peft_base_model(model: Any) -> Any:
    """The transformers model under a PeftModel (PeftModel -> LoraModel -> base model)."""
    config = model.peft_config.get(model.active_adapter) if model.peft_config else None
    if config is not None and not config.is_prompt_learning:
        return model.base_model.model
    return model.base_model


def _infer_task(model: Any) -> str:
    name = type(peft_base_model(model) if is_peft_model(model) else model).__name__
    for suffix, task in (("ForCausalLM", "text-generation"), ("LMHeadModel", "text-generation"),
                         ("ForSequenceClassification", "text-classification"),
                         ("ForConditionalGeneration", "summarization"), ("ForSeq2SeqLM", "summarization"),
                         ("ForMaskedLM", "fill-mask")):  # fmt: skip
        if name.endswith(suffix):
            return task
    raise InvalidParameterValue(f"Cannot tell the task of a {name}; pass task= (e.g. 'text-generation').")


_PIPELINE_CLASS = {
    "text-generation": "TextGenerationPipeline",
    "text-classification": "TextClassificationPipeline",
    "summarization": "SummarizationPipeline",
    "text2text-generation": "Text2TextGenerationPipeline",
    "fill-mask": "FillMaskPipeline",
    "translation": "TranslationPipeline",
}


def _parts(transformers_model: Any, task: str | None) -> tuple[Any, Any, str, str]:
    """(model, tokenizer, pipeline task, pipeline class name) of a pipeline or a components dict."""
    import transformers

    if isinstance(transformers_model, transformers.Pipeline):
        model, tokenizer = transformers_model.model, transformers_model.tokenizer
        ptask = transformers_model.task
        return model, tokenizer, ptask, type(transformers_model).__name__
    if isinstance(transformers_model, dict):
        unknown = sorted(set(transformers_model) - {"model", "tokenizer"})
        if unknown or "model" not in transformers_model:
            raise InvalidParameterValue(
                "transformers_model as a dict needs the key 'model' and optionally 'tokenizer'; "
                f"got keys {sorted(transformers_model)}."
            )
        model, tokenizer = transformers_model["model"], transformers_model.get("tokenizer")
        ptask = "text-generation" if task in _LLM_TASKS else (task or _infer_task(model))
        return model, tokenizer, ptask, _PIPELINE_CLASS.get(ptask, "Pipeline")
    raise InvalidParameterValue(
        "transformers_model must be a transformers Pipeline or a dict {'model': ..., 'tokenizer': ...}; "
        f"got {type(transformers_model).__name__}."
    )


def _cached_revision(repo: str) -> str | None:
    """The commit ``main`` pointed to when ``repo`` was downloaded into the local hub cache."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return None
    ref = os.path.join(constants.HF_HUB_CACHE, "models--" + repo.replace("/", "--"), "refs", "main")
    if os.path.isfile(ref):
        with open(ref) as fh:
            return fh.read().strip() or None
    return None


def _hub_revision(obj: Any, repo: str) -> str:
    """The commit of ``repo`` the object came from: its config, the local hub cache, or the hub."""
    config = getattr(obj, "config", None)
    sha = getattr(config, "_commit_hash", None) if config is not None else None
    sha = sha or (getattr(obj, "init_kwargs", None) or {}).get("_commit_hash") or _cached_revision(repo)
    if sha:
        return sha
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes", "on"):
        try:
            from huggingface_hub import HfApi

            hub_sha = HfApi().model_info(repo).sha
        except Exception as exc:
            raise LabkeepException(
                f"Cannot find the hub revision of '{repo}' ({exc}); save with save_pretrained=True.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        if hub_sha:
            return hub_sha
    raise InvalidParameterValue(
        f"save_pretrained=False records '{repo}' at a fixed revision, but no commit hash is known for it "
        "(not in the local hub cache, and the hub is offline or named none); save with save_pretrained=True."
    )


def _is_repo_id(name: str) -> bool:
    import re

    return bool(name) and not os.path.exists(name) and re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name) is not None


def _generation_config(model: Any) -> dict[str, Any] | None:
    gen = getattr(model, "generation_config", None)
    if gen is None:
        return None
    try:
        diff = gen.to_diff_dict()
    except Exception:
        return None
    diff.pop("transformers_version", None)
    return diff or None


def _write_card(path: str, model_card: Any) -> None:
    if model_card is None:
        return
    import yaml

    text = model_card if isinstance(model_card, str) else getattr(model_card, "text", None)
    content = getattr(model_card, "content", None)
    if isinstance(content, str) and not isinstance(model_card, str):
        text = content
    if text:
        with open(os.path.join(path, CARD_TEXT), "w", encoding="utf-8") as fh:
            fh.write(text)
    data = getattr(model_card, "data", None)
    if data is not None and hasattr(data, "to_dict"):
        with open(os.path.join(path, CARD_DATA), "w", encoding="utf-8") as fh:
            yaml.safe_dump(data.to_dict(), fh)


_PARAM_DEFAULTS = (("temperature", "double", 1.0), ("max_new_tokens", "long", 20), ("top_p", "double", 1.0),
                   ("top_k", "long", 50), ("do_sample", "boolean", False),
                   ("repetition_penalty", "double", 1.0), ("num_beams", "long", 1))  # fmt: skip


def _default_signature(task: str, llm_task: str | None, model: Any, model_config: dict[str, Any] | None) -> Any:
    """mlflow's default text signature plus generation params.

    Param defaults are what generation would use anyway (``model_config``, then the model's
    generation config, then transformers' defaults): mlflow fills every default into each call.
    """
    from labkeep.models.schema import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema

    if llm_task is not None or task not in PYFUNC_TASKS:
        return None
    if task == "text-classification":
        outputs = Schema([ColSpec("string", "label"), ColSpec("double", "score")])
        return ModelSignature(Schema([ColSpec("string")]), outputs, None)
    gen = getattr(model, "generation_config", None)
    specs = []
    for name, dtype, fallback in _PARAM_DEFAULTS:
        value = (model_config or {}).get(name)
        if value is None and gen is not None:
            value = getattr(gen, name, None)
        value = fallback if value is None else value
        value = {"double": float, "long": int, "boolean": bool}[dtype](value)
        specs.append(ParamSpec(name, dtype, value))
    return ModelSignature(Schema([ColSpec("string")]), Schema([ColSpec("string")]), ParamSchema(specs))


def save_model(
    transformers_model: Any,
    path: str,
    processor: Any = None,
    task: str | None = None,
    torch_dtype: Any = None,
    model_card: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    signature=None,
    input_example: Any = None,
    pip_requirements=None,
    extra_pip_requirements=None,
    conda_env=None,
    metadata: dict | None = None,
    model_config: dict[str, Any] | None = None,
    save_pretrained: bool = True,
    base_model_path: str | None = None,
    **kwargs: Any,
) -> Model:
    """Save a pipeline or ``{"model", "tokenizer"}`` dict to ``path``.

    ``task`` is the pipeline task (inferred from the model class when omitted) or ``"llm/v1/chat"``
    for OpenAI-style chat input/output. ``model_config`` holds default inference parameters.
    ``save_pretrained=False`` stores a hub reference (name + commit) instead of the weights.
    A PEFT model stores its adapter weights only, with the base as ``base_model_path`` (a local
    checkpoint; defaults to the base model's own path when that is a local checkpoint) or as a
    hub reference; when neither exists the base weights are saved in full.
    """
    from labkeep.models.builder import pyfunc_flavor_conf, save_flavor

    if processor is not None:
        raise InvalidParameterValue("Saving a processor (multimodal models) is not supported by labkeep.")
    if task is not None and task.startswith("llm/") and task not in _LLM_TASKS:
        raise InvalidParameterValue(f"Unknown inference task {task!r}; use one of {list(_LLM_TASKS)}.")
    model, tokenizer, ptask, instance_type = _parts(transformers_model, task)
    llm_task = task if task in _LLM_TASKS else None
    if llm_task and ptask != "text-generation":
        raise InvalidParameterValue(f"task={task!r} needs a text-generation model, not {ptask!r}.")
    peft = is_peft_model(model)
    base = peft_base_model(model) if peft else model
    base_name = str(getattr(base, "name_or_path", "") or "")
    if base_model_path is not None and not peft:
        raise InvalidParameterValue("base_model_path is only for PEFT models (a base plus an adapter).")
    if peft and base_model_path is None and not _is_repo_id(base_name):
        if os.path.isfile(os.path.join(base_name, "config.json")):
            base_model_path = base_name
    if base_model_path is not None:
        base_model_path = os.path.abspath(base_model_path)
        if not os.path.isfile(os.path.join(base_model_path, "config.json")):
            raise InvalidParameterValue(
                f"base_model_path '{base_model_path}' is not a transformers checkpoint (no config.json)."
            )
    by_reference = (not save_pretrained or peft) and base_model_path is None
    if by_reference and not _is_repo_id(base_name):
        if not save_pretrained:
            log.warning("'%s' is not a hub repository id; saving the weights in full instead.", base_name)
        by_reference = False
    full_weights = not by_reference and base_model_path is None

    def write_flavor(model_dir: str, mlmodel: Model, code: str | None) -> None:
        conf: dict[str, Any] = {"task": ptask, "instance_type": instance_type}
        if torch_dtype is not None:
            conf["torch_dtype"] = str(torch_dtype)
        conf["pipeline_model_type"] = type(base).__name__
        conf["source_model_name"] = base_name
        if full_weights:
            conf["model_binary"] = MODEL_DIR
            base.save_pretrained(os.path.join(model_dir, MODEL_DIR))
        elif base_model_path is not None:
            conf["local_base_model_path"] = base_model_path
        else:
            conf["source_model_revision"] = _hub_revision(base, base_name)
        if not full_weights:
            gen = _generation_config(base)
            if gen:
                conf["generation_config"] = gen
        if peft:
            conf["peft_adaptor"] = PEFT_DIR
            model.save_pretrained(os.path.join(model_dir, PEFT_DIR))
        components = []
        if tokenizer is not None:
            components.append("tokenizer")
            conf["tokenizer_type"] = type(tokenizer).__name__
            if by_reference and not peft:
                tok_name = str(getattr(tokenizer, "name_or_path", "") or base_name)
                conf["tokenizer_name"] = tok_name
                conf["tokenizer_revision"] = _hub_revision(tokenizer, tok_name) if tok_name != base_name \
                    else conf["source_model_revision"]  # fmt: skip
            else:
                tokenizer.save_pretrained(os.path.join(model_dir, COMPONENTS_DIR, "tokenizer"))
        conf["components"] = components
        if llm_task:
            conf["inference_task"] = llm_task
            mlmodel.metadata = {**(mlmodel.metadata or {}), "task": llm_task}
        _write_card(model_dir, model_card)
        import transformers

        mlmodel.add_flavor(FLAVOR_NAME, transformers_version=transformers.__version__, code=code, **conf)
        if ptask in PYFUNC_TASKS:
            extra: dict[str, Any] = {"config": dict(model_config)} if model_config else {}
            mlmodel.add_flavor("python_function", **pyfunc_flavor_conf("mlflow.transformers", code=code, **extra))

    if signature is None and input_example is None:
        signature = _default_signature(ptask, llm_task, base, model_config)
    return save_flavor(locals(), write_flavor, get_default_pip_requirements(model))


def log_model(
    transformers_model: Any,
    artifact_path: str | None = None,
    processor: Any = None,
    task: str | None = None,
    torch_dtype: Any = None,
    model_card: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature=None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements=None,
    extra_pip_requirements=None,
    conda_env=None,
    metadata: dict | None = None,
    model_config: dict[str, Any] | None = None,
    save_pretrained: bool = True,
    base_model_path: str | None = None,
    name: str | None = None,
    params: dict | None = None,
    tags: dict | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
):
    """Log a pipeline or ``{"model", "tokenizer"}`` dict as a logged model; returns ModelInfo."""
    from labkeep.models.logging import log_flavor_model

    return log_flavor_model(save_model, locals())
