"""``labkeep sync``: push the offline store to its server, sending each point once.

A small ledger beside the offline store remembers, per server and run, a digest of the run's
record without its points and, per metric key, how many points were pushed and the latest
(step, timestamp) among them. The next sync leaves out a run that has not changed, and of a run
still growing it sends only the points logged since: those after the key's (step, timestamp)
mark. Points are only ever added, so when a key still has exactly the pushed count at or before
its mark, nothing before the mark is new; otherwise (a point logged back in time) the key's
points are sent whole and the server keeps what it lacks.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

from labkeep.transfer.base import Source
from labkeep.transfer.records import Problem

LEDGER = "sync-ledger.json"
SAVE_EVERY_S = 2.0  # a sync killed in between resends those runs' points; the server keeps them once


def _digest(rec: dict[str, Any]) -> str:
    meta = {k: v for k, v in rec.items() if k != "metrics"}
    return hashlib.sha1(json.dumps(meta, sort_keys=True, default=repr).encode()).hexdigest()


def _marks(points: Sequence) -> dict[str, list[int]]:
    """{key: [count, step, timestamp]}: the points per key and the latest (step, timestamp)."""
    marks: dict[str, list[int]] = {}
    for key, _value, ts, step, *_ in points:
        mark = marks.get(key)
        if mark is None:
            marks[key] = [1, int(step), int(ts)]
        else:
            mark[0] += 1
            if (step, ts) > (mark[1], mark[2]):
                mark[1], mark[2] = int(step), int(ts)
    return marks


def new_points(points: Sequence, pushed: dict[str, list[int]]) -> list:
    """The points not pushed yet, given the marks of what was (see the module docstring)."""
    marks = {key: (step, ts) for key, (_count, step, ts) in pushed.items()}
    before: dict[str, int] = {}
    after = []
    for p in points:
        mark = marks.get(p[0])
        if mark is not None and (p[3], p[2]) <= mark:
            before[p[0]] = before.get(p[0], 0) + 1
        else:
            after.append(p)
    resend = {key for key, (count, _s, _t) in pushed.items() if before.get(key, 0) != count}
    if not resend:
        return after
    return [p for p in points if p[0] in resend or p[0] not in marks or (p[3], p[2]) > marks[p[0]]]


class Ledger:
    """{server: {run_id: {"digest": ..., "marks": {key: [count, step, ts]}}}} in the offline folder."""

    def __init__(self, folder: str, target: str) -> None:
        self.path = os.path.join(folder, LEDGER)
        self.target = target
        try:
            with open(self.path, encoding="utf-8") as f:
                self.data = json.load(f)
        except (OSError, ValueError):
            self.data = {}
        self.runs: dict[str, Any] = self.data.setdefault(target, {})
        # run_id -> (whole record, ledger entry once the server has it), between source and sink
        self.pending: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._saved_at = time.monotonic()

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)
        self._saved_at = time.monotonic()

    def record(self, run_id: str, entry: dict[str, Any]) -> None:
        self.runs[run_id] = entry
        if time.monotonic() - self._saved_at >= SAVE_EVERY_S:
            self.save()


class LedgerSource(Source):
    """Wraps a source: unchanged runs are left out (counted), growing runs carry only their new points."""

    def __init__(self, inner: Source, ledger: Ledger) -> None:
        self.inner, self.ledger = inner, ledger
        self.description = inner.description
        self.artifact_server = inner.artifact_server
        self.skipped = 0

    def experiments(self) -> list[dict[str, Any] | Problem]:
        return self.inner.experiments()

    def count_runs(self, experiment_id: str) -> int:
        return self.inner.count_runs(experiment_id)

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        for rec in self.inner.runs(experiment_id):
            if not isinstance(rec, dict):
                yield rec
                continue
            entry = {"digest": _digest(rec), "marks": _marks(rec["metrics"])}
            pushed = self.ledger.runs.get(rec["run_id"])
            if not isinstance(pushed, dict) or not isinstance(pushed.get("marks"), dict):
                pushed = None  # never pushed to this server (or a ledger from an older labkeep)
            elif pushed == entry:
                self.skipped += 1
                continue
            self.ledger.pending[rec["run_id"]] = (rec, entry)
            yield rec if pushed is None else dict(rec, metrics=new_points(rec["metrics"], pushed["marks"]))

    def logged_models(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        return self.inner.logged_models(experiment_id)

    def registered_models(self) -> Iterator[dict[str, Any] | Problem]:
        return self.inner.registered_models()

    def artifact_repository(self, uri: str) -> Any:
        return self.inner.artifact_repository(uri)

    def close(self) -> None:
        self.inner.close()


class LedgerSink:
    """Wraps a sink: every run it accepts is recorded in the ledger; counts the points sent."""

    def __init__(self, inner: Any, ledger: Ledger) -> None:
        self.inner, self.ledger = inner, ledger
        self.points_sent = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def run(self, rec: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        whole, entry = self.ledger.pending.pop(rec["run_id"], (rec, None))
        status = self.inner.run(rec, *args, **kwargs)
        self.points_sent += len(rec["metrics"])
        if status == "new" and whole is not rec:
            # the server lacked the run the ledger says it has (a server store replaced): send it whole
            self.inner.run(whole, *args, **kwargs)
            self.points_sent += len(whole["metrics"])
        if not self.inner.dry_run and entry is not None:
            self.ledger.record(rec["run_id"], entry)
        return status
