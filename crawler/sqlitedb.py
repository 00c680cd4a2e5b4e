"""The disposable SQLite files under <out>/index/ (search.sqlite, dedup.sqlite): one way to open,
version, upgrade, rebuild and close them.

Every file has a `meta(key, value)` table whose row `schema` names the version of its tables. Opening
a file (`open_db`) creates the tables when the file is new, runs the owner's upgrade steps when the
file is of an older version that has one, and otherwise replaces a file of another version, or one
SQLite cannot read, by a fresh empty file with a warning: the owner refills it from the articles.
A fresh file is built under a temporary name and moved into place (`rebuilding`), so a reader or a
killed process never finds a half-made file under the real name.

Connections use WAL (a `search` can read while a crawl's sync writes), synchronous=NORMAL (a power
cut may lose the last transactions of a file that is rebuilt from the articles anyway, never
corrupt it), autocommit mode (the owners open their own transactions with BEGIN) and a busy
timeout for a second process touching the same file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

#: seconds a connection waits for another process's write lock before "database is locked"
#: (sqlite3's default, which both indexes used before this module)
BUSY_TIMEOUT = 5.0
#: files SQLite keeps beside a database: they belong to that one file and go with it
SIDECARS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Schema:
    """What a kind of index file holds: its version, tables and the steps that upgrade older files."""

    version: str
    #: CREATE statements of the owner's tables (the meta table is added here)
    sql: str
    #: tables a file of this version must have (a file without one is rebuilt)
    tables: frozenset[str]
    #: "search index", "duplicate index": for the warning
    what: str
    #: an older version -> a function upgrading a connection's tables from it to the next version
    #: (inside a transaction; return the version it reaches)
    upgrades: dict[str, Callable[[sqlite3.Connection], str]] = field(default_factory=dict)
    #: name endings of files that belong to the database (dedup's "-lsh.pickle": <stem><ending>)
    companions: tuple[str, ...] = ()
    #: a query that reads deeper than the schema, to find corruption on open (FTS shadow tables)
    probe: str | None = None


def connect(path: str | os.PathLike) -> sqlite3.Connection:
    """A connection with the settings every index file uses (WAL, synchronous=NORMAL, autocommit)."""
    db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def companion(path: str | os.PathLike, ending: str) -> Path:
    """The file that belongs to the database at `path` with this name ending (dedup-lsh.pickle)."""
    p = Path(path)
    return p.with_name(p.stem + ending)


def temp_path(path: str | os.PathLike) -> Path:
    """Where a new version of `path` is built (same folder, so the final move is a rename)."""
    p = Path(path)
    return p.with_name(p.stem + ".tmp" + p.suffix)


def remove(path: str | os.PathLike, companions: tuple[str, ...] = ()) -> None:
    """Delete a database file, its SQLite sidecars and its companion files (missing ones are fine)."""
    for suffix in SIDECARS:
        Path(str(path) + suffix).unlink(missing_ok=True)
    for ending in companions:
        companion(path, ending).unlink(missing_ok=True)
    Path(path).unlink(missing_ok=True)


def replace(new: str | os.PathLike, path: str | os.PathLike, companions: tuple[str, ...] = ()) -> None:
    """Move a closed database (and its companions) built at `new` over `path`.

    The old file's sidecars go first: a -wal left beside the new file would be replayed into it.
    Companions move after the database, so a stop in between leaves a new database with an old
    companion, which the owner must detect (dedup keeps a token of its pickle in meta).
    """
    for suffix in SIDECARS:
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(new, path)
    for ending in companions:
        src = companion(new, ending)
        if src.exists():
            os.replace(src, companion(path, ending))
        else:
            companion(path, ending).unlink(missing_ok=True)


@contextmanager
def rebuilding(path: str | os.PathLike, companions: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path to build a new `path` in; when the block ends without an error (and has
    closed its connections) the new file replaces the old one, otherwise it is deleted."""
    tmp = temp_path(path)
    remove(tmp, companions)  # a build a killed process left behind
    try:
        yield tmp
    except BaseException:
        remove(tmp, companions)
        raise
    replace(tmp, path, companions)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
    """A cursor in one write transaction: committed when the block ends, rolled back on any error.

    BEGIN IMMEDIATE takes the write lock first: a read transaction that later writes fails at once
    ("database is locked") when another process (a crawl's feed, a search's sync) wrote meanwhile.
    """
    cur = db.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield cur
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise


def create(db: sqlite3.Connection, schema: Schema) -> None:
    """Create the meta table (with the schema version) and the owner's tables in an empty file."""
    db.executescript("BEGIN IMMEDIATE;\nCREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);\n"
                     f"INSERT INTO meta VALUES('schema', '{schema.version}');\n{schema.sql}\nCOMMIT;")


def version(db: sqlite3.Connection) -> str | None:
    """The schema version a file says it has (None: no meta table or no schema row)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
        return None
    row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    return row[0] if row else None


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _upgrade(db: sqlite3.Connection, schema: Schema, found: str) -> None:
    """Run the upgrade steps from `found` to schema.version in one transaction (all or nothing)."""
    db.execute("BEGIN IMMEDIATE")  # the write lock first: another process may be upgrading too
    try:
        v, seen = version(db), set()  # re-read under the lock: that other process may have finished
        while v != schema.version:
            if v in seen or v not in schema.upgrades:
                raise sqlite3.DatabaseError(f"no upgrade path from version {found} to {schema.version}")
            seen.add(v)
            v = schema.upgrades[v](db)
        db.execute("UPDATE meta SET value=? WHERE key='schema'", (schema.version,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _check(db: sqlite3.Connection, schema: Schema, log: logging.Logger, path: Path) -> str | None:
    """None when the open file is (now) usable as `schema`, else why it must be rebuilt."""
    tables = _tables(db)
    if not tables:
        try:
            create(db, schema)
            return None
        except sqlite3.OperationalError:  # "already exists": another process created it first
            if db.in_transaction:
                db.execute("ROLLBACK")
            tables = _tables(db)
            if not tables:
                raise
    found = version(db)
    if found != schema.version:
        if found not in schema.upgrades:
            return f"stale (index version {found}, this parkcorpus writes {schema.version})"
        try:
            _upgrade(db, schema, found)
        except sqlite3.Error as exc:  # rolled back: the file is rebuilt instead
            return f"stale (index version {found}; its upgrade failed: {exc})"
        log.warning("%s %s: upgraded from version %s to %s", schema.what, path, found, schema.version)
        tables = _tables(db)
    if not schema.tables <= tables:
        return f"incomplete (no {', '.join(sorted(schema.tables - tables))} table)"
    if schema.probe:
        db.execute(schema.probe).fetchall()
    return None


def open_db(path: str | os.PathLike, schema: Schema, log: logging.Logger) -> tuple[sqlite3.Connection, str | None]:
    """Open the index file at `path` as `schema`: (connection, None) when it was usable, new or upgraded;
    (connection to a fresh empty file, why) when it was stale or unreadable and has been replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = None
    try:
        db = connect(path)
        why = _check(db, schema, log, path)
        if why is None:
            return db, None
    except sqlite3.DatabaseError as exc:
        why = f"corrupt ({exc})"
    if db is not None:
        close(db)
    log.warning("%s %s is %s: rebuilding it", schema.what, path, why)
    with rebuilding(path, schema.companions) as tmp:
        fresh = connect(tmp)
        create(fresh, schema)
        fresh.close()
    return connect(path), why


def close(db: sqlite3.Connection) -> None:
    """Close a connection, quietly when the file behind it is damaged (its handle may be half-open)."""
    try:
        db.close()
    except sqlite3.Error:
        pass
