"""The store under test: a SqlTrackingStore on every backend (see tests/dbs.py).

Other suites reuse ``tracking_contract.py`` by defining their own ``tracking_store`` fixture
(e.g. a REST store talking to the server app in-process).
"""

import pytest

from labkeep.stores.sql.tracking import SqlTrackingStore


@pytest.fixture
def tracking_store(db_uri, tmp_path):
    store = SqlTrackingStore(db_uri, str(tmp_path / "artifacts"))
    yield store
    store.close()
