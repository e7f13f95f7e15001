"""LLM work with labkeep: tracing, prompt registry, evaluation (text metrics, judges), openai autolog.

``labkeep.genai.evaluate(data, predict_fn, scorers)`` follows mlflow 3's ``mlflow.genai.evaluate``.
Everything loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "evaluate": "labkeep.genai.evaluation:genai_evaluate",
    "scorer": "labkeep.genai.scorers:scorer",
    "Scorer": "labkeep.genai.scorers:Scorer",
    "register_prompt": "labkeep.genai.prompts:register_prompt",
    "load_prompt": "labkeep.genai.prompts:load_prompt",
    "search_prompts": "labkeep.genai.prompts:search_prompts",
    "set_prompt_alias": "labkeep.genai.prompts:set_prompt_alias",
    "delete_prompt_alias": "labkeep.genai.prompts:delete_prompt_alias",
    "Prompt": "labkeep.genai.prompts:Prompt",
    "trace": "labkeep.genai.tracing.fluent:trace",
    "start_span": "labkeep.genai.tracing.fluent:start_span",
    "search_traces": "labkeep.genai.tracing.fluent:search_traces",
    "get_trace": "labkeep.genai.tracing.fluent:get_trace",
    "log_feedback": "labkeep.genai.tracing.fluent:log_feedback",
    "log_expectation": "labkeep.genai.tracing.fluent:log_expectation",
    "log_generation_params": "labkeep.genai.experiment:log_generation_params",
    "log_prompt_text": "labkeep.genai.experiment:log_prompt_text",
    "judges": "labkeep.genai.judges",
    "evaluation": "labkeep.genai.evaluation",
    "scorers": "labkeep.genai.scorers",
    "tracing": "labkeep.genai.tracing",
    "datasets": "labkeep.genai.datasets",
}


def __getattr__(name: str) -> Any:
    target = _NAMES.get(name)
    if target is None:
        raise AttributeError(f"module 'labkeep.genai' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    mod = importlib.import_module(module)
    return getattr(mod, attr) if attr else mod


__all__ = sorted(_NAMES)
