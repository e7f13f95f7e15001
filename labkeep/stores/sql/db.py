"""Database access for the SQL stores: one small adapter over SQLite, PostgreSQL and MySQL.

Queries are written once with ``?`` placeholders and run through the DBAPI driver directly:

* SQLite (the embedded default) uses the standard library's ``sqlite3``: opening the store costs
  milliseconds instead of importing SQLAlchemy. WAL mode, a long busy timeout and ``BEGIN
  IMMEDIATE`` for every write transaction serialize writers, so many processes writing one file
  wait their turn instead of failing with "database is locked".
* PostgreSQL and MySQL/MariaDB go through a SQLAlchemy engine (URL parsing, drivers, pooling);
  statements run on the pooled DBAPI connection, each ``?`` statement compiled once by
  SQLAlchemy's ``text()`` into the driver's paramstyle.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast

from labkeep import config
from labkeep.exceptions import InvalidParameterValue, TemporarilyUnavailable

SQLITE_BUSY_TIMEOUT_S = 120.0
IN_LIST_CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit

Row = tuple[Any, ...]
"""One table row as column values in order: a row the driver returns, or one INSERT's parameters."""


def chunks(items: Sequence[Any], size: int = IN_LIST_CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``size`` (for IN lists)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def placeholders(n: int) -> str:
    """``?, ?, …`` with ``n`` marks."""
    return ", ".join("?" * n)


def upsert_sql(dialect: str, table: str, keys: tuple[str, ...], cols: tuple[str, ...]) -> str:
    """INSERT … that overwrites ``cols`` when the row with ``keys`` exists."""
    all_cols = keys + cols
    if dialect == "mysql":
        updates = ", ".join(f"{table}.{c} = src.{c}" for c in cols)
        return mysql_upsert_head(table, all_cols) + updates
    base = f"INSERT INTO {table} ({', '.join(all_cols)}) VALUES ({placeholders(len(all_cols))})"
    return (
        base
        + f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in cols)
    )


def mysql_upsert_head(table: str, cols: tuple[str, ...]) -> str:
    """``INSERT … ON DUPLICATE KEY UPDATE`` up to its assignments, for MySQL and MariaDB alike.

    The new row comes from a derived table ``src`` (one ``?`` per column) instead of ``VALUES(col)``,
    which MySQL deprecates since 8.0.20, or its ``AS alias`` row form, which MariaDB lacks; both
    servers accept an INSERT … SELECT whose assignments name the derived table's columns.
    """
    row = ", ".join(f"? AS {c}" for c in cols)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT * FROM (SELECT {row}) AS src ON DUPLICATE KEY UPDATE "
    )


def _unreachable(shown: str, exc: BaseException) -> TemporarilyUnavailable:
    """The one error every backend gives when its database cannot be opened.

    ``shown`` is the URI as it may be printed (its password masked).
    """
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return TemporarilyUnavailable(
        f"Cannot open the database {shown}: {detail}. Check that the server is running, the database "
        "exists (labkeep db upgrade creates the tables, not the database) and the URI is right."
    )


class Cursor:
    """A DBAPI cursor that accepts ``?`` placeholders on every backend.

    ``native`` turns a ``?`` statement into the driver's own (None: the driver takes ``?``).
    """

    __slots__ = ("_cur", "_native")

    def __init__(self, cur: Any, native: Callable[[str], str] | None = None) -> None:
        self._cur = cur
        self._native = native

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._cur.execute(self._native(sql) if self._native else sql, params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        if rows:
            self._cur.executemany(self._native(sql) if self._native else sql, rows)
        return self

    # The driver's cursor is untyped; its rows are tuples (sqlite3, psycopg, PyMySQL) by DBAPI contract.
    def fetchall(self) -> list[Row]:
        return cast("list[Row]", self._cur.fetchall())

    def fetch_each(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The rows of each ``(sql, params)`` statement, in order. With psycopg they travel in one
        round trip (pipeline mode) instead of one each; other drivers run them one by one."""
        conn = getattr(self._cur, "connection", None)
        if conn is None or not hasattr(conn, "pipeline") or not _psycopg_pipelines():
            return [self.execute(sql, params).fetchall() for sql, params in statements]
        cursors = [conn.cursor() for _ in statements]
        with conn.pipeline():
            for cur, (sql, params) in zip(cursors, statements, strict=True):
                cur.execute(self._native(sql) if self._native else sql, params)
        try:
            return [cast("list[Row]", cur.fetchall()) for cur in cursors]
        finally:
            for cur in cursors:
                cur.close()

    def fetchmany(self, size: int) -> list[Row]:
        return cast("list[Row]", self._cur.fetchmany(size))

    def fetchone(self) -> Row | None:
        return cast("Row | None", self._cur.fetchone())

    def one(self) -> Row:
        """The first row of a query that always yields one (an aggregate, or a key known to exist)."""
        row = self.fetchone()
        if row is None:
            raise LookupError("The query returned no row where one was expected.")
        return row

    @property
    def rowcount(self) -> int:
        return cast(int, self._cur.rowcount)


@lru_cache(maxsize=1)
def _psycopg_pipelines() -> bool:
    """psycopg's pipeline mode needs libpq 14 or newer (psycopg-binary bundles one)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def qmark_to_named(sql: str) -> str:
    """``?`` placeholders as SQLAlchemy ``text()`` binds ``:p0, :p1, …`` in order.

    Marks inside quoted literals or identifiers stay as they are, and every other colon is
    escaped so that ``text()`` reads no bind into a PostgreSQL cast (``x::text``).
    """
    out: list[str] = []
    quote = ""
    n = 0
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
            out.append("\\:" if ch == ":" else ch)
        elif ch in "'\"`":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append(f":p{n}")
            n += 1
        else:
            out.append("\\:" if ch == ":" else ch)
    return "".join(out)


class Database:
    """Connections and transactions for one database URI.

    ``read()`` and ``write()`` yield a ``Cursor``; ``write()`` commits on success and rolls back
    on any error, so a failed operation leaves nothing half-written.
    """

    dialect: str

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @contextmanager
    def read(self, binary: bool = False) -> Iterator[Cursor]:
        """A cursor for reading. ``binary``: ask for results in the driver's binary format where it
        has one (PostgreSQL), which spares parsing numbers from text on long reads."""
        raise NotImplementedError

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        raise NotImplementedError

    @contextmanager
    def one_statement(self) -> Iterator[Cursor]:
        """A cursor for a write made of a single statement, which is atomic on its own.

        On a database server it runs without an explicit transaction (autocommit), so the write
        costs one round trip instead of three (BEGIN, the statement, COMMIT). Elsewhere it is
        an ordinary ``write()``.
        """
        with self.write() as cur:
            yield cur

    def refresh_statistics(self) -> None:
        """Keep the query planner's statistics current (only SQLite needs help)."""

    def is_integrity_error(self, exc: BaseException) -> bool:
        """True when ``exc`` is the driver's constraint violation (a duplicate key, say)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def sqlite_path_from_uri(uri: str) -> str:
    """``sqlite:///relative.db`` / ``sqlite:////abs.db`` -> a filesystem path."""
    if not uri.startswith("sqlite:///"):
        raise InvalidParameterValue(f"Not a SQLite URI: {uri!r}; expected sqlite:///path/to/file.db")
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        raise InvalidParameterValue("An in-memory SQLite store cannot be shared; give a file path.")
    return os.path.abspath(path)


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.path = sqlite_path_from_uri(uri)
        self._lock = threading.RLock()
        self._conn: Any = None
        self._pid = -1
        self._local = threading.local()  # per-thread read connection; "inside a write" flag
        self._stats_checked_at = -1e9

    def _open(self) -> Any:
        import sqlite3

        try:
            conn = sqlite3.connect(
                self.path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            # WAL lets readers work while one writer commits; it persists in the file once set.
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:  # a missing folder, a file that isn't a database
            raise _unreachable(self.uri, exc) from None  # a SQLite URI holds no password
        # WAL commits survive a killed process; NORMAL skips the fsync per commit.
        conn.execute("PRAGMA synchronous = NORMAL")
        # Checkpoint (copy the WAL into the database file) every ~40 MB instead of every 4 MB:
        # bulk metric logging spends a fifth of its time in checkpoints at the default.
        conn.execute("PRAGMA wal_autocheckpoint = 10000")
        conn.execute("PRAGMA case_sensitive_like = ON")
        conn.execute("PRAGMA foreign_keys = OFF")
        return conn

    def _connection(self) -> Any:
        """The process's write connection (writes are serialized by ``self._lock``)."""
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._open()
            self._pid = os.getpid()
        return self._conn

    def _reader(self) -> Any:
        """This thread's read connection: a long read never holds up writers or other readers."""
        local = self._local
        if getattr(local, "conn", None) is None or local.pid != os.getpid():
            local.conn = self._open()
            local.pid = os.getpid()
        return local.conn

    @contextmanager
    def read(self, binary: bool = False) -> Iterator[Cursor]:
        if getattr(self._local, "in_write", False):
            # Inside a write transaction on this thread: read through it to see its own changes.
            yield Cursor(self._conn.cursor())
            return
        yield Cursor(self._reader().cursor())

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            self._local.in_write = True
            try:
                yield Cursor(conn.cursor())
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                self._local.in_write = False
            conn.execute("COMMIT")

    def refresh_statistics(self) -> None:
        """Re-ANALYZE when ``runs`` has grown well past its last statistics (at most once a minute).

        Without statistics SQLite's planner probes every run of an experiment instead of starting
        from a selective param/metric index; PostgreSQL and MySQL keep their statistics themselves.
        """
        import time

        now = time.monotonic()
        if now - self._stats_checked_at < 60:
            return
        self._stats_checked_at = now
        with self.read() as cur:
            rows = cur.execute("SELECT MAX(rowid) FROM runs").one()[0] or 0
            if rows < 1000:
                return
            try:
                stat = cur.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'runs' LIMIT 1").fetchone()
            except Exception:  # no sqlite_stat1 table yet
                stat = None
        analyzed = int(stat[0].split()[0]) if stat else 0
        if rows > 2 * analyzed:
            with self._lock:
                conn = self._connection()
                conn.execute("PRAGMA analysis_limit = 1000")
                conn.execute("ANALYZE")

    def is_integrity_error(self, exc: BaseException) -> bool:
        import sqlite3

        return isinstance(exc, sqlite3.IntegrityError)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
        reader = getattr(self._local, "conn", None)
        if reader is not None and self._local.pid == os.getpid():
            reader.close()
        self._local.conn = None


class SqlAlchemyDatabase(Database):
    """PostgreSQL or MySQL/MariaDB through a pooled SQLAlchemy engine."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        from sqlalchemy import create_engine, text

        self.engine = create_engine(
            normalize_sqlalchemy_uri(uri),
            pool_size=config.SQL_POOL_SIZE.integer(),
            max_overflow=config.SQL_MAX_OVERFLOW.integer(),
            pool_recycle=1800,
        )
        _ping_when_idle(self.engine)
        name = self.engine.dialect.name
        self.dialect = "mysql" if name in ("mysql", "mariadb") else name
        # SQLAlchemy writes each statement in the driver's positional paramstyle (``%s`` for
        # psycopg and PyMySQL, with literal ``%`` doubled); compiled once per statement text.
        dialect_class: Any = type(self.engine.dialect)  # a DefaultDialect, which takes paramstyle
        compiler_dialect = dialect_class(paramstyle="format")
        self.native_sql: Callable[[str], str] = lru_cache(maxsize=2048)(
            lambda sql: str(text(qmark_to_named(sql)).compile(dialect=compiler_dialect))
        )
        self._pid = os.getpid()
        self._stats_checked_at = -1e9

    def _raw(self) -> Any:
        if self._pid != os.getpid():  # never share pooled sockets across a fork
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        try:
            return self.engine.raw_connection()
        except Exception as exc:  # the driver's OperationalError, wrapped by SQLAlchemy
            raise _unreachable(self.engine.url.render_as_string(hide_password=True), exc) from None

    def is_integrity_error(self, exc: BaseException) -> bool:
        dbapi = self.engine.dialect.dbapi
        return dbapi is not None and isinstance(exc, dbapi.IntegrityError)

    @contextmanager
    def _checkout(self, autocommit: bool = False) -> Iterator[Any]:
        """A pooled connection, in autocommit mode if asked (and back out of it afterwards);
        a lost connection becomes TemporarilyUnavailable and is dropped from the pool."""
        raw = self._raw()
        try:
            if autocommit:
                _set_autocommit(raw.dbapi_connection, True)
            try:
                yield raw
            finally:
                if autocommit:
                    _set_autocommit(raw.dbapi_connection, False)
        except Exception as exc:
            if _connection_lost(exc):
                raise self._unavailable(raw, exc) from None
            raise
        finally:
            raw.close()

    @contextmanager
    def read(self, binary: bool = False) -> Iterator[Cursor]:
        # PostgreSQL reads run without BEGIN/ROLLBACK: under its default READ COMMITTED each
        # statement takes its own snapshot even inside a transaction, so the transaction only
        # cost two round trips. MySQL's REPEATABLE READ does give a read one snapshot: kept there.
        postgres = self.dialect == "postgresql"
        with self._checkout(autocommit=postgres) as raw:
            cur = raw.cursor(binary=True) if binary and postgres else raw.cursor()
            yield Cursor(cur, self.native_sql)
            raw.rollback()

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        with self._checkout() as raw:
            try:
                yield Cursor(raw.cursor(), self.native_sql)
            except BaseException:
                _quiet_rollback(raw)
                raise
            raw.commit()

    @contextmanager
    def one_statement(self) -> Iterator[Cursor]:
        with self._checkout(autocommit=True) as raw:
            yield Cursor(raw.cursor(), self.native_sql)

    def _unavailable(self, raw: Any, exc: BaseException) -> TemporarilyUnavailable:
        """Drop the pooled connection (the next checkout opens a new one) and say to retry."""
        try:
            raw.invalidate()
        except Exception:
            pass
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return TemporarilyUnavailable(
            f"The database is unavailable or busy ({detail}). Retry the request."
        )

    def refresh_statistics(self) -> None:
        """ANALYZE the search tables on PostgreSQL when many rows changed since the last analyze.

        Right after a bulk load, before autovacuum catches up, PostgreSQL's planner can pick
        nested loops that take seconds; MySQL recomputes InnoDB statistics by itself.
        """
        import time

        if self.dialect != "postgresql":
            return
        now = time.monotonic()
        if now - self._stats_checked_at < 60:
            return
        self._stats_checked_at = now
        with self.read() as cur:
            rows = cur.execute(
                "SELECT relname, n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables"
                " WHERE relname IN ('runs', 'params', 'tags', 'latest_metrics')"
            ).fetchall()
        # A few hundred new rows in a table never analyzed are enough for the planner to think
        # "one row" and pick nested loops over whole index ranges (seconds for 800 runs).
        stale = [name for name, changed, live in rows if changed > max(200, live // 2)]
        if stale:
            with self.write() as cur:
                cur.execute("ANALYZE " + ", ".join(sorted(stale)))

    def close(self) -> None:
        self.engine.dispose()


def _set_autocommit(driver: Any, on: bool) -> None:
    """psycopg has an ``autocommit`` attribute; PyMySQL an ``autocommit(flag)`` method."""
    if callable(getattr(driver, "autocommit", None)):
        driver.autocommit(on)
    else:
        driver.autocommit = on


# A pooled connection idle for longer than this is tested before use. A busy server reuses its
# connections within milliseconds and skips the round trip; one that dies under load fails its
# request with a 503 (clients retry) and is replaced.
_IDLE_PING_S = 10.0


def _ping_when_idle(engine: Any) -> None:
    """Test a pooled connection at checkout when it has sat idle for ``_IDLE_PING_S`` (what
    ``pool_pre_ping`` does, without a round trip per request on a busy server)."""
    import time

    from sqlalchemy import event, exc

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < _IDLE_PING_S:
            return
        try:
            cur = dbapi_conn.cursor()
            try:
                cur.execute("SELECT 1")
                cur.fetchall()
            finally:
                cur.close()
            dbapi_conn.rollback()
        except Exception as error:
            # the pool discards this connection and checks out (or opens) another
            raise exc.DisconnectionError(str(error)) from error


def _connection_lost(exc: BaseException) -> bool:
    """A driver error that a retry may cure: connection lost or refused, server shutting down,
    deadlock, lock or serialization timeout (DBAPI OperationalError / InterfaceError)."""
    if isinstance(exc, TemporarilyUnavailable):
        return False
    names = {c.__name__ for c in type(exc).__mro__}
    module = type(exc).__module__
    return bool(names & {"OperationalError", "InterfaceError"}) and module.startswith(
        ("psycopg", "pymysql", "MySQLdb", "sqlalchemy")
    )


def _quiet_rollback(raw: Any) -> None:
    try:
        raw.rollback()
    except Exception:  # the connection is gone; the caller reports the original error
        pass


_DRIVER_DEFAULTS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def normalize_sqlalchemy_uri(uri: str) -> str:
    """Pick the driver labkeep ships for a bare ``postgresql://`` or ``mysql://`` URI."""
    scheme, sep, rest = uri.partition("://")
    if scheme in _DRIVER_DEFAULTS:
        uri = _DRIVER_DEFAULTS[scheme] + sep + rest
        scheme = uri.partition("://")[0]
    if scheme.startswith(("mysql", "mariadb")) and "charset=" not in uri:
        uri += ("&" if "?" in uri else "?") + "charset=utf8mb4"
    return uri


_SCHEME_RE = re.compile(r"^(sqlite|postgresql|postgres|mysql|mariadb)(\+\w+)?://")


def is_sql_uri(uri: str) -> bool:
    return bool(_SCHEME_RE.match(uri))


def open_database(uri: str) -> Database:
    if uri.startswith("sqlite:"):
        return SQLiteDatabase(uri)
    if is_sql_uri(uri):
        return SqlAlchemyDatabase(uri)
    raise InvalidParameterValue(
        f"Unsupported database URI {uri!r}; use sqlite:///file.db, postgresql://… or mysql+pymysql://…"
    )
