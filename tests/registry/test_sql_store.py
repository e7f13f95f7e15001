"""SqlRegistryStore on SQLite, PostgreSQL and MariaDB: every method and the bad inputs of issue 4."""

from __future__ import annotations

import json

import pytest

from labkeep.entities import ModelVersionTag, RegisteredModelTag
from labkeep.exceptions import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from tests.registry.registry_helpers import insert_logged_model, insert_run


def _version(store, name, artifact_root, **kw):
    return store.create_model_version(name, f"{artifact_root}/some/model", **kw)


# ---------------------------------------------------------------- registered models
def test_create_get_registered_model(store, name):
    m = store.create_registered_model(name, tags=[RegisteredModelTag("team", "a")], description="churn")
    assert m.name == name and m.description == "churn" and m.tags == {"team": "a"}
    assert m.creation_timestamp and m.creation_timestamp == m.last_updated_timestamp
    got = store.get_registered_model(name)
    assert got.to_dict() == m.to_dict()
    d = got.to_dict()
    assert d["tags"] == [{"key": "team", "value": "a"}] and "latest_versions" not in d


def test_duplicate_registered_model(store, name):
    store.create_registered_model(name)
    with pytest.raises(ResourceAlreadyExists) as e:
        store.create_registered_model(name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS" and e.value.http_status == 400


@pytest.mark.parametrize("bad", ["", "   ", "a/b", "a:b", "a..b", "x" * 257, None])
def test_bad_registered_model_names(store, bad):
    with pytest.raises(InvalidParameterValue):
        store.create_registered_model(bad)


def test_bad_input_writes_nothing(store, name, artifact_root):
    with pytest.raises(InvalidParameterValue):
        store.create_registered_model(
            name, tags=[RegisteredModelTag("ok", "v"), RegisteredModelTag("bad*key", "v")]
        )
    with pytest.raises(ResourceDoesNotExist):
        store.get_registered_model(name)
    with pytest.raises(InvalidParameterValue):
        store.create_registered_model(name, description="d" * 5001)
    with pytest.raises(ResourceDoesNotExist):
        store.get_registered_model(name)
    store.create_registered_model(name)
    with pytest.raises(InvalidParameterValue):
        store.create_model_version(name, f"{artifact_root}/x", tags=[ModelVersionTag("k", "v" * 100_001)])
    assert store.search_model_versions(f"name = '{name}'") == []


def test_update_registered_model(store, name):
    m = store.create_registered_model(name)
    u = store.update_registered_model(name, description="new text")
    assert u.description == "new text" and u.last_updated_timestamp >= m.last_updated_timestamp
    with pytest.raises(ResourceDoesNotExist, match="not found"):
        store.update_registered_model(name + "_missing", description="x")


def test_registered_model_tags(store, name):
    store.create_registered_model(name)
    store.set_registered_model_tag(name, RegisteredModelTag("k", "v1"))
    store.set_registered_model_tag(name, RegisteredModelTag("k", "v2"))
    store.set_registered_model_tag(name, RegisteredModelTag("big", "x" * 100_000))
    assert store.get_registered_model(name).tags == {"k": "v2", "big": "x" * 100_000}
    store.delete_registered_model_tag(name, "k")
    assert "k" not in store.get_registered_model(name).tags
    with pytest.raises(ResourceDoesNotExist):
        store.delete_registered_model_tag(name, "k")
    for key, value in [("k" * 251, "v"), ("../x", "v"), ("a*b", "v"), ("ok", "x" * 100_001), ("", "v")]:
        with pytest.raises(InvalidParameterValue):
            store.set_registered_model_tag(name, RegisteredModelTag(key, value))
    with pytest.raises(ResourceDoesNotExist):
        store.set_registered_model_tag(name + "_missing", RegisteredModelTag("k", "v"))


def test_rename_keeps_versions_aliases_and_history(store, name, artifact_root):
    store.create_registered_model(name, tags=[RegisteredModelTag("t", "1")])
    _version(store, name, artifact_root, tags=[ModelVersionTag("vt", "x")])
    store.set_registered_model_alias(name, "champion", "1")
    store.transition_model_version_stage(name, "1", "Production")
    other = name + "_other"
    store.create_registered_model(other)
    with pytest.raises(ResourceAlreadyExists):
        store.rename_registered_model(name, other)
    with pytest.raises(InvalidParameterValue):
        store.rename_registered_model(name, "a/b")
    new = name + "_renamed"
    r = store.rename_registered_model(name, new)
    assert r.name == new and r.tags == {"t": "1"} and r.aliases == {"champion": "1"}
    mv = store.get_model_version(new, "1")
    assert mv.tags == {"vt": "x"} and mv.aliases == ["champion"] and mv.current_stage == "Production"
    assert [e.kind for e in store.get_promotion_history(new)] == ["alias", "stage"]
    with pytest.raises(ResourceDoesNotExist):
        store.get_registered_model(name)
    # the next version continues the numbering
    assert _version(store, new, artifact_root).version == "2"


def test_delete_registered_model_keeps_history(store, name, artifact_root):
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    store.set_registered_model_alias(name, "a1", "1")
    store.delete_registered_model(name)
    with pytest.raises(ResourceDoesNotExist):
        store.get_registered_model(name)
    with pytest.raises(ResourceDoesNotExist):
        store.get_model_version(name, "1")
    kinds = [e.kind for e in store.get_promotion_history(name)]
    assert kinds == ["alias", "model_deleted"]
    with pytest.raises(ResourceDoesNotExist):
        store.delete_registered_model(name)
    # the name can be registered again and starts at version 1
    store.create_registered_model(name)
    assert _version(store, name, artifact_root).version == "1"


# ---------------------------------------------------------------- versions
def test_versions_increment_and_are_ready(store, name, artifact_root):
    store.create_registered_model(name)
    versions = [_version(store, name, artifact_root, description=f"v{i}") for i in range(3)]
    assert [v.version for v in versions] == ["1", "2", "3"]
    assert all(v.status == "READY" and v.current_stage == "None" for v in versions)
    d = versions[0].to_dict()
    assert d["status"] == "READY" and d["version"] == "1" and d["source"].endswith("/some/model")
    assert d["user_id"]


def test_create_version_for_unknown_model(store, name, artifact_root):
    with pytest.raises(ResourceDoesNotExist, match=name):
        _version(store, name, artifact_root)


def test_get_update_delete_version(store, name, artifact_root):
    store.create_registered_model(name)
    for _ in range(3):
        _version(store, name, artifact_root)
    assert store.update_model_version(name, "2", description="better").description == "better"
    assert store.get_model_version(name, 2).description == "better"
    store.set_registered_model_alias(name, "keep", "3")
    store.set_registered_model_alias(name, "gone", "2")
    store.delete_model_version(name, "2")
    with pytest.raises(ResourceDoesNotExist):
        store.get_model_version(name, "2")
    with pytest.raises(ResourceDoesNotExist):
        store.delete_model_version(name, "2")
    assert store.get_registered_model(name).aliases == {"keep": "3"}
    assert [v.version for v in store.search_model_versions(f"name = '{name}'")] == ["3", "1"]
    # numbers are never reused
    assert _version(store, name, artifact_root).version == "4"
    # the alias removal is in the history
    ev = store.get_promotion_history(name, "2")
    assert [(e.kind, e.subject, e.from_value, e.to_value) for e in ev] == [
        ("alias", "gone", None, "2"),
        ("alias", "gone", "2", None),
    ]


@pytest.mark.parametrize("bad", ["abc", "1.5", "", "-1", "0", None, True])
def test_non_integer_versions(store, name, artifact_root, bad):
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    with pytest.raises(InvalidParameterValue):
        store.get_model_version(name, bad)


def test_unknown_version(store, name, artifact_root):
    store.create_registered_model(name)
    with pytest.raises(ResourceDoesNotExist, match=r"version=7"):
        store.get_model_version(name, "7")


def test_model_version_tags(store, name, artifact_root):
    store.create_registered_model(name)
    _version(store, name, artifact_root, tags=[ModelVersionTag("a", "1")])
    store.set_model_version_tag(name, "1", ModelVersionTag("b", "2"))
    store.set_model_version_tag(name, "1", ModelVersionTag("a", "3"))
    assert store.get_model_version(name, "1").tags == {"a": "3", "b": "2"}
    store.delete_model_version_tag(name, "1", "a")
    assert store.get_model_version(name, "1").tags == {"b": "2"}
    with pytest.raises(ResourceDoesNotExist):
        store.delete_model_version_tag(name, "1", "a")
    with pytest.raises(ResourceDoesNotExist):
        store.set_model_version_tag(name, "9", ModelVersionTag("a", "1"))
    with pytest.raises(InvalidParameterValue):
        store.set_model_version_tag(name, "1", ModelVersionTag("x" * 251, "1"))


# ---------------------------------------------------------------- stages
def test_stage_transitions(store, name, artifact_root):
    store.create_registered_model(name)
    for _ in range(3):
        _version(store, name, artifact_root)
    mv = store.transition_model_version_stage(name, "1", "staging")
    assert mv.current_stage == "Staging"
    store.transition_model_version_stage(name, "2", "PRODUCTION")
    store.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in store.search_model_versions(f"name = '{name}'")}
    assert stages == {"1": "Staging", "2": "Archived", "3": "Production"}
    latest = store.get_registered_model(name).latest_versions
    assert sorted((v.current_stage, v.version) for v in latest) == [
        ("Archived", "2"),
        ("Production", "3"),
        ("Staging", "1"),
    ]
    assert [v.version for v in store.get_latest_versions(name, ["production"])] == ["3"]
    assert sorted(v.version for v in store.get_latest_versions(name)) == ["1", "2", "3"]
    hist = store.get_promotion_history(name, "2")
    assert [(e.from_value, e.to_value) for e in hist] == [("None", "Production"), ("Production", "Archived")]


def test_invalid_stage_lists_allowed(store, name, artifact_root):
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    with pytest.raises(InvalidParameterValue, match="None, Staging, Production, Archived"):
        store.transition_model_version_stage(name, "1", "Prod")
    with pytest.raises(InvalidParameterValue):
        store.get_latest_versions(name, ["Prod"])
    assert store.get_model_version(name, "1").current_stage == "None"


@pytest.mark.parametrize("stage", ["None", "archived"])
def test_archive_existing_needs_non_terminal_target(store, name, artifact_root, stage):
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    with pytest.raises(InvalidParameterValue, match="archive_existing_versions"):
        store.transition_model_version_stage(name, "1", stage, archive_existing_versions=True)
    assert store.get_promotion_history(name) == []


def test_user_defined_stages(store, name, artifact_root, monkeypatch):
    monkeypatch.setenv("LABKEEP_REGISTRY_STAGES", "Dev,QA,Staging,Production,Archived")
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    _version(store, name, artifact_root)
    assert store.transition_model_version_stage(name, "1", "qa").current_stage == "QA"
    assert (
        store.transition_model_version_stage(name, "2", "QA", archive_existing_versions=True).current_stage
        == "QA"
    )
    assert store.get_model_version(name, "1").current_stage == "Archived"
    with pytest.raises(InvalidParameterValue, match="None, Dev, QA, Staging, Production, Archived"):
        store.transition_model_version_stage(name, "1", "Canary")
    assert [v.version for v in store.get_latest_versions(name, ["qa"])] == ["2"]


def test_transition_unknown_model_or_version(store, name, artifact_root):
    with pytest.raises(ResourceDoesNotExist):
        store.transition_model_version_stage(name, "1", "Staging")
    store.create_registered_model(name)
    with pytest.raises(ResourceDoesNotExist):
        store.transition_model_version_stage(name, "1", "Staging")


# ---------------------------------------------------------------- aliases
def test_aliases(store, name, artifact_root):
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    _version(store, name, artifact_root)
    store.set_registered_model_alias(name, "champion", "1")
    store.set_registered_model_alias(name, "Challenger-2_x", "2")
    assert store.get_model_version_by_alias(name, "champion").version == "1"
    store.set_registered_model_alias(name, "champion", "2", comment="better AUC")  # atomic move
    mv = store.get_model_version_by_alias(name, "champion")
    assert mv.version == "2" and mv.aliases == ["Challenger-2_x", "champion"]
    assert store.get_model_version(name, "1").aliases == []
    assert store.get_registered_model(name).aliases == {"champion": "2", "Challenger-2_x": "2"}
    store.set_registered_model_alias(name, "champion", "2")  # no move: no event
    store.delete_registered_model_alias(name, "champion")
    # over REST an unknown alias is 400 INVALID_PARAMETER_VALUE, as on the reference server
    missing = InvalidParameterValue if getattr(store, "is_rest", False) else ResourceDoesNotExist
    with pytest.raises(missing, match="champion"):
        store.get_model_version_by_alias(name, "champion")
    hist = [(e.subject, e.from_value, e.to_value, e.comment) for e in store.get_promotion_history(name)]
    assert hist == [
        ("champion", None, "1", None),
        ("Challenger-2_x", None, "2", None),
        ("champion", "1", "2", "better AUC"),
        ("champion", "2", None, None),
    ]
    assert all(e.user_id for e in store.get_promotion_history(name))


@pytest.mark.parametrize("bad", ["latest", "LATEST", "v3", "V12", "3", "with space", "a/b", "", "x" * 256])
def test_bad_aliases(store, name, artifact_root, bad):
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    with pytest.raises(InvalidParameterValue):
        store.set_registered_model_alias(name, bad, "1")
    assert store.get_registered_model(name).aliases == {}


def test_alias_to_missing_version(store, name, artifact_root):
    store.create_registered_model(name)
    with pytest.raises(ResourceDoesNotExist):
        store.set_registered_model_alias(name, "champion", "5")
    with pytest.raises(ResourceDoesNotExist):
        store.get_model_version_by_alias(name + "_missing", "champion")


# ---------------------------------------------------------------- sources and download URIs
def test_runs_source(store, name, artifact_root):
    run_id, run_root = insert_run(store, artifact_root)
    store.create_registered_model(name)
    mv = store.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    assert mv.run_id == run_id and mv.source == f"runs:/{run_id}/model"
    assert store.get_model_version_download_uri(name, "1") == f"{run_root}/model"
    # run_id filled from the source
    assert store.create_model_version(name, f"runs:/{run_id}/model").run_id == run_id
    other_run, _ = insert_run(store, artifact_root)
    with pytest.raises(InvalidParameterValue, match="not to run_id"):
        store.create_model_version(name, f"runs:/{run_id}/model", run_id=other_run)
    # as mlflow: the run need not exist (nothing is read until someone downloads the files)
    missing = store.create_model_version(name, "runs:/" + "0" * 32 + "/model")
    assert missing.source == "runs:/" + "0" * 32 + "/model"


def test_logged_model_source(store, name, artifact_root):
    run_id, _ = insert_run(store, artifact_root)
    model_id, location = insert_logged_model(store, artifact_root, run_id)
    store.create_registered_model(name)
    mv = store.create_model_version(name, f"models:/{model_id}", model_id=model_id)
    assert mv.model_id == model_id and mv.run_id == run_id  # run filled from the logged model
    assert store.get_model_version_download_uri(name, "1") == location
    store.create_model_version(name, f"models:/{model_id}")
    with store.db.read() as cur:
        tag = cur.execute(
            "SELECT value FROM logged_model_tags WHERE model_id = ? AND name = 'mlflow.modelVersions'",
            (model_id,),
        ).fetchone()
    assert json.loads(tag[0]) == [{"name": name, "version": 1}, {"name": name, "version": 2}]
    other_id, _ = insert_logged_model(store, artifact_root, run_id, name="other")
    with pytest.raises(InvalidParameterValue, match="does not match"):
        store.create_model_version(name, f"models:/{model_id}", model_id=other_id)
    with pytest.raises(ResourceDoesNotExist):
        store.create_model_version(name, "models:/m-" + "0" * 32)
    # runs:/<run>/<logged model name> resolves to the logged model (MLflow 3 layout)
    mv = store.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    assert mv.model_id == model_id
    assert store.get_model_version_download_uri(name, mv.version) == location


def test_registered_version_source(store, name, artifact_root):
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    store.set_registered_model_alias(name, "prod", "1")
    copy = name + "_copy"
    store.create_registered_model(copy)
    store.create_model_version(copy, f"models:/{name}@prod")
    assert store.get_model_version_download_uri(copy, "1") == f"{artifact_root}/some/model"


@pytest.mark.parametrize(
    "source",
    [
        "file:///etc/passwd",
        "/etc",
        "file:///etc/",
        "{root}/../../etc/passwd",
        "{root}/a/%2e%2e/%2e%2e/x",
        "s3://other-bucket/x",
        "{root}/a\\..\\b",
        "",
    ],
)
def test_sources_outside_storage_refused(store, name, artifact_root, source):
    store.create_registered_model(name)
    with pytest.raises(InvalidParameterValue):
        store.create_model_version(name, source.format(root=artifact_root))
    assert store.search_model_versions(f"name = '{name}'") == []
    assert store.get_registered_model(name).latest_versions == []


def test_plain_source_must_be_inside_run(store, name, artifact_root):
    run_id, run_root = insert_run(store, artifact_root)
    store.create_registered_model(name)
    assert store.create_model_version(name, f"{run_root}/model", run_id=run_id).version == "1"
    with pytest.raises(InvalidParameterValue, match="To use a local path as a model version source"):
        store.create_model_version(name, f"{artifact_root}/elsewhere", run_id=run_id)
    # resolved first: <run artifacts>/model/.. is the run's own root
    assert store.create_model_version(name, f"{run_root}/model/..", run_id=run_id).version == "2"


def test_download_uri_unknown(store, name):
    with pytest.raises(ResourceDoesNotExist):
        store.get_model_version_download_uri(name, "1")


def test_history_unknown_model(store, name):
    with pytest.raises(ResourceDoesNotExist):
        store.get_promotion_history(name)


# ---------------------------------------------------------------- search and prompts
def test_search_versions_and_models(store, name, artifact_root):
    store.create_registered_model(name, tags=[RegisteredModelTag("team", "blue")])
    for i in range(3):
        _version(store, name, artifact_root, tags=[ModelVersionTag("i", str(i))])
    found = store.search_model_versions(
        f"name = '{name}' AND version_number >= 2", order_by=["version_number ASC"]
    )
    assert [v.version for v in found] == ["2", "3"] and found[0].tags == {"i": "1"}
    page = store.search_model_versions(f"name = '{name}'", max_results=2)
    assert len(page) == 2 and page.token
    rest = store.search_model_versions(f"name = '{name}'", max_results=2, page_token=page.token)
    assert len(rest) == 1 and rest.token is None
    models = store.search_registered_models(f"name = '{name}' AND tags.team = 'blue'")
    assert [m.name for m in models] == [name] and models[0].latest_versions[0].version == "3"
    with pytest.raises(InvalidParameterValue):
        store.search_model_versions("current_stage = 'None'")
    with pytest.raises(InvalidParameterValue):
        store.search_registered_models(max_results=1001)


def test_prompts_hidden_unless_asked_for(store, name, artifact_root):
    prompt = name + "_prompt"
    store.create_registered_model(prompt, tags=[RegisteredModelTag("mlflow.prompt.is_prompt", "true")])
    store.create_model_version(
        prompt,
        f"{artifact_root}/p",
        tags=[
            ModelVersionTag("mlflow.prompt.is_prompt", "true"),
            ModelVersionTag("mlflow.prompt.text", "Hi {{x}}"),
        ],
    )
    store.create_registered_model(name)
    _version(store, name, artifact_root)
    like = f"name LIKE '{name}%'"
    assert [m.name for m in store.search_registered_models(like)] == [name]
    client_filter = f"{like} AND tag.`mlflow.prompt.is_prompt` != 'true'"  # what the mlflow client sends
    assert [m.name for m in store.search_registered_models(client_filter)] == [name]
    asked = f"{like} AND tags.`mlflow.prompt.is_prompt` = 'true'"
    assert [m.name for m in store.search_registered_models(asked)] == [prompt]
    assert [v.name for v in store.search_model_versions(like)] == [name]
    # a prompt is still a registered model: direct reads work
    assert store.get_registered_model(prompt).tags["mlflow.prompt.is_prompt"] == "true"
