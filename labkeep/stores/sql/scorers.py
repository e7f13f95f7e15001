"""Registered scorers: versioned, serialized GenAI scorers kept per experiment (mlflow 3's scorer API).

Registering a name again adds the next version; all versions of one name share a ``scorer_id``.
The serialized scorer is stored as given (a JSON document written by the client) and never run here.
"""

from __future__ import annotations

import uuid
from typing import Any

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.stores.sql.db import Database
from labkeep.utils.clock import now_ms

NAME_MAX = 256
SERIALIZED_MAX = 16 * 1024 * 1024
_RETRIES = 5
_COLS = "experiment_id, name, version, scorer_id, serialized_scorer, creation_time"


def _row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    exp, name, version, scorer_id, serialized, created = row
    return {
        "experiment_id": int(exp),
        "scorer_name": name,
        "scorer_version": int(version),
        "serialized_scorer": serialized,
        "creation_time": int(created),
        "scorer_id": scorer_id,
    }


def _exp_id(experiment_id: Any) -> int:
    if not str(experiment_id).isdigit():
        raise InvalidParameterValue(f"Invalid experiment_id {experiment_id!r}: must be an integer id.")
    return int(experiment_id)


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterValue("Missing value for required parameter 'name'.")
    if len(name) > NAME_MAX:
        raise InvalidParameterValue(
            f"Scorer name is {len(name)} characters long; at most {NAME_MAX} are allowed."
        )
    return name


class SqlScorerStore:
    """Register, list, read and delete scorer versions in the ``scorers`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _require_experiment(self, cur: Any, exp: int) -> None:
        if not cur.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", (exp,)).fetchone():
            raise ResourceDoesNotExist(f"No Experiment with id={exp} exists")

    def register_scorer(self, experiment_id: Any, name: Any, serialized_scorer: Any) -> dict[str, Any]:
        """Store the next version of ``name`` and return it."""
        exp, name = _exp_id(experiment_id), _name(name)
        if not isinstance(serialized_scorer, str) or not serialized_scorer:
            raise InvalidParameterValue("Missing value for required parameter 'serialized_scorer'.")
        if len(serialized_scorer) > SERIALIZED_MAX:
            raise InvalidParameterValue(f"serialized_scorer is larger than {SERIALIZED_MAX} characters.")
        for attempt in range(_RETRIES):
            try:
                with self.db.write() as cur:
                    self._require_experiment(cur, exp)
                    row = cur.execute(
                        "SELECT MAX(version), MIN(scorer_id) FROM scorers WHERE experiment_id = ? AND name = ?",
                        (exp, name),
                    ).one()
                    version = int(row[0] or 0) + 1
                    scorer_id = row[1] or uuid.uuid4().hex
                    values = (exp, name, version, scorer_id, serialized_scorer, now_ms())
                    cur.execute(f"INSERT INTO scorers ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)", values)
                return _row_dict(values)
            except Exception as exc:  # a concurrent register took this version: take the next one
                if not self.db.is_integrity_error(exc) or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def list_scorers(self, experiment_ids: list[Any]) -> list[dict[str, Any]]:
        """The latest version of every scorer of the experiments, by experiment and name."""
        ids = [_exp_id(e) for e in experiment_ids]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self.db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLS} FROM scorers s WHERE experiment_id IN ({marks}) AND version = ("
                " SELECT MAX(version) FROM scorers m WHERE m.experiment_id = s.experiment_id AND m.name = s.name)"
                " ORDER BY experiment_id, name",
                tuple(ids),
            ).fetchall()
        return [_row_dict(r) for r in rows]

    def list_scorer_versions(self, experiment_id: Any, name: Any) -> list[dict[str, Any]]:
        exp, name = _exp_id(experiment_id), _name(name)
        with self.db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLS} FROM scorers WHERE experiment_id = ? AND name = ? ORDER BY version",
                (exp, name),
            ).fetchall()
        if not rows:
            raise ResourceDoesNotExist(f"Scorer with name '{name}' not found for experiment {exp}.")
        return [_row_dict(r) for r in rows]

    def get_scorer(self, experiment_id: Any, name: Any, version: int | None = None) -> dict[str, Any]:
        """One version of a scorer; the latest when ``version`` is None."""
        exp, name = _exp_id(experiment_id), _name(name)
        sql = f"SELECT {_COLS} FROM scorers WHERE experiment_id = ? AND name = ?"
        args: tuple[Any, ...] = (exp, name)
        if version is not None:
            sql += " AND version = ?"
            args += (int(version),)
        with self.db.read() as cur:
            row = cur.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
        if row is None:
            which = f" version {version}" if version is not None else ""
            raise ResourceDoesNotExist(f"Scorer with name '{name}'{which} not found for experiment {exp}.")
        return _row_dict(row)

    def delete_scorer(self, experiment_id: Any, name: Any, version: int | None = None) -> None:
        """Delete one version, or every version when ``version`` is None."""
        exp, name = _exp_id(experiment_id), _name(name)
        sql = "DELETE FROM scorers WHERE experiment_id = ? AND name = ?"
        args: tuple[Any, ...] = (exp, name)
        if version is not None:
            sql += " AND version = ?"
            args += (int(version),)
        with self.db.write() as cur:
            deleted = cur.execute(sql, args).rowcount
        if not deleted:
            which = f" version {version}" if version is not None else ""
            raise ResourceDoesNotExist(f"Scorer with name '{name}'{which} not found for experiment {exp}.")
