"""Prompt registry on the embedded store: versions, aliases, formatting, run links, bad templates."""

from __future__ import annotations

import json

import pytest

import labkeep
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.genai import prompts


def test_versions_aliases_format_and_registry_shape(tracking):
    p1 = labkeep.register_prompt(
        "qa", "Answer {{question}} briefly.", commit_message="first", tags={"team": "nlp"}
    )
    p2 = labkeep.register_prompt("qa", "Answer {{ question }} in {{n}} words.")
    assert (p1.version, p2.version) == (1, 2)
    assert p2.variables == ["question", "n"]
    prompts.set_prompt_alias("qa", "production", 1)
    prod = labkeep.load_prompt("prompts:/qa@production")
    assert prod.version == 1 and prod.commit_message == "first" and prod.tags == {"team": "nlp"}
    assert prod.format(question="why") == "Answer why briefly."
    assert labkeep.load_prompt("prompts:/qa/2").format(question="a", n=3) == "Answer a in 3 words."
    assert labkeep.load_prompt("qa").version == 2  # newest
    assert labkeep.load_prompt("qa", version=1).template == "Answer {{question}} briefly."
    assert p2.to_single_brace_format() == "Answer {question} in {n} words."

    # stored as mlflow stores prompts (so the official client reads them)
    client = labkeep.Client()
    assert client.get_registered_model("qa").tags["mlflow.prompt.is_prompt"] == "true"
    mv = client.get_model_version("qa", "2")
    assert mv.tags["mlflow.prompt.text"] == "Answer {{ question }} in {{n}} words."
    assert mv.tags["mlflow.prompt.is_prompt"] == "true"
    assert [m.name for m in prompts.search_prompts()] == ["qa"]
    assert [m.name for m in client.search_registered_models()] == []  # prompts are hidden from models


def test_run_links_prompt_versions(tracking):
    labkeep.register_prompt("summarize", "Summarize: {{text}}")
    labkeep.register_prompt("summarize", "Summarize briefly: {{text}}")
    with labkeep.start_run() as run:
        labkeep.load_prompt("prompts:/summarize/1")
        labkeep.load_prompt("prompts:/summarize/2")
        labkeep.load_prompt("prompts:/summarize/2")
    linked = json.loads(labkeep.get_run(run.info.run_id).data.tags["mlflow.linkedPrompts"])
    assert linked == [{"name": "summarize", "version": "1"}, {"name": "summarize", "version": "2"}]


def test_chat_prompt(tracking):
    p = labkeep.register_prompt(
        "chat", [{"role": "system", "content": "Be {{tone}}."}, {"role": "user", "content": "{{q}}"}]
    )
    loaded = labkeep.load_prompt("prompts:/chat/1")
    assert loaded.variables == ["tone", "q"]
    assert loaded.format(tone="kind", q="hi") == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "hi"},
    ]
    assert p.version == 1


@pytest.mark.parametrize(
    "template, position",
    [("Hello {{name}", 6), ("Hello }} there", 6), ("{{a}} and {{", 10), ("{{ bad-name! }}", 0)],
)
def test_unbalanced_braces_are_rejected_at_registration(tracking, template, position):
    with pytest.raises(
        InvalidParameterValue, match=f"Unbalanced braces in prompt template at character {position}"
    ):
        labkeep.register_prompt("bad", template)


def test_format_errors_and_missing_prompts(tracking):
    p = labkeep.register_prompt("greet", 'Hi {{name}}, {{greeting}}! {"json": 1}')
    with pytest.raises(InvalidParameterValue, match="needs values for 'greeting'"):
        p.format(name="Ada")
    assert p.format(name="Ada", allow_partial=True) == 'Hi Ada, {{greeting}}! {"json": 1}'
    with pytest.raises(ResourceDoesNotExist):
        labkeep.load_prompt("prompts:/greet/9")
    with pytest.raises(ResourceDoesNotExist):
        labkeep.load_prompt("prompts:/nothing@prod")
    assert labkeep.load_prompt("prompts:/nothing/1", allow_missing=True) is None
    with pytest.raises(InvalidParameterValue, match="Invalid prompt URI"):
        labkeep.load_prompt("prompts:/a/b/c")
    labkeep.Client().create_registered_model("a-model")
    with pytest.raises(InvalidParameterValue, match="not a prompt"):
        labkeep.register_prompt("a-model", "x")
