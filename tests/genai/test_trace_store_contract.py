"""The ``TraceStore`` contract: both trace backends implement it, with the contract's signatures."""

from __future__ import annotations

import inspect

import pytest

from labkeep.stores import get_trace_store
from labkeep.stores.base import TraceStore
from labkeep.stores.rest.traces import RestTraceStore
from labkeep.stores.sql.traces import SqlTraceStore

CONTRACT = sorted(TraceStore.__abstractmethods__)


def test_lookup_returns_the_contract_for_sql_and_rest(tmp_path):
    sql = get_trace_store(f"sqlite:///{tmp_path}/lk.db")
    assert isinstance(sql, SqlTraceStore) and isinstance(sql, TraceStore)
    rest = get_trace_store("http://127.0.0.1:9")  # built without connecting
    assert isinstance(rest, RestTraceStore) and isinstance(rest, TraceStore)
    rest.close()


@pytest.mark.parametrize("impl", [SqlTraceStore, RestTraceStore])
@pytest.mark.parametrize("name", CONTRACT)
def test_backends_keep_the_contract_signatures(impl, name):
    want = inspect.signature(getattr(TraceStore, name))
    got = inspect.signature(getattr(impl, name))
    assert list(got.parameters) == list(want.parameters)
    assert [p.default for p in got.parameters.values()] == [p.default for p in want.parameters.values()]


def test_a_backend_missing_a_method_cannot_be_built():
    class Partial(TraceStore):
        pass

    assert "search_traces" in CONTRACT and "log_trace" in CONTRACT
    with pytest.raises(TypeError, match="abstract"):
        Partial()  # type: ignore[abstract]
