"""Registered models, versions, tags and aliases into a labkeep SQL store (new items only)."""

from __future__ import annotations

from typing import Any

from labkeep.stores.sql.db import Database
from labkeep.stores.sql.db import upsert_sql as _upsert
from labkeep.utils.clock import now_ms


def rewrite_location(location: str | None, prefixes: dict[str, str]) -> str | None:
    """``location`` with the longest matching source prefix replaced by its destination."""
    if not location:
        return location
    for old in sorted(prefixes, key=len, reverse=True):
        if location == old or location.startswith(old.rstrip("/") + "/"):
            return prefixes[old] + location[len(old) :]
    return location


def write_registered_model(db: Database, rec: dict[str, Any], prefixes: dict[str, str], dry_run: bool) -> str:
    """ "new", "updated" or "unchanged" for one registered model record."""
    name = rec["name"]
    dialect = db.dialect
    with db.read() as cur:
        exists = cur.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone() is not None
        have_versions = {
            int(r[0])
            for r in cur.execute(
                "SELECT version FROM model_versions WHERE model_name = ?", (name,)
            ).fetchall()
        }
        have_tags: dict[str, str] = dict(
            cur.execute(
                "SELECT name, value FROM registered_model_tags WHERE model_name = ?", (name,)
            ).fetchall()
        )
        have_aliases = {
            a: int(v)
            for a, v in cur.execute(
                "SELECT alias, version FROM registered_model_aliases WHERE model_name = ?", (name,)
            ).fetchall()
        }
    new_versions = [v for v in rec["versions"] if int(v["version"]) not in have_versions]
    new_tags = [(name, k, v) for k, v in rec["tags"].items() if have_tags.get(k) != v]
    new_aliases = [(name, a, int(v)) for a, v in rec["aliases"].items() if have_aliases.get(a) != int(v)]
    if exists and not (new_versions or new_tags or new_aliases):
        return "unchanged"
    if dry_run:
        return "updated" if exists else "new"
    now = now_ms()
    with db.write() as cur:
        if not exists:
            cur.execute(
                "INSERT INTO registered_models (name, creation_time, last_updated_time, description, user_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    name,
                    rec.get("creation_time") or now,
                    rec.get("last_updated_time") or now,
                    rec.get("description"),
                    None,
                ),
            )
        for v in new_versions:
            cur.execute(
                "INSERT INTO model_versions (model_name, version, creation_time, last_updated_time, description,"
                " user_id, current_stage, source, storage_location, run_id, run_link, model_id, status,"
                " status_message, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    name,
                    int(v["version"]),
                    v.get("creation_time") or now,
                    v.get("last_updated_time") or now,
                    v.get("description"),
                    v.get("user_id"),
                    v.get("current_stage") or "None",
                    rewrite_location(v.get("source"), prefixes) or "",
                    rewrite_location(v.get("storage_location"), prefixes),
                    v.get("run_id"),
                    v.get("run_link"),
                    v.get("model_id"),
                    v.get("status") or "READY",
                    v.get("status_message"),
                ),
            )
            cur.executemany(
                "INSERT INTO model_version_tags (model_name, version, name, value) VALUES (?, ?, ?, ?)",
                [(name, int(v["version"]), k, val) for k, val in (v.get("tags") or {}).items()],
            )
        cur.executemany(
            _upsert(dialect, "registered_model_tags", ("model_name", "name"), ("value",)), new_tags
        )
        cur.executemany(
            _upsert(dialect, "registered_model_aliases", ("model_name", "alias"), ("version",)), new_aliases
        )
    return "updated" if exists else "new"
