"""Prompt registry on top of the model registry, stored the way mlflow stores prompts.

A prompt is a registered model tagged ``mlflow.prompt.is_prompt=true``; each version keeps its
template in the version tag ``mlflow.prompt.text`` (commit message = version description), so the
official mlflow client's ``mlflow.genai.load_prompt`` / ``register_prompt`` interoperate. Templates
use ``{{variable}}`` placeholders; ``Prompt.format(**values)`` fills them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from labkeep.exceptions import InvalidParameterValue, LabkeepException, ResourceDoesNotExist

IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
PROMPT_TEXT_TAG = "mlflow.prompt.text"
PROMPT_TYPE_TAG = "_mlflow_prompt_type"
LINKED_PROMPTS_TAG = "mlflow.linkedPrompts"
PROMPT_SOURCE = "dummy-source"
_INTERNAL_TAGS = {IS_PROMPT_TAG, PROMPT_TEXT_TAG, PROMPT_TYPE_TAG}

_VAR_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")


def template_variables(template: str) -> list[str]:
    """The ``{{name}}`` variables of ``template`` in order of first use; raises on unbalanced braces."""
    if not isinstance(template, str):
        raise InvalidParameterValue(f"A prompt template must be a string, got {type(template).__name__}.")
    stripped = _VAR_RE.sub("", template)
    for token in ("{{", "}}"):
        pos = stripped.find(token)
        if pos >= 0:
            # point at the position in the original text
            original = _original_position(template, token)
            raise InvalidParameterValue(
                f"Unbalanced braces in prompt template at character {original}: '{token}' has no matching "
                f"'{'}}' if token == '{{' else '{{'}'. Placeholders look like {{{{name}}}}; "
                "write other braces singly."
            )
    seen: dict[str, None] = {}
    for m in _VAR_RE.finditer(template):
        seen.setdefault(m.group(1))
    return list(seen)


def _original_position(template: str, token: str) -> int:
    spans = [m.span() for m in _VAR_RE.finditer(template)]
    start = 0
    while True:
        pos = template.find(token, start)
        if pos < 0:
            return -1
        if not any(a <= pos < b for a, b in spans):
            return pos
        start = pos + 1


def _fill(template: str, values: dict[str, Any], allow_partial: bool) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in values:
            v = values[name]
            return v if isinstance(v, str) else json.dumps(v) if isinstance(v, dict | list) else str(v)
        return m.group(0)

    return _VAR_RE.sub(sub, template)


@dataclass
class Prompt:
    """One version of a registered prompt."""

    name: str
    version: int
    template: Any  # str, or a list of chat messages {"role", "content"}
    commit_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    creation_timestamp: int | None = None

    @property
    def uri(self) -> str:
        return f"prompts:/{self.name}/{self.version}"

    @property
    def is_text(self) -> bool:
        return isinstance(self.template, str)

    @property
    def variables(self) -> list[str]:
        if self.is_text:
            return template_variables(self.template)
        out: dict[str, None] = {}
        for msg in self.template:
            for v in template_variables(str(msg.get("content", ""))):
                out.setdefault(v)
        return list(out)

    def format(self, allow_partial: bool = False, **values: Any) -> Any:
        """Fill the placeholders; every variable must be given unless ``allow_partial=True``."""
        missing = [v for v in self.variables if v not in values]
        if missing and not allow_partial:
            raise InvalidParameterValue(
                f"Prompt {self.uri} needs values for {', '.join(repr(m) for m in missing)} "
                f"(variables: {', '.join(self.variables)})."
            )
        if self.is_text:
            return _fill(self.template, values, allow_partial)
        return [
            dict(m, content=_fill(str(m.get("content", "")), values, allow_partial)) for m in self.template
        ]

    def to_single_brace_format(self) -> Any:
        """The template with ``{name}`` placeholders (for str.format-style libraries)."""
        if self.is_text:
            return _VAR_RE.sub(lambda m: "{" + m.group(1) + "}", self.template)
        return [
            dict(m, content=_VAR_RE.sub(lambda x: "{" + x.group(1) + "}", m["content"]))
            for m in self.template
        ]

    def __repr__(self) -> str:
        return f"Prompt(name={self.name!r}, version={self.version}, variables={self.variables})"


PromptVersion = Prompt


def _client() -> Any:
    from labkeep.client import Client

    return Client()


def _validate_template(template: Any) -> tuple[str, str]:
    """(stored text, prompt type) for a text or chat template."""
    if isinstance(template, str):
        template_variables(template)
        return template, "text"
    if isinstance(template, list) and all(
        isinstance(m, dict) and "role" in m and "content" in m for m in template
    ):
        for m in template:
            template_variables(str(m["content"]))
        return json.dumps(template), "chat"
    raise InvalidParameterValue(
        "A prompt template must be a string with {{variable}} placeholders or a list of chat messages "
        "like [{'role': 'user', 'content': 'Hello {{name}}'}]."
    )


def register_prompt(
    name: str,
    template: Any,
    commit_message: str | None = None,
    tags: dict[str, Any] | None = None,
    response_format: Any = None,
) -> Prompt:
    """Register ``template`` as the next version (1, 2, …) of prompt ``name``."""
    text, ptype = _validate_template(template)
    client = _client()
    try:
        rm = client.get_registered_model(name)
        if rm.tags.get(IS_PROMPT_TAG) != "true":
            raise InvalidParameterValue(
                f"'{name}' is a registered model, not a prompt; choose another prompt name."
            )
    except ResourceDoesNotExist:
        try:
            client.create_registered_model(name, tags={IS_PROMPT_TAG: "true"}, description=commit_message)
        except LabkeepException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
    version_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    version_tags.update({IS_PROMPT_TAG: "true", PROMPT_TYPE_TAG: ptype, PROMPT_TEXT_TAG: text})
    if response_format is not None:
        version_tags["_mlflow_prompt_response_format"] = json.dumps(response_format, default=str)
    mv = client.create_model_version(name, PROMPT_SOURCE, tags=version_tags, description=commit_message)
    return _prompt_from_version(mv)


def _prompt_from_version(mv: Any) -> Prompt:
    tags = dict(mv.tags or {})
    if tags.get(IS_PROMPT_TAG) != "true" or PROMPT_TEXT_TAG not in tags:
        raise InvalidParameterValue(f"'{mv.name}' version {mv.version} is a model version, not a prompt.")
    text = tags[PROMPT_TEXT_TAG]
    template: Any = text
    if tags.get(PROMPT_TYPE_TAG) == "chat":
        try:
            template = json.loads(text)
        except ValueError:
            template = text
    return Prompt(
        name=mv.name,
        version=int(mv.version),
        template=template,
        commit_message=mv.description or None,
        tags={k: v for k, v in tags.items() if k not in _INTERNAL_TAGS},
        aliases=list(getattr(mv, "aliases", None) or []),
        creation_timestamp=getattr(mv, "creation_timestamp", None),
    )


_URI_RE = re.compile(r"^prompts:/(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))?/?$")


def parse_prompt_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``prompts:/name/3`` -> (name, "3", None); ``prompts:/name@alias`` -> (name, None, alias)."""
    m = _URI_RE.match(uri or "")
    if not m:
        raise InvalidParameterValue(
            f"Invalid prompt URI {uri!r}; use prompts:/<name>/<version>, prompts:/<name>@<alias> or prompts:/<name>."
        )
    return m.group("name"), m.group("version"), m.group("alias")


def load_prompt(
    name_or_uri: str, version: int | str | None = None, allow_missing: bool = False, link_to_run: bool = True
) -> Prompt | None:
    """A prompt version: ``"prompts:/name/3"``, ``"prompts:/name@production"``, or a name (+ version).

    Without a version the newest is returned. Inside an active run, the run is linked to the version
    (run tag ``mlflow.linkedPrompts``).
    """
    if name_or_uri.startswith("prompts:"):
        name, ver, alias = parse_prompt_uri(name_or_uri)
        if version is not None and ver is not None and str(version) != ver:
            raise InvalidParameterValue(f"Version {version} disagrees with the URI {name_or_uri!r}.")
        ver = ver or (None if version is None else str(version))
    else:
        name, ver, alias = name_or_uri, None if version is None else str(version), None
    client = _client()
    try:
        if alias is not None:
            if alias == "latest":
                ver = None
                mv = _latest_version(client, name)
            else:
                mv = client.get_model_version_by_alias(name, alias)
        elif ver is not None:
            if not str(ver).isdigit():
                raise InvalidParameterValue(f"Prompt version must be a positive integer, got {ver!r}.")
            mv = client.get_model_version(name, ver)
        else:
            mv = _latest_version(client, name)
    except (ResourceDoesNotExist, InvalidParameterValue) as exc:
        if allow_missing and isinstance(exc, ResourceDoesNotExist):
            return None
        if isinstance(exc, ResourceDoesNotExist):
            raise ResourceDoesNotExist(
                f"Prompt {name_or_uri!r} (version/alias) does not exist: {exc.message}"
            )
        raise
    prompt = _prompt_from_version(mv)
    if link_to_run:
        _link_to_active_run(prompt)
    return prompt


def _latest_version(client: Any, name: str) -> Any:
    rm = client.get_registered_model(name)
    versions = list(rm.latest_versions or [])  # prompt versions all stay in stage None
    if not versions:
        raise ResourceDoesNotExist(f"Prompt '{rm.name}' has no versions.")
    return max(versions, key=lambda v: int(v.version))


def _link_to_active_run(prompt: Prompt) -> None:
    from labkeep import fluent

    run = fluent.active_run()
    if run is None:
        return
    client = _client()
    current = client.get_run(run.info.run_id).data.tags.get(LINKED_PROMPTS_TAG)
    try:
        entries = json.loads(current) if current else []
    except ValueError:
        entries = []
    entry = {"name": prompt.name, "version": str(prompt.version)}
    if entry not in entries:
        entries.append(entry)
        client.set_tag(run.info.run_id, LINKED_PROMPTS_TAG, json.dumps(entries))


def set_prompt_alias(name: str, alias: str, version: int | str) -> None:
    _client().set_registered_model_alias(name, alias, str(version))


def delete_prompt_alias(name: str, alias: str) -> None:
    _client().delete_registered_model_alias(name, alias)


def search_prompts(filter_string: str | None = None, max_results: int | None = None) -> list[Any]:
    """Registered prompts (registered models tagged as prompts), optionally filtered by name."""
    clause = f"tag.`{IS_PROMPT_TAG}` = 'true'"
    fs = f"{filter_string} AND {clause}" if filter_string else clause
    client = _client()
    out: list[Any] = []
    token = None
    while True:
        page = client.search_registered_models(fs, max_results=100, page_token=token)
        out += list(page)
        token = getattr(page, "token", None)
        if not token or (max_results is not None and len(out) >= max_results):
            break
    return out[:max_results] if max_results is not None else out
