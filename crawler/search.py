"""Full-text search over the current version of every article: a SQLite FTS5 index under <out>/index/.

The FTS5 `trigram` tokenizer indexes every three-character sequence, so a quoted phrase of three
or more characters matches exactly the texts that contain it: substring search in Chinese without
word segmentation, in Python's own sqlite3 (SQLite >= 3.34). Shorter queries fall back to a scan.

Title and text are indexed after `normalize_search` (Traditional -> Simplified with OpenCC, full-width
-> half-width); the query gets the same treatment, so 園區 finds 园区 and （集团） finds (集团).
Matching is case-insensitive for Latin letters (the tokenizer folds case; the scan does the same).

The index is derived data: deleting it loses nothing. It is synced from the articles dataset by
the files it has read (path, size, mtime): of a new file only the version keys are read first,
and only the rows that are not the indexed version (nor an older one) are read whole and indexed;
removed files (compaction) trigger a key check. A crawl feeds the rows it writes as it writes them
(`add(rows, pending=True)`): they are marked pending until a sync finds them in a file, so the
end-of-run sync only confirms them, and pending rows no file holds (a failed or killed crawl) are
dropped and the post's version in the files, if any, indexed again. A stale or corrupt index is
rebuilt with a warning.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any, Iterable

from crawler import sqlitedb
from crawler.errors import DatasetError, SearchQueryError

log = logging.getLogger(__name__)

INDEX_DIR = "index"
INDEX_FILE = "search.sqlite"
#: bump when the tables or the normalisation change: an index of another version is rebuilt, or
#: upgraded when _schema() has a step from it (3: versions keyed on record_hash, not content_hash;
#: 4: docs.pending, rows a crawl fed that no file was seen to hold yet)
SCHEMA_VERSION = "4"
#: queries shorter than this (after normalisation) cannot use trigrams and are answered by a scan
TRIGRAM = 3
#: characters of context on each side of the hit in a snippet
SNIPPET_CONTEXT = 40

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space

#: what the index keeps of an article row (the columns a sync reads of a file, what a crawl feeds)
COLUMNS = ("url", "site", "post_id", "title", "text", "published", "doc_type", "content_hash",
            "record_hash", "fetched_at", "extracted_at")

_TABLES = """
    CREATE TABLE docs(id INTEGER PRIMARY KEY, site TEXT NOT NULL, post_id INTEGER NOT NULL,
        url TEXT, published INTEGER, doc_type TEXT, content_hash TEXT,
        fetched INTEGER, extracted INTEGER, record_hash TEXT, pending INTEGER, UNIQUE(site, post_id));
    CREATE INDEX docs_pending ON docs(pending) WHERE pending IS NOT NULL;
    CREATE VIRTUAL TABLE fts USING fts5(title, text, tokenize='trigram');
    CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER);
"""


def _upgrade_2(db: sqlite3.Connection) -> str:
    """Version 2 kept versions by content_hash alone, so a title-only edit left the old title in the
    index. Add record_hash (null: not known yet) and forget the files read, so the next sync reads
    every row again: a row whose title matches the indexed one only fills in record_hash, a row
    with another title replaces the entry (no re-tokenising of unchanged posts)."""
    db.execute("ALTER TABLE docs ADD COLUMN record_hash TEXT")
    db.execute("DELETE FROM files")
    return "3"


def _upgrade_3(db: sqlite3.Connection) -> str:
    """Version 3 had no pending mark: every row came from a file, so none is pending."""
    db.execute("ALTER TABLE docs ADD COLUMN pending INTEGER")
    db.execute("CREATE INDEX docs_pending ON docs(pending) WHERE pending IS NOT NULL")
    return "4"


def _schema() -> sqlitedb.Schema:
    """The index file's schema (read at open time: tests change SCHEMA_VERSION)."""
    return sqlitedb.Schema(version=SCHEMA_VERSION, sql=_TABLES, tables=frozenset({"docs", "fts", "files"}),
                           what="search index", upgrades={"2": _upgrade_2, "3": _upgrade_3},
                           probe="SELECT count(*) FROM fts")  # touches the FTS shadow tables


#: lone surrogates: what Python makes of bytes a command line could not decode (surrogateescape);
#: OpenCC cannot encode them, and no stored text holds one (Parquet strings are UTF-8)
_SURROGATES = re.compile("[\ud800-\udfff]")


def normalize_search(text: str | None) -> str:
    """Text as the index sees it: Traditional -> Simplified (OpenCC t2s) and full-width -> half-width."""
    if not text:
        return ""
    return fold_fullwidth(to_simplified(_SURROGATES.sub("\ufffd", text)))


def to_simplified(text: str) -> str:
    """Text through OpenCC t2s; text without a character t2s converts on its own is returned as is."""
    if traditional_chars().search(text):  # skip OpenCC for text already Simplified
        from crawler.normalize import convert_script

        text = convert_script(text, "t2s")
    return text


@functools.lru_cache(maxsize=1)
def traditional_chars() -> re.Pattern:
    """A character class of normalize.convertible_chars("t2s"), compiled once per process (~10 ms;
    crawler.warm compiles it in the fork server).

    Its search scans a text in C: frozenset.isdisjoint(text) makes a str object of every character
    (0.04 against 0.006 ms a post in a crawl's worker; a numpy lookup table costs 0.08 there).
    """
    from crawler.normalize import convertible_chars

    return re.compile("[" + "".join(map(re.escape, sorted(convertible_chars("t2s")))) + "]")


#: runs of the characters _FULLWIDTH maps (the only ones fold_fullwidth changes)
_FULLWIDTH_RUN = re.compile("[\uff01-\uff5e\u3000]+")


def fold_fullwidth(text: str) -> str:
    """Full-width forms (Ａ１，（）and the ideographic space) as their ASCII counterparts."""
    # str.translate with a dict raises and clears a KeyError for every character it does not map
    # (Python 3.11), most of a Chinese text; the regex finds in C the few runs it does map
    return _FULLWIDTH_RUN.sub(_fold_run, text)


def _fold_run(m: re.Match) -> str:
    return m.group().translate(_FULLWIDTH)


def normalize_query(query: str | None) -> str:
    """The query as matched; SearchQueryError when it is empty or has no letter, digit or ideograph."""
    q = normalize_search((query or "").strip())
    if not q:
        raise SearchQueryError("empty search query: give a word or phrase to look for")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in q):
        raise SearchQueryError(f"search query {query!r} has only punctuation: give a word or phrase")
    return q


def index_path(out_or_index: str | os.PathLike) -> Path:
    """The index file of an output folder (or the path itself when it names a .sqlite file)."""
    p = Path(str(out_or_index).removeprefix("file://"))
    if p.suffix == ".sqlite":
        return p
    return p / INDEX_DIR / INDEX_FILE


def same_version(indexed: tuple, row: tuple) -> bool | None:
    """Whether two (content_hash, record_hash) pairs name one version of a post: by record_hash when
    both have one (it covers title, text, category and tags); when one lacks it (rows written, or
    an index built, before it existed) an equal content_hash leaves it open (None: the caller
    compares the titles), another content_hash is another version."""
    (c1, r1), (c2, r2) = indexed, row
    if r1 is not None and r2 is not None:
        return r1 == r2
    return None if c1 is not None and c1 == c2 else False


def _behind(indexed: tuple, newest: tuple) -> bool:
    """True when the indexed version may not be the newest: another version, or an open answer
    where the dataset knows the record_hash and the index does not (upgraded, not synced since)."""
    same = same_version(indexed, newest)
    return not same if same is not None else newest[1] is not None


def _us(value: Any) -> int | None:
    """Microseconds since the epoch (UTC) of a datetime/pandas/pyarrow timestamp, None for null."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    raise TypeError(f"not a timestamp: {value!r}")


def _us_column(column: Any) -> list[int | None]:
    """_us of every value of an Arrow column: a timestamp column is cast, not turned into Python
    datetimes (faster, and a tz-aware value's as_py() makes pyarrow import pandas, which a
    crawl's index process otherwise never needs)."""
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        return column.cast(pa.timestamp("us", tz=column.type.tz)).cast(pa.int64()).to_pylist()
    return [_us(v) for v in column.to_pylist()]


#: rowid = publication second << ROWID_BITS + a counter: rowid order is publication order. 256
#: posts fit in one second (more spill into the next second's slots, where their order is
#: approximate); a wider field makes every rowid delta in the FTS doclists longer (the index is
#: ~1.4x larger with 20 bits)
ROWID_BITS = 8


#: a post whose indexed state a sync no longer knows without reading it (_sync_file)
_UNKNOWN = object()


def _rowid(published_us: int | None) -> int:
    """The first rowid for a post published at `published_us` (undated posts sort oldest)."""
    if published_us is None:
        return -(1 << 62)
    return (published_us // 1_000_000) << ROWID_BITS


def _from_us(value: int | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=value)


def _rows(rows) -> Iterable[dict]:
    """Dicts from an iterable of dicts, a pyarrow Table/RecordBatch or a pandas DataFrame."""
    if hasattr(rows, "to_batches"):  # pyarrow Table
        names = [c for c in COLUMNS if c in rows.column_names]
        for batch in rows.select(names).to_batches(max_chunksize=2000):
            yield from batch.to_pylist()
    elif hasattr(rows, "to_pylist"):  # RecordBatch
        yield from rows.to_pylist()
    elif hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # DataFrame
        yield from rows.to_dict("records")
    else:
        yield from rows


class SearchIndex:
    """One index file: open (creating or rebuilding it as needed), add rows, search, check."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = index_path(path)
        self.rebuilt: str | None = None  # why the file was thrown away, when it was
        if not self.path.exists() and not create:
            raise DatasetError(f"no search index at {self.path}")
        self._open()

    # -- lifecycle ----------------------------------------------------------------------------
    def _open(self) -> None:
        if sqlite3.sqlite_version_info < (3, 34, 0):
            raise DatasetError(f"SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer (needs 3.34+)")
        self.db, self.rebuilt = sqlitedb.open_db(self.path, _schema(), log)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing ------------------------------------------------------------------------------
    def add(self, rows, *, pending: bool = False) -> dict:
        """Add rows (dicts, a pyarrow Table or a DataFrame); returns {"added", "replaced", "skipped"}.

        A row replaces the indexed version of its (site, post_id) when it is another version
        (same_version) and not older (fetched_at, then extracted_at; rows without them count as newest).
        One transaction. `pending`: the rows are not known to be in a file yet (a crawl feeding what
        it writes): the next sync confirms them when it finds them in a file, else drops them.
        """
        counts = {"added": 0, "replaced": 0, "skipped": 0}
        with sqlitedb.transaction(self.db) as cur:
            for row in _rows(rows):
                self._add_one(cur, row, counts, 1 if pending else None)
        return counts

    def _add_one(self, cur, row: dict, counts: dict, pending: int | None = None) -> None:
        site, pid = row["site"], int(row["post_id"])
        # the newest version is the latest fetch; a reextract of the same fetch beats the original
        fetched, extracted = _us(row.get("fetched_at")), _us(row.get("extracted_at"))
        old = cur.execute("SELECT id, content_hash, record_hash, fetched, extracted FROM docs "
                          "WHERE site=? AND post_id=?", (site, pid)).fetchone()
        chash, rhash = row.get("content_hash"), row.get("record_hash")
        if old is not None:
            rid, old_c, old_r, old_f, old_e = old
            if fetched is not None and old_f is not None and (fetched, extracted or 0) < (old_f, old_e or 0):
                counts["skipped"] += 1  # an older version than the indexed one
                return
            same = same_version((old_c, old_r), (chash, rhash))
            if same is None:  # indexed before record_hash was kept: the title tells (the text is
                # the content_hash's), and a row that agrees only fills in its record_hash
                indexed = cur.execute("SELECT title FROM fts WHERE rowid=?", (rid,)).fetchone()
                same = indexed is not None and indexed[0] == normalize_search(row.get("title"))
            if same:
                # the same version fetched again: remember the newer fetch, so an older version
                # read later (files are read in path order, not time order) cannot displace it
                new = (rhash or old_r, *((fetched, extracted) if fetched is not None else (old_f, old_e)))
                if new != (old_r, old_f, old_e):  # (the very row indexed: nothing to remember)
                    cur.execute("UPDATE docs SET record_hash=?, fetched=?, extracted=?, pending=? WHERE id=?",
                                (*new, pending, rid))
                counts["skipped"] += 1
                return
            cur.execute("DELETE FROM fts WHERE rowid=?", (rid,))
            cur.execute("DELETE FROM docs WHERE id=?", (rid,))
            counts["replaced"] += 1
        else:
            counts["added"] += 1
        published = _us(row.get("published"))
        rid = _rowid(published)
        while cur.execute("SELECT 1 FROM docs WHERE id=?", (rid,)).fetchone():
            rid += 1  # posts published in the same second (or on the same date-only day)
        cur.execute("INSERT INTO docs(id, site, post_id, url, published, doc_type, content_hash, record_hash, "
                    "fetched, extracted, pending) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    (rid, site, pid, row.get("url"), published, row.get("doc_type"), chash, rhash,
                     fetched, extracted, pending))
        cur.execute("INSERT INTO fts(rowid, title, text) VALUES(?,?,?)",
                    (rid, normalize_search(row.get("title")), normalize_search(row.get("text"))))

    def remove(self, keys: Iterable[tuple[str, int]]) -> int:
        """Drop posts by (site, post_id); returns how many were indexed."""
        with sqlitedb.transaction(self.db) as cur:
            return self._remove(cur, keys)

    def _remove(self, cur, keys: Iterable[tuple[str, int]]) -> int:
        n = 0
        for site, pid in keys:
            row = cur.execute("SELECT id FROM docs WHERE site=? AND post_id=?", (site, int(pid))).fetchone()
            if row:
                cur.execute("DELETE FROM fts WHERE rowid=?", (row[0],))
                cur.execute("DELETE FROM docs WHERE id=?", (row[0],))
                n += 1
        return n

    def pending(self) -> int:
        """Number of indexed posts a crawl fed that no sync has found in a file yet."""
        return self.db.execute("SELECT count(*) FROM docs WHERE pending IS NOT NULL").fetchone()[0]

    def sync(self, out: str | os.PathLike, written: tuple[Any, dict] | None = None) -> dict:
        """Bring the index up to date with <out>/articles; returns counts and the files read.

        written: DatasetWriter.written_keys() of the run that wrote the new files: a file it lists,
        still of the size and mtime it had when written, is not read for its version keys.

        Counts over the rows of the new files: "added" (a post not indexed), "replaced" (a newer
        version replaced the indexed one), "skipped" (nothing to index: the row is the indexed
        version, e.g. one a crawl fed as it wrote it, or an older one), "read" (rows read whole:
        added, replaced, and the few only the text could decide); "removed": posts no file holds
        any more (compaction); "repaired": pending rows no file held (a crawl that failed or was
        killed), dropped and their posts' versions in the files indexed again; "files": new files.
        """
        root = Path(str(out).removeprefix("file://")) / "articles"
        now = _parquet_files(root)
        seen = {p: (s, m) for p, s, m in self.db.execute("SELECT path, size, mtime FROM files")}
        fresh = sorted(p for p, st in now.items() if seen.get(p) != st)
        gone = sorted(set(seen) - set(now))
        counts = {"added": 0, "replaced": 0, "skipped": 0, "read": 0, "removed": 0, "repaired": 0,
                  "files": len(fresh)}
        if not fresh and not gone and not self.pending():
            return counts
        given, listed = written if written is not None and written[0] is not None else (None, {})
        for rel in fresh:
            first, rows, size, mtime = listed.get(rel, (0, 0, None, None))
            keys = given.slice(first, rows) if now[rel] == (size, mtime) else None
            self._sync_file(root, rel, counts, keys)
        if gone:
            present = set()
            for rel in now:
                t = _read(root, rel, ("site", "post_id"))
                present.update(zip(t.column("site").to_pylist(), t.column("post_id").to_pylist()))
            indexed = set(self.db.execute("SELECT site, post_id FROM docs"))
            counts["removed"] = self.remove(indexed - present)
        counts["repaired"] = self._repair(root, now)
        with sqlitedb.transaction(self.db) as cur:
            cur.execute("DELETE FROM files")
            cur.executemany("INSERT INTO files VALUES(?,?,?)", [(p, s, m) for p, (s, m) in now.items()])
        self.checkpoint()
        return counts

    def _sync_file(self, root: Path, rel: str, counts: dict, keys: Any = None) -> None:
        """Index one new file: its version keys first (read, unless given), the whole rows only where the keys cannot tell."""
        from crawler.store.writer import VERSION_KEYS

        keys = keys if keys is not None else _read(root, rel, VERSION_KEYS)
        n = keys.num_rows
        sites, pids = keys.column("site").to_pylist(), keys.column("post_id").to_pylist()
        rhs = keys.column("record_hash").to_pylist() if "record_hash" in keys.column_names else [None] * n
        stamps = [_us_column(keys.column(c)) if c in keys.column_names else [None] * n
                  for c in ("fetched_at", "extracted_at")]
        # decided and written under one lock: a feed cannot slip in between
        with sqlitedb.transaction(self.db) as cur:
            state: dict[tuple[str, int], tuple | None] = {}
            confirm, whole = [], []
            for i, key in enumerate(zip(sites, pids)):
                if key not in state:
                    state[key] = cur.execute("SELECT id, record_hash, fetched, extracted FROM docs "
                                             "WHERE site=? AND post_id=?", (key[0], int(key[1]))).fetchone()
                old, rh, f, e = state[key], rhs[i], stamps[0][i], stamps[1][i]
                if old is not None and old is not _UNKNOWN:
                    rid, old_r, old_f, old_e = old
                    if rh is not None and (rh, f, e) == (old_r, old_f, old_e):
                        confirm.append((rid,))  # the indexed version itself: a file holds it
                        counts["skipped"] += 1
                        continue
                    if f is not None and old_f is not None and (f, e or 0) < (old_f, old_e or 0):
                        counts["skipped"] += 1  # older than the indexed version (as _add_one decides)
                        continue
                whole.append(i)
                state[key] = _UNKNOWN  # later rows of this post in the file: _add_one decides them
            cur.executemany("UPDATE docs SET pending=NULL WHERE id=?", confirm)
            if whole:
                table = _read(root, rel, COLUMNS)
                for row in _rows(table.take(whole) if len(whole) < n else table):
                    self._add_one(cur, row, counts)
                counts["read"] += len(whole)

    def _repair(self, root: Path, now: dict) -> int:
        """Drop the pending rows (no file held them) and index the versions the files hold of those posts."""
        with sqlitedb.transaction(self.db) as cur:
            left = cur.execute("SELECT site, post_id FROM docs WHERE pending IS NOT NULL").fetchall()
            if left:
                log.info("search index: %d posts a crawl indexed are in no file; indexing the files' versions",
                         len(left))
                keys = set(left)
                self._remove(cur, keys)
                sites = {s for s, _ in keys}
                scratch = {"added": 0, "replaced": 0, "skipped": 0}
                for rel in sorted(now):
                    if _path_site(rel) not in sites and _path_site(rel) is not None:
                        continue
                    t = _read(root, rel, ("site", "post_id"))
                    hit = [i for i, k in enumerate(zip(t.column("site").to_pylist(), t.column("post_id").to_pylist()))
                           if k in keys]
                    if hit:
                        for row in _rows(_read(root, rel, COLUMNS).take(hit)):
                            self._add_one(cur, row, scratch)
        return len(left)

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the index file (after a batch of writes)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reading ------------------------------------------------------------------------------
    def count(self) -> int:
        """Number of indexed posts."""
        return self.db.execute("SELECT count(*) FROM docs").fetchone()[0]

    def search(self, query: str, *, site=None, since=None, until=None, doc_type=None, limit: int = 20) -> list[dict]:
        """Posts whose current title or text contains `query`, newest first (see module search())."""
        q = normalize_query(query)
        where, args = [], []
        if len(q) >= TRIGRAM:
            # FTS5 walks the phrase's matches in rowid order, and rowids follow publication
            # (_rowid): newest first, it stops after `limit` hits instead of sorting them all
            source = "fts f CROSS JOIN docs d ON d.id = f.rowid"
            where.append("fts MATCH ?")
            args.append('"' + q.replace('"', '""') + '"')
        else:
            # no trigram to look up: walk the posts newest first, stop at `limit` hits (a
            # frequent short query ends early, a rare one reads every text)
            source = "docs d CROSS JOIN fts f ON f.rowid = d.id"
            if q.lower() == q.upper():
                where.append("(instr(f.title, ?) OR instr(f.text, ?))")
                args += [q, q]
            else:  # Latin letters: fold case like the tokenizer does
                where.append("(instr(lower(f.title), ?) OR instr(lower(f.text), ?))")
                args += [q.lower(), q.lower()]
        if site:
            sites = [site] if isinstance(site, str) else list(site)
            where.append(f"d.site IN ({','.join('?' * len(sites))})")
            args += sites
        if since is not None or until is not None:
            from crawler.clock import date_range

            start, end = date_range(since, until)
            key = "f.rowid" if len(q) >= TRIGRAM else "d.id"
            if start is not None:
                where.append(f"{key} >= ?")
                args.append(_rowid(_us(start)))
            if end is not None:
                where.append(f"{key} < ?")
                args.append(_rowid(_us(end) + 999_999))  # end is exclusive: round its second up
        if doc_type:
            types = [doc_type] if isinstance(doc_type, str) else list(doc_type)
            where.append(f"d.doc_type IN ({','.join('?' * len(types))})")
            args += types
        order = "f.rowid" if len(q) >= TRIGRAM else "d.id"
        sql = (f"SELECT d.id, d.url, d.site, d.post_id, d.published, d.doc_type FROM {source} "
               f"WHERE {' AND '.join(where)} ORDER BY {order} DESC LIMIT ?")
        hits = self.db.execute(sql, (*args, int(limit))).fetchall()
        out = []
        for rid, url, site_, pid, published, doc_type_ in hits:
            title, text = self.db.execute("SELECT title, text FROM fts WHERE rowid=?", (rid,)).fetchone()
            out.append({"url": url, "site": site_, "post_id": pid, "title": title,
                        "published": _from_us(published), "doc_type": doc_type_,
                        "snippet": snippet(text, q) or snippet(title, q)})
        return out

    def check(self, out: str | os.PathLike | None = None) -> list[str]:
        """Problems found: FTS integrity, docs without text, and (with `out`) disagreement with the
        newest versions in <out>/articles. An empty list means the index is sound."""
        problems = []
        try:
            self.db.execute("INSERT INTO fts(fts) VALUES('integrity-check')")
        except sqlite3.DatabaseError as exc:
            problems.append(f"search index {self.path}: FTS integrity check failed ({exc})")
        n_docs = self.count()
        n_fts = self.db.execute("SELECT count(*) FROM fts").fetchone()[0]
        if n_docs != n_fts:
            problems.append(f"search index {self.path}: {n_docs} posts but {n_fts} indexed texts")
        if out is not None:
            newest = _newest_versions(Path(str(out).removeprefix("file://")) / "articles")
            indexed = {(s, p): (c, r) for s, p, c, r in
                       self.db.execute("SELECT site, post_id, content_hash, record_hash FROM docs")}
            missing = set(newest) - set(indexed)
            extra = set(indexed) - set(newest)
            stale = {k for k in set(newest) & set(indexed) if _behind(indexed[k], newest[k])}
            for what, keys in (("missing from", missing), ("not in the dataset but in", extra),
                               ("an older version in", stale)):
                if keys:
                    eg = ", ".join(f"{s}/{p}" for s, p in sorted(keys)[:3])
                    problems.append(f"{len(keys)} posts {what} the search index (e.g. {eg})")
        return problems


def snippet(text: str | None, q: str, context: int = SNIPPET_CONTEXT) -> str:
    """The hit with `context` characters each side, ellipses where cut, on one line ('' if no hit)."""
    if not text:
        return ""
    pos = text.lower().find(q.lower())
    if pos < 0:
        return ""
    a, b = max(0, pos - context), min(len(text), pos + len(q) + context)
    s = text[a:b].replace("\n", " ")
    return ("…" if a > 0 else "") + s + ("…" if b < len(text) else "")


def _parquet_files(root: Path) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime_ns)} of the complete Parquet files under root (no .tmp)."""
    out = {}
    if not root.is_dir():
        return out
    for p in root.rglob("*.parquet"):
        if any(part.startswith(".") for part in p.relative_to(root).parts):
            continue
        st = p.stat()
        out[p.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def _path_site(rel: str) -> str | None:
    """The `site` partition key in a file's path (None when the path has none)."""
    return next((part[5:] for part in rel.split("/") if part.startswith("site=")), None)


def _with_site(table, rel: str):
    """Add the `site` partition key from the file's path when the file does not carry it."""
    import pyarrow as pa

    if "site" in table.column_names:
        return table
    return table.append_column("site", pa.array([_path_site(rel)] * table.num_rows, pa.string()))


def _read(root: Path, rel: str, columns: Iterable[str]):
    """The columns the file at root/rel has of `columns`, with `site` from its path when it lacks it.

    pq.ParquetFile reads the one file: no dataset discovery and no partition columns built from
    the path (~1 ms a small file, against ~5 ms for pq.read_table(..., partitioning="hive")).
    An unreadable file (damaged: `validate` reports it) reads as no rows, with a warning, as
    `load` skips it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crawler.items import ARTICLE_SCHEMA
    from crawler.store.files import VERIFY

    try:
        with pq.ParquetFile(root / rel, **VERIFY) as pf:
            names = set(pf.schema_arrow.names)
            # one thread: these files are partition-sized, and the pool's hand-off costs more than it saves
            table = pf.read(columns=[c for c in columns if c in names], use_threads=False)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as exc:
        _skipped(root / rel, exc)
        return pa.schema([ARTICLE_SCHEMA.field(c) for c in columns if c in ARTICLE_SCHEMA.names]).empty_table()
    return _with_site(table, rel)


def _skipped(path: Path, exc: BaseException) -> None:
    """Warn that an index skips the unreadable Parquet file at path (damaged; `validate` names it too)."""
    log.warning("skipped %s: unreadable Parquet file (%s); run `parkcorpus validate --repair` to quarantine "
                "it and fetch its posts again", path, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)


def _newest_versions(root: Path) -> dict[tuple[str, int], tuple[str | None, str | None]]:
    """(site, post_id) -> (content_hash, record_hash) of the newest version in the articles under root
    (record_hash None in files written before it existed)."""
    best: dict[tuple[str, int], tuple] = {}
    for rel in _parquet_files(root):
        t = _read(root, rel, ("site", "post_id", "content_hash", "record_hash", "fetched_at", "extracted_at"))
        for r in t.to_pylist():
            key = (r["site"], r["post_id"])
            rank = (r.get("fetched_at") or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
                    r.get("extracted_at") or dt.datetime.min.replace(tzinfo=dt.timezone.utc))
            if key not in best or rank > best[key][0]:
                best[key] = (rank, (r["content_hash"], r.get("record_hash")))
    return {k: v[1] for k, v in best.items()}


def _newest_hashes(root: Path) -> dict[tuple[str, int], str]:
    """(site, post_id) -> content_hash of the newest version in the articles under root."""
    return {k: v[0] for k, v in _newest_versions(root).items()}


def open_index(out: str | os.PathLike, *, sync: bool = True) -> SearchIndex:
    """The search index of an output folder, created, rebuilt or synced as needed."""
    root = Path(str(out).removeprefix("file://"))
    if not (root / "articles").is_dir():
        raise DatasetError(f"{out} holds no articles dataset to search (crawl first)")
    idx = SearchIndex(root)
    if sync:
        idx.sync(root)
    return idx


def search(out: str | os.PathLike, query: str, site=None, since=None, until=None, doc_type=None,
           limit: int = 20) -> list[dict]:
    """Posts whose current title or text contains `query` (normalised like the text), newest first.

    Each result: {url, site, post_id, title, published, doc_type, snippet}. The index under
    <out>/index/ is built on first use and synced with the dataset before answering.
    """
    normalize_query(query)  # a bad query fails before any index work
    with open_index(out) as idx:
        return idx.search(query, site=site, since=since, until=until, doc_type=doc_type, limit=limit)


def build(out: str | os.PathLike, written: tuple[Any, dict] | None = None) -> dict:
    """Sync (or first build) the index of an output folder; returns counts (what `crawl` calls at the end).

    written: the crawl's DatasetWriter.written_keys() (see SearchIndex.sync)."""
    root = Path(str(out).removeprefix("file://"))
    with SearchIndex(root) as idx:
        counts = idx.sync(root, written)
        counts["posts"] = idx.count()
        counts["rebuilt"] = idx.rebuilt
        return counts


def check(out: str | os.PathLike) -> list[str]:
    """Problems of the index of `out` against its articles (for `validate`); [] when sound or absent."""
    path = index_path(out)
    if not path.exists():
        return []
    try:
        with SearchIndex(path, create=False) as idx:
            if idx.rebuilt:
                return [f"search index {path} was {idx.rebuilt}; it was rebuilt empty (run search to fill it)"]
            return idx.check(out)
    except sqlite3.DatabaseError as exc:
        return [f"search index {path} is unreadable ({exc})"]
