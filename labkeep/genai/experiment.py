"""Helpers for logging an LLM experiment with the ordinary tracking API.

``log_generation_params`` records the generation settings (and the prompt version used) as run
params and the prompt template as a text artifact; ``log_prompt_text`` stores any long prompt as
text. Fine-tuning settings are plain ``log_params``; adapters (e.g. a LoRA folder) are
``log_artifacts``; datasets are ``log_input``.
"""

from __future__ import annotations

from typing import Any

from labkeep.exceptions import InvalidParameterValue


def log_generation_params(
    model: str,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    prompt: Any = None,
    run_id: str | None = None,
    **other: Any,
) -> dict[str, str]:
    """Log ``model``, sampling settings and ``prompt`` (a ``Prompt`` or ``prompts:/`` URI) as params.

    A prompt version is recorded as param ``prompt_uri``, its template saved as the artifact
    ``prompts/<name>/v<version>.txt`` and the run linked to it. Returns the params logged.
    """
    from labkeep import fluent
    from labkeep.genai.prompts import Prompt, _link_to_active_run, load_prompt

    if not model or not isinstance(model, str):
        raise InvalidParameterValue("log_generation_params needs the model name as a string.")
    params: dict[str, Any] = {"model": model}
    for key, value in (("temperature", temperature), ("top_p", top_p), ("max_tokens", max_tokens)):
        if value is not None:
            params[key] = value
    params.update({k: v for k, v in other.items() if v is not None})
    if isinstance(prompt, str):
        prompt = load_prompt(prompt, link_to_run=False)
    if prompt is not None and not isinstance(prompt, Prompt):
        raise InvalidParameterValue("prompt must be a labkeep Prompt or a prompts:/ URI.")
    if prompt is not None:
        params["prompt_uri"] = prompt.uri
    rid = fluent._run_id(run_id)
    out = {k: str(v) for k, v in params.items()}
    fluent.log_params(out, run_id=rid)
    if prompt is not None:
        template = (
            prompt.template
            if prompt.is_text
            else "\n\n".join(f"[{m.get('role')}]\n{m.get('content')}" for m in prompt.template)
        )
        fluent.log_text(template, f"prompts/{prompt.name}/v{prompt.version}.txt", run_id=rid)
        active = fluent.active_run()
        if active is not None and active.info.run_id == rid:
            _link_to_active_run(prompt)
    return out


def log_prompt_text(text: str, name: str = "prompt", run_id: str | None = None) -> str:
    """Save a (long) prompt as the text artifact ``prompts/<name>.txt``; returns its artifact path."""
    from labkeep import fluent

    if not isinstance(text, str):
        raise InvalidParameterValue("log_prompt_text needs the prompt as a string.")
    path = f"prompts/{name}.txt"
    fluent.log_text(text, path, run_id=run_id)
    return path
