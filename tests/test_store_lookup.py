"""The one store lookup: a URI → its tracking, registry and trace stores, cached per URI and process."""

from __future__ import annotations

import pytest

from labkeep import config
from labkeep.exceptions import InvalidParameterValue
from labkeep.stores import lookup


def test_one_cached_store_per_uri_and_the_default_follows_the_settings(tmp_path):
    a, b = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    config.set_tracking_uri(a)
    default = lookup.get_tracking_store()
    assert default is lookup.get_tracking_store(a) is lookup.get_tracking_store()
    assert default.store_uri == a
    config.set_tracking_uri(b)  # a new store_cache_key: the default is looked up again
    assert lookup.get_tracking_store().store_uri == b
    assert lookup.get_tracking_store() is not default
    assert lookup.get_registry_store() is lookup.get_registry_store(b)


def test_trace_store_uses_the_tracking_store_database(tmp_path):
    uri = f"sqlite:///{tmp_path}/t.db"
    traces = lookup.get_trace_store(uri)
    assert traces is lookup.get_trace_store(uri)
    assert traces.db is lookup.get_tracking_store(uri).db


def test_server_urls_get_rest_stores_without_connecting():
    assert type(lookup.get_trace_store("http://127.0.0.1:9")).__name__ == "RestTraceStore"
    assert type(lookup.get_tracking_store("http://127.0.0.1:9")).__name__ == "RestTrackingStore"
    with pytest.raises(InvalidParameterValue, match="cannot hold evaluation datasets"):
        lookup.tracking_database("http://127.0.0.1:9", "hold evaluation datasets")


def test_unknown_scheme_is_a_typed_error():
    with pytest.raises(InvalidParameterValue, match="nosuch"):
        lookup.get_tracking_store("nosuch://x")


def test_clear_closes_and_forgets(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/c.db"
    store = lookup.get_tracking_store(uri)
    closed = []
    monkeypatch.setattr(store, "close", lambda: closed.append(True))
    lookup.clear_store_cache()
    assert closed == [True]
    assert lookup.get_tracking_store(uri) is not store


def test_server_registry_shares_the_tracking_database_only_on_the_same_uri(tmp_path):
    one, other = f"sqlite:///{tmp_path}/one.db", f"sqlite:///{tmp_path}/other.db"
    tracking = lookup.sql_tracking_store(one, str(tmp_path / "art"))
    try:
        same = lookup.sql_registry_store(one, str(tmp_path / "art"), tracking)
        apart = lookup.sql_registry_store(other, str(tmp_path / "art"), tracking)
        assert same.db is tracking.db and apart.db is not tracking.db
        apart.close()
    finally:
        tracking.close()


def test_features_that_need_sql_refuse_a_server_store_by_name(tmp_path):
    from labkeep.stores.rest.tracking import RestTrackingStore

    rest = RestTrackingStore("http://127.0.0.1:9")  # never contacted: the type decides
    with pytest.raises(InvalidParameterValue, match="at 'http://127.0.0.1:9' is not a SQL database, so it cannot store traces"):
        lookup.require_sql(rest, "store traces", "http://127.0.0.1:9")
    sql = lookup.sql_tracking_store(f"sqlite:///{tmp_path}/s.db", str(tmp_path / "art"))
    try:
        assert lookup.require_sql(sql, "store traces") is sql
    finally:
        sql.close()
    rest.close()
