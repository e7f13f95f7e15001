"""The official mlflow client against a real ``labkeep server``: the registry steps of the tutorial flow."""

from __future__ import annotations

import pytest

from tests.server.helpers import running_server

pytestmark = pytest.mark.compat


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKEEP_REGISTRY_STAGES", "Dev,QA,Staging,Production,Archived")
    with running_server([], cwd=str(tmp_path)) as (url, _proc):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        yield url


def test_official_client_registry_flow(server, tmp_path):
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(server)
    mlflow.set_experiment("registry-compat")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.txt").write_text("42")
    (tmp_path / "model" / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(tmp_path / "model"), "model")
    run_id = run.info.run_id

    v1 = mlflow.register_model(f"runs:/{run_id}/model", "Demo")
    v2 = mlflow.register_model(f"runs:/{run_id}/model", "Demo")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.status == "READY" and v1.run_id == run_id

    client.set_registered_model_alias("Demo", "champion", "1")
    mv = client.get_model_version_by_alias("Demo", "champion")
    assert mv.version == "1" and mv.aliases == ["champion"]
    client.transition_model_version_stage("Demo", "2", "qa")  # a user-defined stage, any case
    with pytest.raises(MlflowException, match="Dev, QA, Staging, Production, Archived"):
        client.transition_model_version_stage("Demo", "2", "Canary")
    latest = client.get_latest_versions("Demo", ["QA"])
    assert [v.version for v in latest] == ["2"] and latest[0].current_stage == "QA"

    rm = client.get_registered_model("Demo")
    assert rm.aliases == {"champion": "1"}
    assert [m.name for m in client.search_registered_models()] == ["Demo"]  # prompt filter appended
    assert sorted(v.version for v in client.search_model_versions("name = 'Demo'")) == ["1", "2"]
    client.set_model_version_tag("Demo", "1", "validated", "yes")
    client.update_model_version("Demo", "1", description="first")
    mv = client.get_model_version("Demo", "1")
    assert mv.tags == {"validated": "yes"} and mv.description == "first"

    # models:/ URIs resolve and download through the server's artifact proxy
    for uri in ("models:/Demo@champion", "models:/Demo/1", "models:/Demo/QA", "models:/Demo/latest"):
        path = mlflow.artifacts.download_artifacts(
            uri, dst_path=str(tmp_path / uri.replace("/", "_").replace(":", ""))
        )
        assert open(f"{path}/weights.txt").read() == "42"
    with pytest.raises(MlflowException) as e:
        client.create_registered_model("Demo")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias("Demo", "v9", "1")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.create_model_version("Demo", "file:///etc/")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"

    client.delete_model_version("Demo", "2")
    client.rename_registered_model("Demo", "Demo2")
    assert [v.version for v in client.search_model_versions("name = 'Demo2'")] == ["1"]

    # labkeep's own client reads the promotion history the official client's calls left
    from labkeep.client import Client

    events = Client(server).get_promotion_history("Demo2")
    assert [(e.kind, e.version, e.to_value) for e in events] == [("alias", "1", "1"), ("stage", "2", "QA")]
