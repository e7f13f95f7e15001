"""What the parts of the SQL model registry share: the database, row locks, entity building."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkeep.entities import ModelVersion, RegisteredModel
from labkeep.exceptions import ResourceDoesNotExist
from labkeep.registry.sources import SourceLookups
from labkeep.registry.store import current_user
from labkeep.registry.validation import validate_tag
from labkeep.stores.sql.db import Cursor, Database, Row

if TYPE_CHECKING:
    from labkeep.stores.base import TrackingStore

MODEL_VERSIONS_TAG = "mlflow.modelVersions"

MV_COLS = (
    "model_name, version, creation_time, last_updated_time, description, user_id, current_stage, "
    "source, run_id, run_link, model_id, status, status_message"
)


def now_ms() -> int:
    return int(time.time() * 1000)


class SqlRegistryCore:
    """The database handle, locks and row-to-entity builders shared by the registry parts."""

    store_uri: str
    default_artifact_root: str
    tracking_store: TrackingStore | None
    db: Database

    def _source_lookups(self) -> SourceLookups:
        """How model version sources are checked (given by the assembled store)."""
        raise NotImplementedError

    def _lock_model(self, cur: Cursor, name: str) -> None:
        """Raise unless the registered model exists; on PG/MySQL also lock its row until commit."""
        sql = "SELECT name FROM registered_models WHERE name = ?"
        if self.db.dialect != "sqlite":
            sql += " FOR UPDATE"
        if cur.execute(sql, (name,)).fetchone() is None:
            raise ResourceDoesNotExist(f"Registered Model with name={name} not found")

    def _require_version(self, cur: Cursor, name: str, version: int, for_update: bool = False) -> Row:
        sql = f"SELECT {MV_COLS} FROM model_versions WHERE model_name = ? AND version = ? AND deleted = 0"
        if for_update and self.db.dialect != "sqlite":
            sql += " FOR UPDATE"
        row = cur.execute(sql, (name, version)).fetchone()
        if row is None:
            if cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is None:
                raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
            raise ResourceDoesNotExist(f"Model Version (name={name}, version={version}) not found")
        return row

    def _touch_model(self, cur: Cursor, name: str, now: int) -> None:
        cur.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (now, name))

    def _record(
        self,
        cur: Cursor,
        name: str,
        version: int | None,
        kind: str,
        from_value: str | None,
        to_value: str | None,
        now: int,
        subject: str | None = None,
        comment: str | None = None,
    ) -> None:
        cur.execute(
            "INSERT INTO registry_events (model_name, version, kind, subject, from_value, to_value, "
            "user_id, ts, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, version, kind, subject, from_value, to_value, current_user(), now, comment),
        )

    def _versions_from_rows(self, cur: Cursor, rows: Sequence[Row]) -> list[ModelVersion]:
        """Build ModelVersion entities with their tags and aliases (two queries for the whole batch)."""
        if not rows:
            return []
        names = sorted({r[0] for r in rows})
        marks = ",".join("?" * len(names))
        wanted = {(r[0], int(r[1])) for r in rows}
        tags: dict[tuple[str, int], dict[str, str]] = {}
        aliases: dict[tuple[str, int], list[str]] = {}
        if len(wanted) == 1:
            (n, v) = next(iter(wanted))
            tag_rows = cur.execute(
                "SELECT model_name, version, name, value FROM model_version_tags "
                "WHERE model_name = ? AND version = ?",
                (n, v),
            ).fetchall()
            alias_rows = cur.execute(
                "SELECT model_name, version, alias FROM registered_model_aliases "
                "WHERE model_name = ? AND version = ? ORDER BY alias",
                (n, v),
            ).fetchall()
        else:
            tag_rows = cur.execute(
                f"SELECT model_name, version, name, value FROM model_version_tags WHERE model_name IN ({marks})",
                names,
            ).fetchall()
            alias_rows = cur.execute(
                "SELECT model_name, version, alias FROM registered_model_aliases "
                f"WHERE model_name IN ({marks}) ORDER BY alias",
                names,
            ).fetchall()
        for n, v, k, val in tag_rows:
            tags.setdefault((n, int(v)), {})[k] = val
        for n, v, a in alias_rows:
            aliases.setdefault((n, int(v)), []).append(a)
        out = []
        for r in rows:
            key = (r[0], int(r[1]))
            out.append(
                ModelVersion(
                    name=r[0],
                    version=str(r[1]),
                    creation_timestamp=int(r[2]),
                    last_updated_timestamp=int(r[3]),
                    description=r[4],
                    user_id=r[5],
                    current_stage=r[6],
                    source=r[7],
                    run_id=r[8],
                    run_link=r[9],
                    model_id=r[10],
                    status=r[11],
                    status_message=r[12],
                    tags=tags.get(key, {}),
                    aliases=aliases.get(key, []),
                )
            )
        return out

    def _models_from_rows(self, cur: Cursor, rows: Sequence[Row]) -> list[RegisteredModel]:
        """rows: (name, creation_time, last_updated_time, description, user_id)."""
        if not rows:
            return []
        names = [r[0] for r in rows]
        marks = ",".join("?" * len(names))
        tags: dict[str, dict[str, str]] = {}
        for n, k, v in cur.execute(
            f"SELECT model_name, name, value FROM registered_model_tags WHERE model_name IN ({marks})", names
        ).fetchall():
            tags.setdefault(n, {})[k] = v
        aliases: dict[str, dict[str, str]] = {}
        for n, a, v in cur.execute(
            "SELECT model_name, alias, version FROM registered_model_aliases "
            f"WHERE model_name IN ({marks}) ORDER BY alias",
            names,
        ).fetchall():
            aliases.setdefault(n, {})[a] = str(v)
        latest_rows = cur.execute(
            f"SELECT {', '.join('mv.' + c.strip() for c in MV_COLS.split(','))} FROM model_versions mv "
            "JOIN (SELECT model_name AS n, MAX(version) AS v FROM model_versions "
            f"WHERE deleted = 0 AND model_name IN ({marks}) GROUP BY model_name, current_stage) t "
            "ON mv.model_name = t.n AND mv.version = t.v ORDER BY mv.version",
            names,
        ).fetchall()
        latest: dict[str, list[ModelVersion]] = {}
        for mv in self._versions_from_rows(cur, latest_rows):
            latest.setdefault(mv.name, []).append(mv)
        return [
            RegisteredModel(
                name=r[0],
                creation_timestamp=int(r[1]),
                last_updated_timestamp=int(r[2]),
                description=r[3],
                user_id=r[4],
                latest_versions=latest.get(r[0], []),
                tags=tags.get(r[0], {}),
                aliases=aliases.get(r[0], {}),
            )
            for r in rows
        ]

    def _get_model(self, cur: Cursor, name: str) -> RegisteredModel:
        row = cur.execute(
            "SELECT name, creation_time, last_updated_time, description, user_id FROM registered_models "
            "WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
        return self._models_from_rows(cur, [row])[0]

    def _get_version(self, cur: Cursor, name: str, version: int) -> ModelVersion:
        return self._versions_from_rows(cur, [self._require_version(cur, name, version)])[0]



def tag_rows(tags: Sequence[Any] | dict[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not tags:
        return out
    items = tags.items() if isinstance(tags, dict) else ((t.key, t.value) for t in tags)
    for key, value in items:
        k, v = validate_tag(key, value)
        out[k] = v
    return out

