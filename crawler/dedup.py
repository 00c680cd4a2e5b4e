"""Syndication groups: posts that carry the same story, across subsites and reposts.

The network reposts news on several subsites, and the same press release is rewritten with other
boilerplate, an added sentence or a new headline, so `content_hash` (byte-identical bodies) misses
most copies. Here:

1. the body is normalised like the search index (Traditional -> Simplified, full-width ->
   half-width), whitespace and punctuation are dropped, and cut into 5-character shingles;
2. a MinHash (datasketch, 128 permutations) of the shingles goes into a MinHash LSH index, which
   proposes candidates whose Jaccard similarity is probably above JACCARD;
3. a candidate is confirmed by the exact Jaccard similarity of the shingle sets, and then by the
   numbers the two posts contain: posts built from one template (two factory listings, two land
   results) share most of their wording but differ in area, price, parcel and date. A number that
   one post gives where the other gives a different one after the same words (建筑面积6800 vs
   建筑面积5200) is a conflict; a pair with conflicts is two stories, not one.
4. Confirmed pairs are edges; a group is a connected set of posts. `dup_of` is the group's
   earliest post (by published, then site, then post_id).

Everything is incremental: `DupIndex.add()` per post as it arrives, signatures, compressed texts
and edges persisted in <out>/index/dedup.sqlite (disposable, rebuilt from the articles if lost).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import pickle
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from crawler import sqlitedb

log = logging.getLogger(__name__)

INDEX_FILE = "dedup.sqlite"
#: the pickled LSH index beside it (<stem>-lsh.pickle), valid while meta's 'lsh' token matches
LSH_FILE = "-lsh.pickle"
SCHEMA_VERSION = "1"
#: shingle length in characters: long enough that shared phrases of a template are rarer than
#: shared facts, short enough that an edited sentence leaves most shingles intact
SHINGLE = 5
NUM_PERM = 128
#: minimum exact Jaccard similarity of the shingle sets for "the same story"
JACCARD = 0.5
#: LSH recall margin: candidates are looked up at a lower threshold than they are confirmed at
LSH_THRESHOLD = 0.4
#: texts shorter than this many shingles are too short to call copies (a one-line notice)
MIN_SHINGLES = 20
#: a pair whose numbers conflict in more than this share of the places both give a number is two
#: stories (0: one clear conflict is enough when only a few numbers are comparable)
MAX_CONFLICT_SHARE = 0.1
SEED = 1
#: features of this many recently added or compared posts stay in memory (~4 KB each)
CACHE = 5000
#: datasketch's MinHash scheme (2.0 default: 32-bit affine permutations); stored signatures are
#: read back with it, so a change of scheme needs a new SCHEMA_VERSION
SCHEME = "affine32"

_POLY = np.uint64(1_000_003)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: characters kept before a number as its "slot": 建筑面积 in 建筑面积6800平方米
_SLOT = 4


#: what is not a letter, digit or ideograph (and not the decimal point kept for numbers)
_NOT_WORD = re.compile(r"[^\w.]|_")
#: _NOT_WORD before full-width forms are folded: the full-width full stop folds to a kept "."
#: (every other full-width form is a word character exactly when its ASCII counterpart is)
_NOT_WORD_UNFOLDED = re.compile(r"[^\w.\uff0e]|_")
_DIGITS_TO_HASH = str.maketrans("0123456789", "##########")


def normalize_for_dedup(text: str | None) -> str:
    """Letters, digits, ideographs and decimal points of the text, normalised like the search index."""
    from crawler.search import fold_fullwidth, to_simplified

    # _NOT_WORD.sub("", normalize_search(text)), with the punctuation dropped before the full-width
    # forms are folded: almost none are left to fold (tests/test_dedup.py checks every character)
    return fold_fullwidth(_NOT_WORD_UNFOLDED.sub("", to_simplified(text or "")))


def shingle_hashes(norm: str, k: int = SHINGLE) -> np.ndarray:
    """Sorted unique 32-bit hashes of the k-character shingles of normalised text (stable across runs)."""
    if len(norm) < k:
        return np.zeros(0, dtype=np.uint32)
    cps = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(cps) - k + 1
    h = cps[:n].copy()
    for j in range(1, k):  # polynomial hash of each window (uint64 wraps around), in place
        h *= _POLY
        h += cps[j:n + j]
    # multiplicative (Fibonacci) hashing: the high 32 bits of h * 2^64/phi mix every input bit
    h *= _GOLDEN
    h >>= np.uint64(32)
    return _sorted_unique(h.astype(np.uint32))


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique(values) for a 1-d array: a sort and one comparison (numpy 2's np.unique costs
    three times as much on a post's few hundred shingles)."""
    values.sort()
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


@functools.lru_cache(maxsize=1)
def _permutations():
    """The permutations of (NUM_PERM, SEED), made once: MinHash() would redo them (~1 ms) per post."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _minhash(**kw):
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations(), **kw)


#: MurmurHash3's 32-bit finalizer (shift, multiplier, shift, multiplier, shift): datasketch's
#: affine32 scheme mixes every hash value with it before the permutations
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def minhash_values(hashes: np.ndarray) -> np.ndarray:
    """The MinHash values (uint32, NUM_PERM) of non-empty precomputed uint32 shingle hashes.

    The values datasketch's MinHash(hashfunc=int).update_batch(hashes) gives (its affine32
    scheme, its permutations), computed in one numpy pass: update_batch calls the hash function
    once per shingle in Python and converts the list back to an array (0.13 against 0.05 ms a
    post). tests/test_dedup.py holds the two to the same values.
    """
    s1, m1, s2, m2, s3 = _FMIX32
    h = np.array(hashes, dtype=np.uint32)
    h ^= h >> s1
    h *= m1
    h ^= h >> s2
    h *= m2
    h ^= h >> s3
    a, b = _permutations()
    phv = np.multiply.outer(h, a)  # (shingles, NUM_PERM); uint32 arithmetic wraps like datasketch's
    phv += b
    return phv.min(axis=0)


def minhash(hashes: np.ndarray):
    """The datasketch MinHash of precomputed shingle hashes (the hash function is the identity)."""
    if not len(hashes):
        return _minhash(hashfunc=int)
    return _minhash(hashfunc=int, hashvalues=minhash_values(hashes))


def numbers_by_slot(raw_norm: str) -> dict[str, set[str]]:
    """{the words before a number: the numbers written there} over the normalised text."""
    slots: dict[str, set[str]] = {}
    for m in _NUMBER.finditer(raw_norm):
        start = m.start()
        before = raw_norm[start - _SLOT if start > _SLOT else 0:start]
        if not before.isalpha():  # letters only (most slots): no digit to mask, no "." to strip
            before = before.translate(_DIGITS_TO_HASH)
            if not before.strip("#."):
                continue  # 2026-11-05: the parts of one date compare through their first part
        number = m.group().lstrip("0") or "0"
        found = slots.get(before)
        if found is None:
            slots[before] = {number}
        else:
            found.add(number)
    return slots


def number_conflicts(a: dict[str, set[str]], b: dict[str, set[str]]) -> tuple[int, int]:
    """(conflicting slots, slots both fill): same words before, no number in common."""
    shared = set(a) & set(b)
    conflicts = sum(1 for s in shared if not (a[s] & b[s]))
    return conflicts, len(shared)


def jaccard(ha: np.ndarray, hb: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique hash arrays.

    What np.intersect1d(assume_unique=True) computes (each array unique: a value both hold is
    the only one met twice in their sorted concatenation), without its wrapper's overhead, ~40 %
    of a call on a post's few hundred shingles; a crawl's index process makes tens of these per
    post once copies of a story accumulate."""
    if not len(ha) and not len(hb):
        return 0.0
    both = np.concatenate((ha, hb))
    both.sort()
    inter = int(np.count_nonzero(both[1:] == both[:-1]))
    return inter / (len(ha) + len(hb) - inter)


def same_story(ha: np.ndarray, hb: np.ndarray, na: dict, nb: dict) -> tuple[bool, float]:
    """(confirmed, exact Jaccard) for two posts' shingle hashes and number slots."""
    if len(ha) < MIN_SHINGLES or len(hb) < MIN_SHINGLES:
        return False, 0.0
    jac = jaccard(ha, hb)
    if jac < JACCARD:
        return False, jac
    conflicts, shared = number_conflicts(na, nb)
    if conflicts and conflicts > MAX_CONFLICT_SHARE * shared:
        return False, jac
    return True, jac


_TABLES = """
    CREATE TABLE posts(id INTEGER PRIMARY KEY, site TEXT NOT NULL, post_id INTEGER NOT NULL,
        url TEXT, published INTEGER, content_hash TEXT, sig BLOB, body BLOB,
        UNIQUE(site, post_id));
    CREATE TABLE edges(a INTEGER NOT NULL, b INTEGER NOT NULL, jaccard REAL, PRIMARY KEY(a, b));
    CREATE INDEX edges_b ON edges(b);
"""


def _schema():
    """The index file's schema (read at open time, like search._schema)."""
    return sqlitedb.Schema(version=SCHEMA_VERSION, sql=_TABLES, tables=frozenset({"posts", "edges"}),
                           what="duplicate index", companions=(LSH_FILE,))


def _text_features(raw: str) -> tuple[np.ndarray, dict]:
    """Shingle hashes and number slots of a text normalised by normalize_for_dedup."""
    return shingle_hashes(raw.replace(".", "")), numbers_by_slot(raw)


@dataclass(frozen=True)
class Signature:
    """What DupIndex.add derives from a post's text alone, made ahead (in an extraction worker).

    content_hash names the text it was made from: DupIndex uses it only for a post with that hash.
    """

    content_hash: str | None
    hashes: np.ndarray            # sorted unique shingle hashes (uint32)
    slots: dict                   # numbers_by_slot of the normalised text
    hashvalues: np.ndarray | None  # the MinHash values; None for a text under MIN_SHINGLES shingles
    body: bytes                   # the normalised text, zlib level 1, as the index stores it


def signature(text: str | None, content_hash: str | None = None) -> Signature:
    """The Signature of a text (pure; a crawl's workers run it so the crawl process does not)."""
    raw = normalize_for_dedup(text)
    hashes, slots = _text_features(raw)
    values = minhash_values(hashes) if len(hashes) >= MIN_SHINGLES else None
    return Signature(content_hash, hashes, slots, values, zlib.compress(raw.encode(), 1))


def _us(value) -> int | None:
    from crawler.search import _us as us

    return us(value)


class DupIndex:
    """The persistent signatures, texts and confirmed pairs of one output folder."""

    def __init__(self, path: str | os.PathLike):
        p = Path(str(path).removeprefix("file://"))
        self.path = p if p.suffix == ".sqlite" else p / "index" / INDEX_FILE
        self._open()
        self._lsh = None
        self._dirty = False
        self._cache: dict[int, tuple] = {}

    def _open(self) -> None:
        self.db, self.rebuilt = sqlitedb.open_db(self.path, _schema(), log)

    def close(self) -> None:
        """Save the LSH index beside the database (if posts were added) and close."""
        if self._dirty and self._lsh is not None:
            self._save_lsh()
        self.db.close()

    def _lsh_path(self) -> Path:
        return sqlitedb.companion(self.path, LSH_FILE)

    def _save_lsh(self) -> None:
        """Pickle the LSH index (reopening then costs ~0.02 ms per post instead of ~0.2 ms)."""
        token = os.urandom(8).hex()
        tmp = self._lsh_path().with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump((token, self._lsh), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self._lsh_path())
        self.db.execute("INSERT OR REPLACE INTO meta VALUES('lsh', ?)", (token,))
        self._dirty = False

    def _touch(self, cur) -> None:
        """Before the first change of a session: the saved LSH pickle no longer matches."""
        if not self._dirty:
            cur.execute("DELETE FROM meta WHERE key='lsh'")
            self._dirty = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the LSH index, rebuilt in memory from the stored signatures -------------------------
    def _index(self):
        if self._lsh is None:
            from datasketch import MinHashLSH

            row = self.db.execute("SELECT value FROM meta WHERE key='lsh'").fetchone()
            if row and self._lsh_path().exists():
                try:
                    with open(self._lsh_path(), "rb") as f:
                        token, lsh = pickle.load(f)  # our own file under <out>/index/
                    if token == row[0]:
                        self._lsh = lsh
                        return lsh
                except Exception as exc:  # noqa: BLE001 - a damaged pickle is rebuilt below
                    log.warning("duplicate index %s: rebuilding the LSH index (%s)", self._lsh_path(), exc)
            self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
            with self._lsh.insertion_session() as session:
                for rid, sig in self.db.execute("SELECT id, sig FROM posts WHERE sig IS NOT NULL"):
                    hv = np.frombuffer(sig, dtype=np.uint32)
                    session.insert(rid, _minhash(hashvalues=hv))
        return self._lsh

    def _features(self, rid: int | None, raw: str) -> tuple[np.ndarray, dict]:
        """Shingle hashes and number slots of a normalised text, kept for the CACHE latest posts."""
        feats = _text_features(raw)
        if rid is not None:
            self._cache[rid] = feats
            if len(self._cache) > CACHE:
                self._cache.pop(next(iter(self._cache)))
        return feats

    def _load(self, rid: int) -> tuple[np.ndarray, dict]:
        if rid in self._cache:
            return self._cache[rid]
        body = self.db.execute("SELECT body FROM posts WHERE id=?", (rid,)).fetchone()[0]
        return self._features(rid, zlib.decompress(body).decode("utf-8"))

    # -- adding posts ------------------------------------------------------------------------
    def add(self, site: str, post_id: int, text: str | None, *, url: str | None = None,
            published=None, content_hash: str | None = None,
            sig: Signature | None = None) -> list[tuple[str, int, float]]:
        """Add (or update) one post; returns the posts it was confirmed to copy: [(site, post_id, jaccard)].

        sig: the text's Signature made ahead (used when its content_hash is this post's), else made here.
        """
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            found = self._add(cur, site, post_id, text, url, published, content_hash, sig)
            cur.execute("COMMIT")
        except BaseException:
            self._rollback(cur)
            raise
        return found

    def _rollback(self, cur) -> None:
        """Undo the open transaction and forget in-memory state that may be ahead of the file."""
        cur.execute("ROLLBACK")
        self._lsh = None
        self._dirty = False
        self._cache.clear()

    def _add(self, cur, site, post_id, text, url, published, content_hash,
             sig: Signature | None = None) -> list[tuple[str, int, float]]:
        lsh = self._index()
        old = cur.execute("SELECT id, content_hash FROM posts WHERE site=? AND post_id=?",
                          (site, int(post_id))).fetchone()
        if old is not None and content_hash is not None and old[1] == content_hash:
            return []
        self._touch(cur)
        if sig is None or content_hash is None or sig.content_hash != content_hash:
            sig = signature(text, content_hash)
        hashes, slots, body = sig.hashes, sig.slots, sig.body
        m = None if sig.hashvalues is None else _minhash(hashvalues=sig.hashvalues)
        if old is not None:  # a changed article: its old pairs no longer hold
            rid = old[0]
            cur.execute("DELETE FROM edges WHERE a=? OR b=?", (rid, rid))
            if rid in lsh:
                lsh.remove(rid)
            self._cache.pop(rid, None)
            cur.execute("UPDATE posts SET url=?, published=?, content_hash=?, sig=?, body=? WHERE id=?",
                        (url, _us(published), content_hash, _sig(m), body, rid))
        else:
            cur.execute("INSERT INTO posts(site, post_id, url, published, content_hash, sig, body) "
                        "VALUES(?,?,?,?,?,?,?)",
                        (site, int(post_id), url, _us(published), content_hash, _sig(m), body))
            rid = cur.lastrowid
        found = []
        if m is not None:
            for other in lsh.query(m):
                oh, on = self._load(other)
                ok, jac = same_story(hashes, oh, slots, on)
                if ok:
                    cur.execute("INSERT OR REPLACE INTO edges VALUES(?,?,?)", (min(rid, other), max(rid, other), jac))
                    s, p = cur.execute("SELECT site, post_id FROM posts WHERE id=?", (other,)).fetchone()
                    found.append((s, p, jac))
            lsh.insert(rid, m)
            self._cache[rid] = (hashes, slots)
        return found

    def add_rows(self, rows, batch: int = 1000) -> int:
        """Add rows (dicts with site, post_id, text, url, published, content_hash; or a pyarrow
        Table / DataFrame), `batch` per transaction; returns the number of confirmed pairs found."""
        from crawler.search import _rows

        n = i = 0
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            for r in _rows(rows):
                n += len(self._add(cur, r["site"], r["post_id"], r.get("text"), r.get("url"),
                                   r.get("published"), r.get("content_hash")))
                i += 1
                if i % batch == 0:
                    cur.execute("COMMIT")
                    cur.execute("BEGIN")
            cur.execute("COMMIT")
        except BaseException:
            self._rollback(cur)
            raise
        return n

    # -- groups ------------------------------------------------------------------------------
    def groups(self) -> list[dict]:
        """One dict per post in a group of two or more: site, post_id, url, dup_group, dup_of
        (URL of the group's earliest post, None for that post itself), dup_of_site,
        dup_of_post_id, similarity (Jaccard to the earliest post, 1.0 for itself), group_size."""
        parent: dict[int, int] = {}

        def find(x):
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:
                parent[x], x = root, parent[x]
            return root

        weights = {}
        for a, b, jac in self.db.execute("SELECT a, b, jaccard FROM edges"):
            parent.setdefault(a, a)
            parent.setdefault(b, b)
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
            weights[(a, b)] = jac
        if not parent:
            return []
        members: dict[int, list[int]] = {}
        for x in parent:
            members.setdefault(find(x), []).append(x)
        info = {}
        ids = list(parent)
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            for row in self.db.execute(
                    f"SELECT id, site, post_id, url, published FROM posts WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk):
                info[row[0]] = row[1:]
        out = []
        never = float("inf")
        for group in members.values():
            group.sort(key=lambda x: (info[x][3] if info[x][3] is not None else never, info[x][0], info[x][1]))
            first = group[0]
            fsite, fpid, furl, _ = info[first]
            gid = f"{fsite}/{fpid}"
            for x in group:
                site, pid, url, _ = info[x]
                if x == first:
                    sim = 1.0
                else:
                    sim = weights.get(tuple(sorted((x, first))))
                    if sim is None:  # joined through another copy: measure it
                        sim = jaccard(self._load(x)[0], self._load(first)[0])
                out.append({"site": site, "post_id": pid, "url": url, "dup_group": gid,
                            "dup_of": None if x == first else furl,
                            "dup_of_site": None if x == first else fsite,
                            "dup_of_post_id": None if x == first else fpid,
                            "similarity": round(float(sim), 4), "group_size": len(group)})
        out.sort(key=lambda r: (r["dup_group"], r["site"], r["post_id"]))
        return out

    def count(self) -> int:
        """Number of posts with a signature record."""
        return self.db.execute("SELECT count(*) FROM posts").fetchone()[0]


def _sig(m) -> bytes | None:
    return None if m is None else np.asarray(m.hashvalues, dtype=np.uint32).tobytes()


def duplicates_schema():
    """The Arrow schema of the derived <out>/duplicates/ dataset (one row per post in a group)."""
    import pyarrow as pa

    return pa.schema([
        pa.field("site", pa.string(), nullable=False),
        pa.field("post_id", pa.int64(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("dup_group", pa.string(), nullable=False),
        pa.field("dup_of", pa.string()),
        pa.field("dup_of_site", pa.string()),
        pa.field("dup_of_post_id", pa.int64()),
        pa.field("similarity", pa.float32()),
        pa.field("group_size", pa.int32()),
        pa.field("run_id", pa.string()),
    ])


def duplicates_table(index: DupIndex | list[dict], run_id: str | None = None):
    """The groups (of an index, or its groups() already made) as a pyarrow Table of
    duplicates_schema() (what the end of a run writes)."""
    import pyarrow as pa

    rows = index.groups() if isinstance(index, DupIndex) else [dict(r) for r in index]
    for r in rows:
        r["run_id"] = run_id
    return pa.Table.from_pylist(rows, schema=duplicates_schema())


def build(out: str | os.PathLike, rows: Iterable | None = None, *, into: str | os.PathLike | None = None) -> DupIndex:
    """Open the index of `out` (or the file `into`) and add `rows` (or, with rows=None, every newest
    article in <out>/articles)."""
    idx = DupIndex(into if into is not None else out)
    if rows is None:
        from crawler.search import COLUMNS, _newest_hashes, _parquet_files, _read, _rows

        root = Path(str(out).removeprefix("file://")) / "articles"
        newest = _newest_hashes(root)  # only the current version of each post is a story
        for rel in sorted(_parquet_files(root)):
            t = _read(root, rel, COLUMNS)  # a damaged file reads as no rows, with a warning
            idx.add_rows(r for r in _rows(t) if newest.get((r["site"], r["post_id"])) == r.get("content_hash"))
    else:
        idx.add_rows(rows)
    return idx


def pairs(groups: list[dict]) -> set[frozenset]:
    """All unordered pairs of (site, post_id) inside the same group (for pairwise precision/recall)."""
    by: dict[str, list] = {}
    for r in groups:
        by.setdefault(r["dup_group"], []).append((r["site"], r["post_id"]))
    out = set()
    for members in by.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                out.add(frozenset((a, b)))
    return out



# -- the derived <out>/duplicates/ dataset ---------------------------------------------------
DUPLICATES = "duplicates"


def _dup_file_name(run_id: str | None) -> str:
    """dup-<UTC time to the microsecond>-<run id>.parquet: names sort by write time, whatever the run id."""
    import datetime as dt

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"dup-{stamp}-{run_id or 'build'}.parquet"


def _site_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.name.startswith("dup-") and p.suffix == ".parquet")
    except FileNotFoundError:
        return []


def write_duplicates(out: str | os.PathLike, index: DupIndex | list[dict], run_id: str | None = None) -> dict:
    """Rewrite <out>/duplicates/ from the index (or its groups() made already: the index may be
    closed since, or in another process): one new file per site, then the older files removed.

    Readers (`read_duplicates`) take the newest file of each site folder, so they never see an old
    and a new grouping of one site together. Returns {"rows", "groups", "files"}.
    """
    import pyarrow.compute as pc

    from crawler.store.files import _write_parquet
    from crawler.store.layout import TMP

    root = Path(str(out).removeprefix("file://"))
    table = duplicates_table(index, run_id)
    dup_root = root / DUPLICATES
    old = [f for d in (dup_root.iterdir() if dup_root.is_dir() else []) if d.is_dir() for f in _site_files(d)]
    name = _dup_file_name(run_id)
    written = []
    sites_col = table.column("site")
    for site in sorted(set(sites_col.to_pylist())):
        part = table.filter(pc.equal(sites_col, site)).drop_columns(["site"])  # site is the partition key
        written.append(_write_parquet(part, root / TMP, dup_root / f"site={site}" / name))
    for f in old:  # only after every new file is in place
        if f not in written:
            f.unlink(missing_ok=True)
    return {"rows": table.num_rows, "groups": len(set(table.column("dup_group").to_pylist())),
            "files": len(written)}


def read_duplicates(out: str | os.PathLike):
    """The duplicates dataset as a pyarrow Table of duplicates_schema() (empty when never written)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crawler.store.files import VERIFY

    root = Path(str(out).removeprefix("file://")) / DUPLICATES
    schema = duplicates_schema()
    tables = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        files = _site_files(d) if d.is_dir() and d.name.startswith("site=") else []
        if not files:
            continue
        for f in reversed(files):  # the newest complete file of this site
            try:
                t = pq.read_table(f, partitioning=None, **VERIFY)
            except FileNotFoundError:  # removed by a newer run between listing and reading
                continue
            t = t.append_column("site", pa.array([d.name[5:]] * t.num_rows, pa.string()))
            tables.append(t.select(schema.names).cast(schema))
            break
    return pa.concat_tables(tables) if tables else schema.empty_table()


def rebuild(out: str | os.PathLike, run_id: str | None = None) -> dict:
    """Rebuild the duplicate index of `out` from the current articles and rewrite duplicates/.

    The new index is built beside the old one and replaces it only when complete: a stopped rebuild
    leaves the old index, never a part of the new one that later runs would extend.
    """
    root = Path(str(out).removeprefix("file://"))
    with sqlitedb.rebuilding(root / "index" / INDEX_FILE, (LSH_FILE,)) as tmp:
        with build(root, into=tmp) as idx:
            return write_duplicates(root, idx, run_id)


def story_groups(out: str | os.PathLike, site: Any = None, min_size: int = 2) -> list[dict]:
    """The syndication groups of `out` (<out>/duplicates/), biggest first, then newest story first.

    Each group: {"group", "size", "sites", "first": post, "copies": [post, ...]} where a post is
    {"site", "post_id", "url", "title", "published", "similarity"} (title and published from the
    current article version; similarity: Jaccard of its text to the first post's, 1.0 for the first).
    site: only groups with a post on these sites (a host or a list).
    """
    from crawler.store import load

    dups = read_duplicates(out)
    if not dups.num_rows:
        return []
    wanted = {site} if isinstance(site, str) else set(site or ())
    by_group: dict[str, list[dict]] = {}
    for r in dups.to_pylist():
        by_group.setdefault(r["dup_group"], []).append(r)
    keep = {g: rows for g, rows in by_group.items()
            if len(rows) >= max(2, int(min_size)) and (not wanted or wanted & {r["site"] for r in rows})}
    if not keep:
        return []
    sites = sorted({r["site"] for rows in keep.values() for r in rows})
    articles = load(out, site=sites, columns=["site", "post_id", "title", "published"])
    meta = {(s, int(p)): (t, None if pub is None or pub != pub else pub.to_pydatetime())
            for s, p, t, pub in zip(articles["site"], articles["post_id"], articles["title"], articles["published"])}
    out_groups = []
    for group, rows in keep.items():
        posts = []
        for r in rows:
            title, published = meta.get((r["site"], int(r["post_id"])), (None, None))
            posts.append({"site": r["site"], "post_id": int(r["post_id"]), "url": r["url"], "title": title,
                          "published": published,
                          "similarity": 1.0 if r["dup_of"] is None else round(float(r["similarity"] or 0), 3)})
        first = next((p for p, r in zip(posts, rows) if r["dup_of"] is None), posts[0])
        copies = sorted((p for p in posts if p is not first),
                        key=lambda p: (p["published"] is None, p["published"] or 0, p["site"], p["post_id"]))
        out_groups.append({"group": group, "size": len(posts), "sites": sorted({p["site"] for p in posts}),
                           "first": first, "copies": copies})
    never = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    out_groups.sort(key=lambda g: (-g["size"], -(g["first"]["published"] or never).timestamp(), g["group"]))
    return out_groups


def is_local(out: str | os.PathLike) -> bool:
    """True when `out` is a local folder (path or file://): the indexes live beside local data only."""
    s = str(out)
    return "://" not in s or s.startswith("file://")


def copy_keys(out: str | os.PathLike, table) -> set[tuple[str, int]]:
    """(site, post_id) of the rows of `table` (site, post_id, published) whose story an earlier row
    of the same table already carries: what `dedup=True` leaves out (one post per group, the earliest)."""
    groups = {(r["site"], r["post_id"]): r["dup_group"] for r in read_duplicates(out)
              .select(["site", "post_id", "dup_group"]).to_pylist()}
    if not groups:
        return set()
    never = float("inf")
    rows = [(p.timestamp() if p is not None else never, s, i) for s, i, p in
            zip(table.column("site").to_pylist(), table.column("post_id").to_pylist(),
                table.column("published").to_pylist())]
    seen, drop = set(), set()
    for _, s, i in sorted(rows):
        g = groups.get((s, i))
        if g is None:
            continue
        if g in seen:
            drop.add((s, i))
        seen.add(g)
    return drop


def drop_copies(out: str | os.PathLike, table):
    """`table` without the rows copy_keys() names."""
    import pyarrow as pa
    import pyarrow.compute as pc

    drop = copy_keys(out, table)
    if not drop:
        return table
    keys = pc.binary_join_element_wise(table.column("site"), pc.cast(table.column("post_id"), pa.string()), "\x1f")
    return table.filter(pc.invert(pc.is_in(keys, value_set=pa.array([f"{s}\x1f{i}" for s, i in drop]))))
