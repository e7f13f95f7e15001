"""Aliases and the promotion history in the SQL model registry."""

from __future__ import annotations

from typing import Any

from labkeep.entities import ModelVersion, PromotionEvent
from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.registry.validation import (
    validate_alias,
    validate_comment,
    validate_model_name,
    validate_version,
)
from labkeep.stores.sql.registry_core import now_ms
from labkeep.stores.sql.registry_versions import ModelVersionsMixin


class AliasesMixin(ModelVersionsMixin):
    """Aliases pointing at versions, and the recorded history of stage and alias moves."""

    def set_registered_model_alias(
        self, name: str, alias: str, version: str, comment: str | None = None
    ) -> None:
        validate_model_name(name)
        validate_alias(alias)
        number = validate_version(version)
        comment = validate_comment(comment)
        now = now_ms()
        with self.db.write() as cur:
            self._lock_model(cur, name)
            self._require_version(cur, name, number)
            row = cur.execute(
                "SELECT version FROM registered_model_aliases WHERE model_name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            previous = None if row is None else int(row[0])
            if previous == number:
                return  # already there: nothing moved, nothing to record
            if previous is None:
                cur.execute(
                    "INSERT INTO registered_model_aliases (model_name, alias, version) VALUES (?, ?, ?)",
                    (name, alias, number),
                )
            else:
                cur.execute(
                    "UPDATE registered_model_aliases SET version = ? WHERE model_name = ? AND alias = ?",
                    (number, name, alias),
                )
            self._record(
                cur,
                name,
                number,
                "alias",
                None if previous is None else str(previous),
                str(number),
                now,
                subject=alias,
                comment=comment,
            )
            self._touch_model(cur, name, now)

    def delete_registered_model_alias(self, name: str, alias: str, comment: str | None = None) -> None:
        validate_model_name(name)
        validate_alias(alias)
        comment = validate_comment(comment)
        now = now_ms()
        with self.db.write() as cur:
            self._lock_model(cur, name)
            row = cur.execute(
                "SELECT version FROM registered_model_aliases WHERE model_name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            if row is None:
                return  # mlflow treats deleting a missing alias as done
            cur.execute(
                "DELETE FROM registered_model_aliases WHERE model_name = ? AND alias = ?", (name, alias)
            )
            self._record(
                cur, name, int(row[0]), "alias", str(row[0]), None, now, subject=alias, comment=comment
            )
            self._touch_model(cur, name, now)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        validate_model_name(name)
        if not isinstance(alias, str) or not alias:
            raise InvalidParameterValue("Alias cannot be empty.")
        with self.db.read() as cur:
            row = cur.execute(
                "SELECT version FROM registered_model_aliases WHERE model_name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            if row is None:
                if cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is None:
                    raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
                raise ResourceDoesNotExist(f"Registered model alias {alias} not found on model {name}.")
            return self._get_version(cur, name, int(row[0]))

    # ------------------------------------------------------------------ history
    def get_promotion_history(self, name: str, version: str | None = None) -> list[PromotionEvent]:
        validate_model_name(name)
        sql = (
            "SELECT event_id, model_name, version, kind, subject, from_value, to_value, user_id, ts, comment "
            "FROM registry_events WHERE model_name = ?"
        )
        params: list[Any] = [name]
        if version is not None:
            sql += " AND version = ?"
            params.append(validate_version(version))
        sql += " ORDER BY ts, event_id"
        with self.db.read() as cur:
            rows = cur.execute(sql, params).fetchall()
            if not rows and version is None:
                if cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is None:
                    raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
        return [
            PromotionEvent(
                event_id=int(r[0]),
                name=r[1],
                version=None if r[2] is None else str(r[2]),
                kind=r[3],
                subject=r[4],
                from_value=r[5],
                to_value=r[6],
                user_id=r[7],
                timestamp=int(r[8]),
                comment=r[9],
            )
            for r in rows
        ]

