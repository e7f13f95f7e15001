"""``labkeep.genai.registered_scorers``: the same calls on a SQLite URI and on a real server process."""

from __future__ import annotations

import httpx
import pytest

from labkeep.exceptions import LabkeepException
from labkeep.genai import registered_scorers as rs
from labkeep.stores.sql.tracking import SqlTrackingStore
from tests.server.helpers import running_server


def _flow(uri: str, exp: str) -> None:
    v1 = rs.register_scorer("relevance", '{"v": 1}', exp, tracking_uri=uri)
    v2 = rs.register_scorer("relevance", '{"v": 2}', exp, tracking_uri=uri)
    assert (v1.scorer_version, v2.scorer_version, v1.scorer_id == v2.scorer_id) == (1, 2, True)
    assert v2.experiment_id == exp and v2.scorer_name == "relevance"
    assert [s.scorer_version for s in rs.list_scorers(exp, tracking_uri=uri)] == [2]
    assert [s.serialized_scorer for s in rs.list_scorer_versions("relevance", exp, tracking_uri=uri)] == [
        '{"v": 1}',
        '{"v": 2}',
    ]
    assert rs.get_scorer("relevance", exp, version=1, tracking_uri=uri).serialized_scorer == '{"v": 1}'
    rs.delete_scorer("relevance", exp, version=2, tracking_uri=uri)
    assert rs.get_scorer("relevance", exp, tracking_uri=uri).scorer_version == 1
    rs.delete_scorer("relevance", exp, tracking_uri=uri)
    assert rs.list_scorers(exp, tracking_uri=uri) == []
    with pytest.raises(LabkeepException) as err:
        rs.get_scorer("relevance", exp, tracking_uri=uri)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert rs.query_trace_metrics([exp], "trace_count", dimensions=["trace_status"], tracking_uri=uri) == []
    with pytest.raises(LabkeepException) as err:
        rs.query_trace_metrics([exp], "latency", aggregations=["MEDIAN"], tracking_uri=uri)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_on_a_database_uri(tmp_path):
    uri = f"sqlite:///{tmp_path}/db.sqlite"
    store = SqlTrackingStore(uri, str(tmp_path / "artifacts"))
    exp = store.create_experiment("scorers")
    store.close()
    _flow(uri, exp)


def test_on_a_server_process(tmp_path):
    db = f"sqlite:///{tmp_path}/srv.db"
    args = ["--backend-store-uri", db, "--artifacts-destination", str(tmp_path / "artifacts")]
    with running_server(args, cwd=str(tmp_path)) as (url, _proc):
        exp = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "scorers"}).json()[
            "experiment_id"
        ]
        _flow(url, exp)
