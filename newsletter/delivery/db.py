"""The database: one module, plain SQL, SQLite or PostgreSQL.

Every query in the project is written once, with ``?`` placeholders, and
runs on both: :meth:`Database.sql` adapts the placeholders for psycopg in
this one place. Schema changes are the numbered ``.sql`` files in
``migrations/``, applied in order on :func:`connect` and recorded in the
table ``schema_migrations``.

SQLite is the default (``subscribers.db`` in the project, WAL mode, created
on first use); ``[subscribers] database = "postgresql://..."`` selects
PostgreSQL through psycopg 3.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from newsletter.errors import NewsletterError

DEFAULT_DATABASE = "subscribers.db"
# How long a writer waits for another process's lock before giving up (seconds).
BUSY_TIMEOUT = 30.0
_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""
# Any fixed number: PostgreSQL's advisory lock that serialises migrations between processes.
_PG_MIGRATION_LOCK = 7_314_202_611


class DatabaseError(NewsletterError):
    """The database cannot be opened, or a query failed in a way the user must hear about."""


def utc_now_text(when: datetime | None = None) -> str:
    """A UTC time as the database stores it: ``2026-11-29T09:30:00Z`` (sortable text on both databases)."""
    when = (when or datetime.now(tz=UTC)).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """``?`` placeholders -> psycopg's ``%s`` (and a literal ``%`` -> ``%%``), outside quoted text."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
            out.append("%%" if char == "%" else char)
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


def split_statements(script: str) -> list[str]:
    """The statements of a migration file, split at the ``;`` that end them (comments kept inside)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip().rstrip(";").strip() and not _only_comments(current):
                statements.append(current.strip())
            current = ""
    if current.strip() and not _only_comments(current):
        statements.append(current.strip())
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") or line.strip() == ";" for line in text.splitlines())


class Database:
    """One connection to the subscriber database, SQLite or PostgreSQL.

    Queries use ``?`` placeholders. Outside :meth:`transaction` every
    statement commits on its own; inside, all commit together or none does.
    A Database is used by one thread at a time (each sending worker opens
    its own).
    """

    def __init__(self, connection: Any, kind: str, where: str) -> None:
        self._conn = connection
        self.kind = kind  # "sqlite" or "postgresql"
        self.where = where  # shown in messages; never holds a password
        self._depth = 0
        self._lock = threading.Lock()

    def sql(self, query: str) -> str:
        """``query`` in the paramstyle of this database's driver."""
        return _pyformat(query) if self.kind == "postgresql" else query

    def execute(self, query: str, params: Sequence[Any] = (), *, durable: bool = False) -> int:
        """Run one statement; return the number of rows it changed.

        SQLite commits survive a killed process either way; ``durable``
        also waits until the commit is on disk (an fsync of the WAL: a few
        milliseconds), so that it survives a power cut. PostgreSQL's
        commits are always durable.
        """
        if durable and self.kind == "sqlite" and not self._depth:
            self._conn.execute("PRAGMA synchronous = FULL")
            try:
                return self.execute(query, params)
            finally:
                self._conn.execute("PRAGMA synchronous = NORMAL")
        cursor = self._run(query, params)
        count = cursor.rowcount
        cursor.close()
        return count

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row (inside a transaction when several must hold together)."""
        try:
            cursor = self._conn.cursor()
            cursor.executemany(self.sql(query), rows)
            cursor.close()
        except Exception as exc:
            raise self._error(exc) from None

    def fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        cursor = self._run(query, params)
        rows = [tuple(row) for row in cursor.fetchall()]
        cursor.close()
        return rows

    def fetchone(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        cursor = self._run(query, params)
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else tuple(row)

    def _run(self, query: str, params: Sequence[Any]) -> Any:
        try:
            cursor = self._conn.cursor()
            cursor.execute(self.sql(query), tuple(params))
            return cursor
        except Exception as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> Exception:
        """A driver error as a :class:`DatabaseError` (programming errors stay what they are)."""
        if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
            exc, sqlite3.ProgrammingError | sqlite3.IntegrityError
        ):
            return DatabaseError(f"{self.where}: {exc}")
        if self.kind == "postgresql":
            import psycopg

            if isinstance(exc, psycopg.OperationalError):
                return DatabaseError(f"{self.where}: {str(exc).strip().splitlines()[0]}")
        return exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All statements inside commit together, or none does (on an exception).

        SQLite takes the write lock at the start (``BEGIN IMMEDIATE``) so two
        processes never deadlock upgrading a read lock. Nested uses join the
        outer transaction.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        with self._lock:
            self._depth = 1
            try:
                if self.kind == "sqlite":
                    yield from self._sqlite_transaction()
                else:
                    with self._conn.transaction():
                        yield self
            except Exception as exc:
                raise self._error(exc) from None
            finally:
                self._depth = 0

    def _sqlite_transaction(self) -> Iterator[Database]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Migrations

    def applied_migrations(self) -> list[int]:
        """The version numbers recorded in ``schema_migrations``."""
        return [row[0] for row in self.fetchall("SELECT version FROM schema_migrations ORDER BY version")]

    def migrate(self) -> list[str]:
        """Apply every migration not applied yet, in order; return the names applied.

        Each migration runs in its own transaction with its record, so a
        crash leaves it either wholly applied and recorded or not at all.
        """
        self.execute(_MIGRATIONS_TABLE)
        applied_names: list[str] = []
        for version, name, script in available_migrations():
            with self.transaction():
                if self.kind == "postgresql":
                    self.execute("SELECT pg_advisory_xact_lock(?)", (_PG_MIGRATION_LOCK,))
                if self.fetchone("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)):
                    continue
                for statement in split_statements(script):
                    self.execute(statement)
                self.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, utc_now_text()),
                )
                applied_names.append(name)
        return applied_names


def available_migrations() -> list[tuple[int, str, str]]:
    """``(version, name, SQL)`` of every ``migrations/NNNN_name.sql`` file, in version order."""
    folder = resources.files("newsletter.delivery") / "migrations"
    found = []
    for item in folder.iterdir():
        name = item.name
        if not name.endswith(".sql"):
            continue
        number, _, _ = name.partition("_")
        if not number.isdigit():
            raise DatabaseError(f"migration file {name} must start with a number, e.g. 0003_name.sql")
        found.append((int(number), name.removesuffix(".sql"), item.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise DatabaseError("two migration files share a number")
    return found


def database_setting(settings: Any) -> str:
    """The ``[subscribers] database`` value, or the default file name."""
    section = getattr(settings, "subscribers", None)
    return getattr(section, "database", "") or DEFAULT_DATABASE


def connect(project_root: Path, settings: Any = None, *, migrate: bool = True) -> Database:
    """Open the project's subscriber database (created on first use) and bring its schema up to date.

    ``settings`` is the project's :class:`~newsletter.config.Settings` (or
    None for the default SQLite file). A ``postgresql://`` URL opens
    PostgreSQL; anything else is a SQLite file relative to the project.
    """
    target = database_setting(settings)
    if target.startswith(("postgresql://", "postgres://")):
        db = _connect_postgresql(target)
    else:
        db = _connect_sqlite(project_root / target)
    if migrate:
        try:
            db.migrate()
        except BaseException:
            db.close()
            raise
    return db


def _connect_sqlite(path: Path) -> Database:
    shown = str(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; Database.transaction() says where they are.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        # WAL with synchronous=NORMAL survives a killed process, not a power cut: the commits that must
        # survive both (a delivery claimed before DATA) ask for it (Database.execute(durable=True)).
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseError(f"cannot open the subscriber database {shown}: {exc}") from None
    if mode is None or str(mode[0]).lower() != "wal":
        conn.close()
        raise DatabaseError(f"cannot open the subscriber database {shown} in WAL mode")
    return Database(conn, "sqlite", shown)


def _redacted(url: str) -> str:
    """A database URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _connect_postgresql(url: str) -> Database:
    shown = _redacted(url)
    try:
        import psycopg
    except ImportError:
        raise DatabaseError("a postgresql:// database needs psycopg: pip install 'psycopg[binary]'") from None
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot connect to {shown}: {first}") from None
    return Database(conn, "postgresql", shown)
