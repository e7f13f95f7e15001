"""``?`` statements on PostgreSQL and MySQL/MariaDB: compiled by SQLAlchemy into the driver's style."""

from __future__ import annotations

import pytest

from labkeep.stores.sql.db import open_database, qmark_to_named


def test_marks_outside_literals_become_numbered_binds():
    sql = "SELECT a::text, '?:x', \"q?\" FROM t WHERE b = ? AND c LIKE 'it''s ?' AND d IN (?, ?)"
    assert qmark_to_named(sql) == (
        "SELECT a\\:\\:text, '?\\:x', \"q?\" FROM t WHERE b = :p0 AND c LIKE 'it''s ?' AND d IN (:p1, :p2)"
    )


def test_statements_keep_literals_casts_and_percent_signs(db_uri):
    if db_uri.startswith("sqlite"):
        pytest.skip("SQLite's driver takes ? itself")
    db = open_database(db_uri)
    try:
        text_type = "text" if db.dialect == "postgresql" else "char"
        sql = f"SELECT CAST(? AS {text_type}), '?:x', 'a%b' LIKE ?, 'a%b' LIKE 'a%', ?"
        with db.read() as cur:
            row = cur.execute(sql, ("hi", "a%", 3)).one()
        assert (row[0], row[1], bool(row[2]), bool(row[3]), int(row[4])) == ("hi", "?:x", True, True, 3)
        if db.dialect == "postgresql":
            with db.read() as cur:
                assert cur.execute("SELECT CAST(? AS int)::text", (7,)).one() == ("7",)
        assert db.native_sql("SELECT ?") is db.native_sql("SELECT ?")  # compiled once
    finally:
        db.close()
