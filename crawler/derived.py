"""Derived data a crawl keeps up to date beside the dataset: duplicate groups and the search index.

Both live under <out>/index/ (local folders only) and are disposable: a failure here is logged
and never fails the crawl, and `parkcorpus search` / `reextract` rebuild what is missing.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


class DerivedIndexes:
    """Per-run feeder: `add(record)` for each new or changed article, `close()` at the end of the run."""

    def __init__(self, out: str | os.PathLike, run_id: str | None):
        from crawler import dedup

        self.out = out
        self.run_id = run_id
        self.dups = None
        self.summary: dict = {}
        if not dedup.is_local(out):
            log.info("duplicate groups and the search index are kept for local datasets only (%s)", out)
            return
        try:
            self.dups = dedup.DupIndex(out)
        except Exception as exc:  # noqa: BLE001 - derived data must never stop a crawl
            log.warning("duplicate index not opened: %s", exc)

    def add(self, record: dict, sig=None) -> None:
        """Feed one written (new or changed) article to the duplicate index (sig: its dedup.Signature, if made ahead)."""
        if self.dups is None:
            return
        try:
            self.dups.add(record["site"], record["post_id"], record.get("text"), url=record.get("url"),
                          published=record.get("published"), content_hash=record.get("content_hash"), sig=sig)
        except Exception as exc:  # noqa: BLE001
            log.warning("duplicate index: %s; groups are rebuilt by the next reextract", exc)
            self._drop()

    def _drop(self) -> None:
        try:
            self.dups.close()
        except Exception:  # noqa: BLE001
            pass
        self.dups = None

    def close(self, written: bool = True) -> dict:
        """Write <out>/duplicates/, close the index, then sync the search index (when rows were written)."""
        from crawler import dedup, search

        if self.dups is not None:
            try:
                if written:
                    self.summary["duplicates"] = dedup.write_duplicates(self.out, self.dups, self.run_id)
            except Exception as exc:  # noqa: BLE001
                log.warning("duplicates not written: %s", exc)
            self._drop()
            try:
                if written:
                    counts = search.build(self.out)
                    self.summary["search_index"] = {k: counts.get(k) for k in ("posts", "rebuilt")}
            except Exception as exc:  # noqa: BLE001
                log.warning("search index not updated (built on first search): %s", exc)
        return self.summary
