"""The records that move between stores, and the problems met on the way.

Every reader yields plain dicts of these shapes and every sink consumes them; the portable export
format (``export_dir.py``) is these dicts written as JSON lines, so the shapes are the format:

* ``experiment``: experiment_id, name, artifact_location, lifecycle_stage, creation_time,
  last_update_time, tags {key: value}
* ``run``: run_id, experiment_id, name, user_id, status (RUNNING…KILLED), start_time, end_time,
  deleted_time, artifact_uri, lifecycle_stage, params {}, tags {}, metrics [[key, value, ts, step]],
  inputs [{dataset: {name, digest, source_type, source, schema, profile}, tags {}}],
  outputs [{model_id, step}], model_inputs [model_id]
* ``logged_model``: model_id, experiment_id, name, artifact_location, creation_timestamp,
  last_updated_timestamp, status (int), lifecycle_stage, model_type, source_run_id,
  status_message, params {}, tags {}, metrics [[key, value, ts, step, run_id, dataset_name, dataset_digest]]
* ``registered_model``: name, creation_time, last_updated_time, description, tags {}, aliases
  {alias: version}, versions [{version, creation_time, last_updated_time, description, user_id,
  current_stage, source, storage_location, run_id, run_link, model_id, status, status_message, tags {}}]

Metric values are floats; in JSON, NaN and infinities are written as the strings "NaN",
"Infinity" and "-Infinity".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

RUN_STATUS_BY_NUMBER = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
RUN_STATUSES = frozenset(RUN_STATUS_BY_NUMBER.values())


def run_status(value: Any) -> str:
    """An MLflow run status (name or protobuf number) as its name; unknown values raise."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        name = RUN_STATUS_BY_NUMBER.get(int(value))
    else:
        name = str(value).upper() if value is not None else None
    if name not in RUN_STATUSES:
        raise ValueError(f"unknown run status {value!r}")
    return name


def encode_value(value: float) -> float | str:
    """A metric value JSON can carry (NaN and infinities as strings)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_value(value: float | str | int) -> float:
    return float(value)


@dataclass
class Problem:
    """One item that did not come across, and why."""

    kind: str  # experiment | run | artifacts | logged_model | registered_model | trace | source
    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.item}: {self.reason}"


@dataclass
class Summary:
    """What a transfer did: counts per kind (moved, unchanged) and the problems met."""

    moved: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False

    def count(self, kind: str, n: int = 1, changed: bool = True) -> None:
        target = self.moved if changed else self.unchanged
        target[kind] = target.get(kind, 0) + n

    def skip(self, kind: str, item: str, reason: str) -> None:
        self.problems.append(Problem(kind, item, reason))

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "moved": dict(self.moved),
            "unchanged": dict(self.unchanged),
            "skipped": [{"kind": p.kind, "item": p.item, "reason": p.reason} for p in self.problems],
        }

    def lines(self) -> list[str]:
        verb = "would move" if self.dry_run else "moved"
        kinds = sorted(set(self.moved) | set(self.unchanged))
        out = [
            f"{kind}: {verb} {self.moved.get(kind, 0)}, already there {self.unchanged.get(kind, 0)}"
            for kind in kinds
        ]
        if not kinds:
            out.append("nothing to move")
        if self.problems:
            out.append(f"skipped {len(self.problems)}:")
            out += [f"  {p}" for p in self.problems]
        return out
