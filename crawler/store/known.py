"""Known-post state: which (site, post_id, content_hash) versions the dataset already holds.

The crawl state is the dataset itself: ``known_posts(out)`` reads three columns of every file,
so there is no separate state file to lose or get out of step.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crawler.clock import to_utc
from crawler.store.layout import _site_filter, as_path
from crawler.store.reading import read_snapshot


def _hash_bytes(h: str) -> bytes | None:
    if len(h) == 64:
        try:
            return bytes.fromhex(h)
        except ValueError:
            return None
    return None


class KnownPosts(Mapping):
    """(site, post_id) -> set of stored content hashes, held in flat numpy arrays.

    A plain dict of tuples and sets costs ~500 bytes per post; here a post version costs 48
    bytes (key, 32-byte digest, fetched_at), so 100,000 posts stay under 5 MB. It is a read-only
    Mapping as HACKING.md promises, plus ``has``, ``add`` and ``newest`` for the writer.
    """

    _MERGE_AT = 20_000  # versions added since the last merge into the sorted arrays

    def __init__(self) -> None:
        self._site_ids: dict[str, int] = {}
        self._site_names: list[str] = []
        self._keys = np.empty(0, dtype=np.int64)
        self._hashes = np.empty(0, dtype="S32")
        self._fetched = np.empty(0, dtype=np.int64)
        self._added: dict[tuple[int, int], dict[str, int]] = {}
        self._n_added = 0
        self._odd: dict[tuple[int, int], dict[str, int]] = {}  # hashes that are not sha256 hex

    # key = site index in the high bits, post id in the low 40 bits (post ids are < 10^12)
    def _key(self, site: str, post_id: int, create: bool = False) -> int | None:
        idx = self._site_ids.get(site)
        if idx is None:
            if not create:
                return None
            idx = self._site_ids[site] = len(self._site_names)
            self._site_names.append(site)
        return (idx << 40) | int(post_id)

    def _base(self, key: int) -> slice:
        lo = int(np.searchsorted(self._keys, key, "left"))
        hi = int(np.searchsorted(self._keys, key, "right"))
        return slice(lo, hi)

    def _versions(self, key: int) -> dict[str, int]:
        """hex hash -> fetched_at (µs) of every stored version of key."""
        sl = self._base(key)
        # numpy "S32" strips trailing NUL bytes on read: pad back to the 32-byte digest
        found = {h.ljust(32, b"\0").hex(): int(f) for h, f in zip(self._hashes[sl], self._fetched[sl])}
        k = (key >> 40, key & ((1 << 40) - 1))
        found.update(self._added.get(k, {}))
        found.update(self._odd.get(k, {}))
        return found

    @classmethod
    def from_arrays(cls, sites: Iterable[str], post_ids: Iterable[int], hashes: Iterable[str],
                    fetched_us: Iterable[int] | None = None) -> KnownPosts:
        """Build from parallel sequences (fetched_at as µs since the epoch, optional)."""
        kp = cls()
        sites, post_ids, hashes = list(sites), list(post_ids), list(hashes)
        fetched = list(fetched_us) if fetched_us is not None else [0] * len(sites)
        kp._bulk(sites, post_ids, hashes, fetched)
        return kp

    def _bulk(self, sites: list[str], post_ids: list[int], hashes: list[str], fetched: list[int]) -> None:
        keys, digs, fts = [], [], []
        for s, p, h, f in zip(sites, post_ids, hashes, fetched):
            key = self._key(s, p, create=True)
            b = _hash_bytes(h)
            if b is None:
                self._odd.setdefault((key >> 40, int(p)), {})[h] = int(f or 0)
                continue
            keys.append(key)
            digs.append(b)
            fts.append(int(f or 0))
        if keys:
            self._merge(np.array(keys, dtype=np.int64), np.array(digs, dtype="S32"),
                        np.array(fts, dtype=np.int64))

    def _merge(self, keys: np.ndarray, digs: np.ndarray, fts: np.ndarray) -> None:
        keys = np.concatenate([self._keys, keys])
        digs = np.concatenate([self._hashes, digs])
        fts = np.concatenate([self._fetched, fts])
        order = np.lexsort((digs, keys))
        keys, digs, fts = keys[order], digs[order], fts[order]
        # the same version read twice (duplicate rows) counts once; keep its newest fetch
        if len(keys) > 1:
            same = (keys[1:] == keys[:-1]) & (digs[1:] == digs[:-1])
            if same.any():
                keep = np.ones(len(keys), dtype=bool)
                keep[:-1] = ~same
                keys, digs, fts = keys[keep], digs[keep], fts[keep]
        self._keys, self._hashes, self._fetched = keys, digs, fts

    def _flush_added(self) -> None:
        keys, digs, fts = [], [], []
        for (idx, pid), versions in self._added.items():
            for h, f in versions.items():
                keys.append((idx << 40) | pid)
                digs.append(bytes.fromhex(h))
                fts.append(f)
        self._added.clear()
        self._n_added = 0
        if keys:
            self._merge(np.array(keys, dtype=np.int64), np.array(digs, dtype="S32"),
                        np.array(fts, dtype=np.int64))

    def has(self, site: str, post_id: int, content_hash: str) -> bool:
        """True when this exact version is stored."""
        key = self._key(site, post_id)
        return key is not None and content_hash in self._versions(key)

    def has_version(self, site: str, post_id: int, record_hash: str | None, content_hash: str | None) -> bool:
        """True when this version is stored: its record_hash, or its content_hash for a row stored
        before record_hash existed (those are read by content_hash, see known_posts)."""
        key = self._key(site, post_id)
        if key is None:
            return False
        versions = self._versions(key)
        return (record_hash is not None and record_hash in versions) or (
            content_hash is not None and content_hash in versions)

    def add(self, site: str, post_id: int, content_hash: str, fetched_at: Any = None) -> None:
        """Record that a version is (about to be) stored."""
        key = self._key(site, post_id, create=True)
        ts = to_utc(fetched_at)
        us = int(ts.timestamp() * 1_000_000) if ts else 0
        k = (key >> 40, int(post_id))
        if _hash_bytes(content_hash) is None:
            self._odd.setdefault(k, {})[content_hash] = us
            return
        self._added.setdefault(k, {})[content_hash] = us
        self._n_added += 1
        if self._n_added >= self._MERGE_AT:
            self._flush_added()

    def newest(self, site: str, post_id: int) -> str | None:
        """content_hash of the newest stored version (by fetched_at), None when unknown."""
        key = self._key(site, post_id)
        if key is None:
            return None
        versions = self._versions(key)
        if not versions:
            return None
        return max(versions.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def last_fetched(self, site: str, post_id: int) -> int:
        """µs since the epoch of the newest stored fetch of a post (0 when unknown)."""
        key = self._key(site, post_id)
        return max(self._versions(key).values(), default=0) if key is not None else 0

    def sites(self) -> list[str]:
        """Sites with at least one stored post."""
        return sorted({site for site, _ in self})

    def __getitem__(self, key: tuple[str, int]) -> set[str]:
        k = self._key(key[0], key[1])
        versions = self._versions(k) if k is not None else {}
        if not versions:
            raise KeyError(key)
        return set(versions)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        k = self._key(key[0], key[1])
        return k is not None and bool(self._versions(k))

    def _all_keys(self) -> np.ndarray:
        extra = [(i << 40) | p for i, p in list(self._added) + list(self._odd)]
        return np.unique(np.concatenate([self._keys, np.array(extra, dtype=np.int64)]))

    def __iter__(self) -> Iterator[tuple[str, int]]:
        mask = (1 << 40) - 1
        for key in self._all_keys():
            key = int(key)
            yield self._site_names[key >> 40], key & mask

    def __len__(self) -> int:
        return len(self._all_keys())

    def versions(self) -> int:
        """Number of stored (site, post_id, content_hash) versions."""
        return (len(self._keys) + sum(len(v) for v in self._added.values())
                + sum(len(v) for v in self._odd.values()))


class NewestHashes(Mapping):
    """(site, post_id) -> content_hash of the newest stored version: a view over KnownPosts."""

    def __init__(self, known: KnownPosts):
        self._known = known

    def __getitem__(self, key: tuple[str, int]) -> str:
        h = self._known.newest(*key) if isinstance(key, tuple) and len(key) == 2 else None
        if h is None:
            raise KeyError(key)
        return h

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)



def known_posts(out: str | os.PathLike, sites: Iterable[str] | str | None = None,
                by: str = "record_hash") -> KnownPosts:
    """The crawl state: (site, post_id) -> stored version hashes (record_hash, else content_hash)."""

    def read(dataset) -> KnownPosts:
        known = KnownPosts()
        if dataset is None:
            return known
        scanner = dataset.scanner(columns=["site", "post_id", "content_hash", "record_hash", "fetched_at"],
                                  filter=_site_filter(sites), batch_size=65_536)
        for batch in scanner.to_batches():
            if batch.num_rows == 0:
                continue
            fetched = pc.cast(batch.column("fetched_at"), pa.int64()).fill_null(0)
            # a version is known by its record_hash; rows written before that column existed by
            # their content_hash, so upgrading does not make every stored post "changed"
            ident = (pc.coalesce(batch.column("record_hash"), batch.column("content_hash"))
                     if by == "record_hash" else batch.column("content_hash"))
            known._bulk(batch.column("site").to_pylist(), batch.column("post_id").to_pylist(),
                        ident.to_pylist(), fetched.to_pylist())
        return known

    # a damaged file is skipped with a warning: its posts count as not stored and are fetched again
    return read_snapshot(out, read) if as_path(out).is_dir() else KnownPosts()


def newest_hash(out: str | os.PathLike, sites: Iterable[str] | str | None = None) -> NewestHashes:
    """(site, post_id) -> content_hash of the newest stored version (for --refresh change checks)."""
    return NewestHashes(known_posts(out, sites, by="content_hash"))

