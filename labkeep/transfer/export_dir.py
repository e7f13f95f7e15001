"""The portable export folder: JSON lines of the records in ``records.py`` plus artifact files.

Layout::

    manifest.json                      {"format": "labkeep-export", "version": 1}
    experiments.jsonl                  one experiment record a line
    runs/<experiment_id>.jsonl         one run record a line (params, tags, every metric point…)
    logged_models/<experiment_id>.jsonl
    traces/<experiment_id>.jsonl       one trace a line with its spans
    registered_models.jsonl
    artifacts/<experiment_id>/<run_id>/artifacts/…   artifact files, as in the store
    artifacts/<experiment_id>/models/<model_id>/artifacts/…

Files are only appended to; when an id appears twice, the last line wins. So exporting again adds
only what changed, an interrupted export resumes, and a torn last line (a killed process) is
ignored on reading. Artifact locations inside the folder are stored relative to it, so the folder
can be moved or archived.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

from labkeep.transfer.base import Source
from labkeep.transfer.records import Problem, encode_value

FORMAT = "labkeep-export"
VERSION = 1


def is_export_dir(path: str) -> bool:
    try:
        with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
            return json.load(f).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def _dumps(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _jsonable_run(rec: dict[str, Any]) -> dict[str, Any]:
    out = dict(rec)
    out["metrics"] = [[p[0], encode_value(float(p[1])), *p[2:]] for p in rec["metrics"]]
    return out


def _read_lines(path: str) -> Iterator[dict[str, Any]]:
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:  # a torn last line from an interrupted export
                continue


def _last_wins(path: str, key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for rec in _read_lines(path):
        out[str(rec[key])] = rec
    return out


class ExportDirSink:
    """Writes records into an export folder (see the module docstring)."""

    def __init__(self, root: str, dry_run: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.dry_run = dry_run
        self.description = f"export folder {self.root}"
        if os.path.exists(self.root) and os.listdir(self.root) and not is_export_dir(self.root):
            from labkeep.exceptions import InvalidParameterValue

            raise InvalidParameterValue(
                f"{self.root} exists and is not a labkeep export folder; pick an empty folder."
            )
        if not dry_run:
            os.makedirs(os.path.join(self.root, "runs"), exist_ok=True)
            os.makedirs(os.path.join(self.root, "logged_models"), exist_ok=True)
            with open(os.path.join(self.root, "manifest.json"), "w", encoding="utf-8") as f:
                json.dump({"format": FORMAT, "version": VERSION}, f)
        self._experiments = _last_wins(os.path.join(self.root, "experiments.jsonl"), "experiment_id")
        self._digests: dict[str, dict[str, str]] = {}
        self._registered = {
            k: _digest(v)
            for k, v in _last_wins(os.path.join(self.root, "registered_models.jsonl"), "name").items()
        }

    def close(self) -> None:
        pass

    def _append(self, rel: str, rec: dict[str, Any]) -> None:
        with open(os.path.join(self.root, rel), "a", encoding="utf-8") as f:
            f.write(_dumps(rec) + "\n")

    def _relative(self, uri: str) -> str:
        if uri.startswith(self.root + os.sep):
            return os.path.relpath(uri, self.root).replace(os.sep, "/")
        return uri

    def _known(self, folder: str, exp_id: str, key: str) -> dict[str, str]:
        cache_key = f"{folder}/{exp_id}"
        if cache_key not in self._digests:
            recs = _last_wins(os.path.join(self.root, folder, f"{exp_id}.jsonl"), key)
            self._digests[cache_key] = {k: _digest(v) for k, v in recs.items()}
        return self._digests[cache_key]

    def experiment(self, rec: dict[str, Any], keep_location: bool) -> tuple[str, str, bool]:
        exp_id = str(rec["experiment_id"])
        location = os.path.join(self.root, "artifacts", exp_id)
        out = dict(
            rec, artifact_location=rec["artifact_location"] if keep_location else f"artifacts/{exp_id}"
        )
        changed = _digest(self._experiments.get(exp_id)) != _digest(out)
        if changed and not self.dry_run:
            self._append("experiments.jsonl", out)
            self._experiments[exp_id] = out
        return exp_id, location, changed

    def run(
        self, rec: dict[str, Any], exp_id: str, artifact_uri: str, model_points: dict | None = None
    ) -> str:
        out = _jsonable_run(dict(rec, artifact_uri=self._relative(artifact_uri), experiment_id=exp_id))
        return self._put("runs", exp_id, "run_id", out)

    def _put(self, folder: str, exp_id: str, key: str, out: dict[str, Any]) -> str:
        """Append ``out`` unless the same record is already there; "new", "updated" or "unchanged"."""
        known = self._known(folder, exp_id, key)
        digest = _digest(out)
        if known.get(out[key]) == digest:
            return "unchanged"
        status = "updated" if out[key] in known else "new"
        if not self.dry_run:
            os.makedirs(os.path.join(self.root, folder), exist_ok=True)
            self._append(f"{folder}/{exp_id}.jsonl", out)
            known[out[key]] = digest
        return status

    def logged_model(self, rec: dict[str, Any], exp_id: str, artifact_location: str) -> str:
        out = dict(rec, artifact_location=self._relative(artifact_location), experiment_id=exp_id)
        out["metrics"] = [[p[0], encode_value(float(p[1])), *p[2:]] for p in rec["metrics"]]
        return self._put("logged_models", exp_id, "model_id", out)

    def trace(self, rec: dict[str, Any], exp_id: str) -> str:
        return self._put("traces", exp_id, "trace_id", dict(rec, experiment_id=exp_id))

    def registered_model(self, rec: dict[str, Any], prefixes: dict[str, str]) -> str:
        from labkeep.transfer.sql_registry import rewrite_location

        out = dict(rec)
        out["versions"] = [
            dict(
                v,
                source=self._relative(rewrite_location(v.get("source"), prefixes) or ""),
                storage_location=self._relative(rewrite_location(v.get("storage_location"), prefixes) or "")
                or None,
            )
            for v in rec["versions"]
        ]
        digest = _digest(out)
        if self._registered.get(rec["name"]) == digest:
            return "unchanged"
        status = "updated" if rec["name"] in self._registered else "new"
        if not self.dry_run:
            self._append("registered_models.jsonl", out)
            self._registered[rec["name"]] = digest
        return status


def _digest(rec: dict[str, Any] | None) -> str:
    return "" if rec is None else hashlib.sha1(_dumps(rec).encode()).hexdigest()


class ExportDirSource(Source):
    """Reads an export folder back (into any sink: a labkeep store, a server, another folder)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.description = f"export folder {self.root}"

    def _absolute(self, uri: str | None) -> str | None:
        if uri and "://" not in uri and not uri.startswith(("/", "models:", "runs:")):
            return os.path.join(self.root, uri)
        return uri

    def experiments(self) -> list[dict[str, Any] | Problem]:
        recs = _last_wins(os.path.join(self.root, "experiments.jsonl"), "experiment_id").values()
        return [dict(r, artifact_location=self._absolute(r["artifact_location"])) for r in recs]

    def _records(self, folder: str, exp_id: str, key: str) -> list[dict[str, Any]]:
        return list(_last_wins(os.path.join(self.root, folder, f"{exp_id}.jsonl"), key).values())

    def count_runs(self, experiment_id: str) -> int:
        return len(self._records("runs", experiment_id, "run_id"))

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        for rec in self._records("runs", experiment_id, "run_id"):
            rec["metrics"] = [[p[0], float(p[1]), *p[2:]] for p in rec["metrics"]]
            rec["artifact_uri"] = self._absolute(rec["artifact_uri"])
            yield rec

    def logged_models(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        for rec in self._records("logged_models", experiment_id, "model_id"):
            rec["metrics"] = [[p[0], float(p[1]), *p[2:]] for p in rec["metrics"]]
            rec["artifact_location"] = self._absolute(rec["artifact_location"])
            yield rec

    def traces(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        yield from self._records("traces", experiment_id, "trace_id")

    def registered_models(self) -> Iterator[dict[str, Any] | Problem]:
        for rec in _last_wins(os.path.join(self.root, "registered_models.jsonl"), "name").values():
            for v in rec["versions"]:
                v["source"] = self._absolute(v.get("source")) or ""
                v["storage_location"] = self._absolute(v.get("storage_location"))
            yield rec
