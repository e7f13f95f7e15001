"""``Client`` registry methods, ``labkeep.register_model``, ``models:/`` URI resolution and stage settings."""

from __future__ import annotations

import json

import pytest

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.registry.stages import DEFAULT_STAGES, allowed_stages, canonical_stage, parse_stages
from labkeep.registry.uris import parse_models_uri, resolve_models_uri


@pytest.fixture
def client(tmp_path, monkeypatch):
    from labkeep.client import Client
    from labkeep.stores import clear_store_cache

    monkeypatch.setenv("LABKEEP_TRACKING_URI", f"sqlite:///{tmp_path}/c.db")
    yield Client()
    clear_store_cache()


@pytest.fixture
def run_with_model(client, tmp_path):
    """A run with a plain artifact folder 'files' and an MLflow-3 logged model named 'model'."""
    exp = client.create_experiment("uris")
    run = client.create_run(exp)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("a")
    client.log_artifacts(run.info.run_id, str(tmp_path / "files"), "files")
    logged = client.create_logged_model(exp, name="model", source_run_id=run.info.run_id)
    return run, logged


def test_register_model_fluent_uses_logged_model(client, run_with_model):
    import labkeep

    run, logged = run_with_model
    mv = labkeep.register_model(f"runs:/{run.info.run_id}/model", "Churn", tags={"k": "v"})
    assert mv.version == "1" and mv.status == "READY" and mv.tags == {"k": "v"}
    assert mv.source == f"models:/{logged.model_id}" and mv.model_id == logged.model_id
    assert mv.run_id == run.info.run_id
    assert client.get_model_version_download_uri("Churn", "1") == logged.artifact_location
    # the logged model records its registrations
    tag = client.get_logged_model(logged.model_id).tags["mlflow.modelVersions"]
    assert json.loads(tag) == [{"name": "Churn", "version": 1}]
    # a plain run artifact path stays a runs:/ source resolving under the run's artifact root
    mv2 = labkeep.register_model(f"runs:/{run.info.run_id}/files", "Churn")
    assert mv2.version == "2" and mv2.model_id is None
    assert client.get_model_version_download_uri("Churn", "2") == run.info.artifact_uri + "/files"
    # a logged model id directly
    mv3 = client.register_model(f"models:/{logged.model_id}", "Churn")
    assert mv3.version == "3" and mv3.model_id == logged.model_id


def test_lineage_from_run_to_versions(client, run_with_model):
    run, _ = run_with_model
    client.register_model(f"runs:/{run.info.run_id}/model", "A")
    client.register_model(f"runs:/{run.info.run_id}/files", "B")
    found = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    assert sorted((v.name, v.version) for v in found) == [("A", "1"), ("B", "1")]
    # and from a version back to its run
    assert client.get_run(client.get_model_version("A", "1").run_id).info.run_id == run.info.run_id


def test_resolve_models_uris(client, run_with_model):
    run, logged = run_with_model
    client.register_model(f"runs:/{run.info.run_id}/model", "M")
    client.register_model(f"runs:/{run.info.run_id}/files", "M")
    client.transition_model_version_stage("M", "1", "Production")
    client.set_registered_model_alias("M", "champion", "2")
    files = run.info.artifact_uri + "/files"
    assert resolve_models_uri(client, "models:/M/1") == logged.artifact_location
    assert resolve_models_uri(client, "models:/M/production") == logged.artifact_location
    assert resolve_models_uri(client, "models:/M/Latest") == files
    assert resolve_models_uri(client, "models:/M@champion") == files
    assert resolve_models_uri(client, f"models:/{logged.model_id}") == logged.artifact_location
    for uri, missing in [
        ("models:/Nope/1", "Nope"),
        ("models:/M/9", "version=9"),
        ("models:/M/Staging", "Staging"),
        ("models:/M/Canary", "Canary"),
        ("models:/M@ghost", "ghost"),
        ("models:/Nope@champion", "Nope"),
        ("models:/Nope/latest", "Nope"),
    ]:
        with pytest.raises(ResourceDoesNotExist, match=missing):
            resolve_models_uri(client, uri)


@pytest.mark.parametrize("uri", ["models:/", "models:/a/b/c", "models:/@x", "models:/a@", "runs:/x/y"])
def test_bad_models_uris(uri):
    with pytest.raises(InvalidParameterValue):
        parse_models_uri(uri)


def test_parse_models_uri_parts():
    assert parse_models_uri("models:/A/3").version == "3"
    assert parse_models_uri("models:/A/Staging").stage == "Staging"
    assert parse_models_uri("models:/A/latest").latest
    ref = parse_models_uri("models:/A@prod")
    assert (ref.name, ref.alias) == ("A", "prod")
    assert parse_models_uri("models:/m-0123abcd").model_id == "m-0123abcd"


def test_client_tag_by_stage_and_copy(client, run_with_model):
    run, _ = run_with_model
    client.register_model(f"runs:/{run.info.run_id}/files", "S")
    client.transition_model_version_stage("S", "1", "Staging")
    client.set_model_version_tag("S", key="checked", value="yes", stage="staging")
    assert client.get_model_version("S", "1").tags == {"checked": "yes"}
    with pytest.raises(InvalidParameterValue):
        client.set_model_version_tag("S", "1", "k", "v", stage="Staging")
    copy = client.copy_model_version("models:/S/1", "S-copy")
    assert copy.version == "1" and copy.run_id == run.info.run_id
    assert client.get_model_version_download_uri("S-copy", "1") == client.get_model_version_download_uri(
        "S", "1"
    )


def test_stage_settings(monkeypatch):
    assert allowed_stages() == DEFAULT_STAGES
    monkeypatch.setenv("LABKEEP_REGISTRY_STAGES", " dev , QA,Production ,Archived")
    assert allowed_stages() == ("None", "dev", "QA", "Production", "Archived")
    assert canonical_stage("DEV") == "dev" and canonical_stage("none") == "None"
    with pytest.raises(InvalidParameterValue, match="None, dev, QA, Production, Archived"):
        canonical_stage("Staging")
    with pytest.raises(InvalidParameterValue):
        parse_stages("QA,qa")
    with pytest.raises(InvalidParameterValue):
        parse_stages("Bad/Stage")


def test_registry_store_on_new_database_keeps_default_experiment(tmp_path):
    from labkeep.stores.sql.registry import SqlRegistryStore
    from labkeep.stores.sql.tracking import SqlTrackingStore

    uri = f"sqlite:///{tmp_path}/fresh.db"
    SqlRegistryStore(uri).close()  # the registry opens the new database first
    tracking = SqlTrackingStore(uri, str(tmp_path / "artifacts"))
    try:
        assert tracking.get_experiment("0").name == "Default"
    finally:
        tracking.close()


def test_fluent_search_functions(client, run_with_model):
    from labkeep.registry.client import search_model_versions, search_registered_models

    run, _ = run_with_model
    for name in ("a", "b", "c"):
        client.register_model(f"runs:/{run.info.run_id}/files", name)
    assert [m.name for m in search_registered_models(order_by=["name DESC"])] == ["c", "b", "a"]
    assert [m.name for m in search_registered_models(max_results=2, order_by=["name ASC"])] == ["a", "b"]
    assert [v.name for v in search_model_versions(filter_string="name = 'b'")] == ["b"]
