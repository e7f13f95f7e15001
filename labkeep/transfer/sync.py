"""``labkeep sync``: push the offline store to its server, skipping runs already pushed unchanged.

A small ledger beside the offline store remembers a digest of each run as last pushed to each
server; a run whose record has not changed since is not sent again. A changed run (a run still
growing) is sent whole and the server adds only what it lacks: new points, tags, a new status.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

from labkeep.transfer.base import Source
from labkeep.transfer.records import Problem

LEDGER = "sync-ledger.json"


def _digest(rec: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(rec, sort_keys=True, default=repr).encode()).hexdigest()


class Ledger:
    """{server: {run_id: digest}} in the offline folder, saved after every pushed run."""

    def __init__(self, folder: str, target: str) -> None:
        self.path = os.path.join(folder, LEDGER)
        self.target = target
        try:
            with open(self.path, encoding="utf-8") as f:
                self.data = json.load(f)
        except (OSError, ValueError):
            self.data = {}
        self.runs: dict[str, str] = self.data.setdefault(target, {})

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)


class LedgerSource(Source):
    """Wraps a source: runs whose digest matches the ledger are left out (counted as unchanged)."""

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
            if isinstance(rec, dict) and self.ledger.runs.get(rec["run_id"]) == _digest(rec):
                self.skipped += 1
                continue
            yield rec

    def logged_models(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        return self.inner.logged_models(experiment_id)

    def registered_models(self) -> Iterator[dict[str, Any] | Problem]:
        return self.inner.registered_models()

    def artifact_repository(self, uri: str) -> Any:
        return self.inner.artifact_repository(uri)

    def close(self) -> None:
        self.inner.close()


class LedgerSink:
    """Wraps a sink: every run it accepts is recorded in the ledger."""

    def __init__(self, inner: Any, ledger: Ledger) -> None:
        self.inner, self.ledger = inner, ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def run(self, rec: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        status = self.inner.run(rec, *args, **kwargs)
        if not self.inner.dry_run:
            self.ledger.runs[rec["run_id"]] = _digest(rec)
            self.ledger.save()
        return status
