"""The index files' SQLite helper (crawler.sqlitedb): open, version, upgrade, rebuild, replace."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from crawler import sqlitedb

log = logging.getLogger("test.sqlitedb")


def _schema(version="2", upgrades=None):
    return sqlitedb.Schema(version=version, sql="CREATE TABLE t(x INTEGER);", tables=frozenset({"t"}),
                           what="test index", upgrades=upgrades or {}, companions=("-side.bin",))


def _fill(path, schema, xs=(1, 2, 3)):
    db, why = sqlitedb.open_db(path, schema, log)
    assert why is None
    db.executemany("INSERT INTO t VALUES(?)", [(x,) for x in xs])
    sqlitedb.companion(path, "-side.bin").write_bytes(b"side")
    db.close()


def test_a_new_file_gets_the_tables_the_version_and_the_settings(tmp_path):
    path = tmp_path / "index" / "a.sqlite"
    db, why = sqlitedb.open_db(path, _schema(), log)
    assert why is None and sqlitedb.version(db) == "2"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == int(sqlitedb.BUSY_TIMEOUT * 1000)
    assert db.isolation_level is None
    db.close()


def test_a_file_of_this_version_is_kept(tmp_path):
    path = tmp_path / "a.sqlite"
    _fill(path, _schema())
    db, why = sqlitedb.open_db(path, _schema(), log)
    assert why is None and db.execute("SELECT count(*) FROM t").fetchone()[0] == 3
    db.close()


def test_another_version_without_an_upgrade_is_replaced_by_an_empty_file(tmp_path, caplog):
    path = tmp_path / "a.sqlite"
    _fill(path, _schema("1"))
    with caplog.at_level(logging.WARNING, logger="test.sqlitedb"):
        db, why = sqlitedb.open_db(path, _schema("2"), log)
    assert why.startswith("stale") and "rebuilding" in caplog.text
    assert sqlitedb.version(db) == "2" and db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert not sqlitedb.companion(path, "-side.bin").exists()  # it belonged to the old file
    assert not sqlitedb.temp_path(path).exists()
    db.close()


def _upgraded(tmp_path, then_sql):
    """Open a version-1 file as version 2 with a step that adds column y, then runs `then_sql`."""
    path = tmp_path / "a.sqlite"
    _fill(path, _schema("1"))

    def one_to_two(db):
        db.execute("ALTER TABLE t ADD COLUMN y TEXT")
        db.execute(then_sql)
        return "2"

    return sqlitedb.open_db(path, _schema("2", {"1": one_to_two}), log)


def test_an_upgrade_step_keeps_the_rows(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="test.sqlitedb"):
        db, why = _upgraded(tmp_path, "UPDATE t SET y = 'v' || x")
    assert why is None and "upgraded from version 1 to 2" in caplog.text
    assert sqlitedb.version(db) == "2"
    assert db.execute("SELECT group_concat(y) FROM t").fetchone()[0] == "v1,v2,v3"
    db.close()


def test_a_failing_upgrade_rebuilds(tmp_path):
    db, why = _upgraded(tmp_path, "SELECT * FROM no_such_table")
    assert why.startswith("stale") and "upgrade failed" in why and "no_such_table" in why
    assert sqlitedb.version(db) == "2" and db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    db.close()


def test_an_upgrade_to_an_unknown_version_rebuilds(tmp_path):
    path = tmp_path / "a.sqlite"
    _fill(path, _schema("1"))
    db, why = sqlitedb.open_db(path, _schema("3", {"1": lambda db: "2"}), log)
    assert why.startswith("stale") and "no upgrade path" in why
    assert sqlitedb.version(db) == "3" and db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    db.close()


def test_an_unreadable_file_is_replaced(tmp_path):
    path = tmp_path / "a.sqlite"
    path.write_bytes(b"not a database" * 100)
    db, why = sqlitedb.open_db(path, _schema(), log)
    assert why.startswith("corrupt") and sqlitedb.version(db) == "2"
    db.close()


def test_a_file_missing_a_table_is_rebuilt(tmp_path):
    path = tmp_path / "a.sqlite"
    _fill(path, _schema())
    db = sqlite3.connect(path)
    db.execute("DROP TABLE t")
    db.commit()
    db.close()
    db, why = sqlitedb.open_db(path, _schema(), log)
    assert why.startswith("incomplete") and db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    db.close()


def test_rebuilding_replaces_only_on_success(tmp_path):
    path = tmp_path / "a.sqlite"
    _fill(path, _schema())
    with pytest.raises(RuntimeError):
        with sqlitedb.rebuilding(path, ("-side.bin",)) as tmp:
            _fill(tmp, _schema(), xs=(9,))
            raise RuntimeError("stopped half way")
    assert not tmp.exists() and not sqlitedb.companion(tmp, "-side.bin").exists()
    db = sqlitedb.connect(path)
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 3  # the old file, untouched
    db.close()
    (tmp_path / "a.sqlite-wal").write_bytes(b"a stale log of the old file")
    with sqlitedb.rebuilding(path, ("-side.bin",)) as tmp:
        _fill(tmp, _schema(), xs=(9,))
    assert not tmp.exists() and not (tmp_path / "a.sqlite-wal").exists()
    assert sqlitedb.companion(path, "-side.bin").read_bytes() == b"side"
    db = sqlitedb.connect(path)
    assert [r[0] for r in db.execute("SELECT x FROM t")] == [9]
    db.close()


_RACER = """
import logging, sys, time
from crawler import sqlitedb

def step(db):
    db.execute("ALTER TABLE t ADD COLUMN y TEXT")
    time.sleep(0.3)  # hold the write lock while the other processes wait for it
    return "2"

schema = sqlitedb.Schema(version="2", sql="CREATE TABLE t(x INTEGER);", tables=frozenset({"t"}),
                         what="test index", upgrades={"1": step})
db, why = sqlitedb.open_db(sys.argv[1], schema, logging.getLogger("racer"))
print(why, db.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def _race(path, n=4):
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(path)], stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    return [p.communicate(timeout=60)[0].split() for p in procs]


def test_processes_opening_an_old_file_at_once_upgrade_it_once(tmp_path):
    path = tmp_path / "a.sqlite"
    _fill(path, _schema("1"))
    assert _race(path) == [["None", "3"]] * 4  # nobody found a half-upgraded file and threw the rows away


def test_processes_creating_a_new_file_at_once_all_use_it(tmp_path):
    assert _race(tmp_path / "index" / "a.sqlite") == [["None", "0"]] * 4
