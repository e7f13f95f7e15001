"""The engine on every destination backend: resumable after an interruption, collisions reported."""

from __future__ import annotations

import pytest

from labkeep.transfer import open_mlflow_source, open_sink, transfer
from tests.transfer.helpers import differences, dump


class Interrupted(BaseException):
    pass


class StopsAfter:
    """A real sink that is interrupted (like Ctrl-C) after ``n`` runs."""

    def __init__(self, sink, n: int) -> None:
        self.sink, self.n = sink, n

    def __getattr__(self, name):
        return getattr(self.sink, name)

    def run(self, *args, **kwargs):
        if self.n == 0:
            raise Interrupted()
        self.n -= 1
        return self.sink.run(*args, **kwargs)


@pytest.mark.compat
@pytest.mark.timeout(900)
def test_interrupted_import_finishes_on_the_next_run_on_every_backend(mlflow_sources, db_uri, tmp_path):
    src = mlflow_sources["sqlite"]
    root = str(tmp_path / "artifacts")
    sink = open_sink(db_uri, artifact_root=root)
    source = open_mlflow_source(src["uri"])
    with pytest.raises(Interrupted):
        transfer(source, StopsAfter(sink, 2))
    first = dump("labkeep", db_uri, str(tmp_path))
    assert 0 < len(first["runs"]) < 6
    summary = transfer(source, sink)
    assert summary.ok, summary.problems
    assert summary.moved["runs"] == 6 - len(first["runs"])
    source.close()
    sink.close()
    got = dump("labkeep", db_uri, str(tmp_path))
    assert differences(src["dump"], got) == []


@pytest.mark.compat
@pytest.mark.timeout(900)
def test_id_collision_with_different_content_is_skipped_and_named(mlflow_sources, tmp_path):
    src = mlflow_sources["sqlite"]
    dest = f"sqlite:///{tmp_path}/dest.db"
    sink = open_sink(dest)
    with sink.db.write() as cur:
        cur.execute(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
            " creation_time, last_update_time) VALUES (77, 'mine', '/x', 'active', 0, 0)"
        )
        cur.execute(
            "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, artifact_uri,"
            " lifecycle_stage) VALUES (?, 77, 'other', 'u', 'FINISHED', 0, '/x', 'active')",
            (src["run_id"],),
        )
        cur.execute(
            "INSERT INTO params (run_id, name, value) VALUES (?, 'mine', 'keep me')", (src["run_id"],)
        )
    summary = transfer(open_mlflow_source(src["uri"]), sink)
    assert [(p.kind, p.item) for p in summary.problems] == [("run", src["run_id"])]
    assert "experiment 77" in summary.problems[0].reason
    assert summary.moved["runs"] == 5
    with sink.db.read() as cur:
        assert cur.execute("SELECT value FROM params WHERE run_id = ?", (src["run_id"],)).fetchall() == [
            ("keep me",)
        ]
    sink.close()
