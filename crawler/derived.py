"""Derived data a crawl keeps up to date beside the dataset: duplicate groups and the search index.

Both live under <out>/index/ (local folders only) and are disposable: a failure here is logged
and never fails the crawl, and `parkcorpus search` / `reextract` rebuild what is missing.

Both are fed as the crawl writes: the duplicate index post by post, the search index in batches
(one transaction each) of rows marked pending. The end of the run then only writes the duplicate
groups and syncs the search index, which finds the run's rows already indexed in the new files
and confirms them; rows that never reached a file (the writer failed, the run was killed) are
dropped by that sync or the next one (crawler.search).
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)


def search_row(record: dict[str, Any]) -> dict[str, Any]:
    """What the search index keeps of a written record, its timestamps in UTC as the writer stores them."""
    from crawler.clock import to_utc
    from crawler.search import COLUMNS

    row = {k: record.get(k) for k in COLUMNS}
    for name in ("published", "fetched_at", "extracted_at"):
        row[name] = to_utc(row[name])
    return row


def _close_quietly(index) -> None:
    """Close an index that failed (what closing it raises too is beside the point)."""
    try:
        index.close()
    except Exception:  # noqa: BLE001
        pass


def write_duplicates(out: str | os.PathLike, run_id: str | None, groups: list[dict]) -> dict:
    """Write <out>/duplicates/ from DupIndex.groups(): {"duplicates": counts}, or {} with a warning
    when it failed (derived data never fails a crawl)."""
    from crawler import dedup

    try:
        return {"duplicates": dedup.write_duplicates(out, groups, run_id)}
    except Exception as exc:  # noqa: BLE001
        log.warning("duplicates not written: %s", exc)
        return {}


class DerivedIndexes:
    """Per-run feeder: `add(record)` for each new or changed article, `close()` at the end of the run."""

    #: rows added to the search index per transaction: FTS5 writes a segment per commit, and
    #: merging small ones costs (1,000 replica posts: 0.55 ms a post in transactions of 32,
    #: 0.35-0.4 in transactions of 128 or more); what waits is indexed by the last flush or the sync
    SEARCH_BATCH = 128

    def __init__(self, out: str | os.PathLike, run_id: str | None):
        from crawler import dedup, search

        self.out = out
        self.run_id = run_id
        self.dups = None
        self.search = None
        self.local = dedup.is_local(out)
        self.fed = 0  # rows this run added to the search index (pending until a sync finds them)
        self._rows: list[dict] = []
        self._groups: list[dict] | None = None  # the duplicate groups (DupIndex.groups()), made by drain()
        self.summary: dict = {}
        if not self.local:
            log.info("duplicate groups and the search index are kept for local datasets only (%s)", out)
            return
        try:
            self.dups = dedup.DupIndex(out)
        except Exception as exc:  # noqa: BLE001 - derived data must never stop a crawl
            log.warning("duplicate index not opened: %s", exc)
        try:
            self.search = search.SearchIndex(out)
        except Exception as exc:  # noqa: BLE001
            log.warning("search index not opened (synced at the end of the run): %s", exc)

    def add(self, record: dict, sig=None) -> None:
        """Feed one written (new or changed) article to both indexes (sig: its dedup.Signature, if made ahead).

        The record must carry the version fields the file holds (crawler.store.writer.stamp_version
        before the write).
        """
        if self.search is not None:
            self._rows.append(search_row(record))
            if len(self._rows) >= self.SEARCH_BATCH:
                self.flush()
        if self.dups is None:
            return
        try:
            self.dups.add(record["site"], record["post_id"], record.get("text"), url=record.get("url"),
                          published=record.get("published"), content_hash=record.get("content_hash"), sig=sig)
        except Exception as exc:  # noqa: BLE001
            log.warning("duplicate index: %s; groups are rebuilt by the next reextract", exc)
            self._drop()

    def flush(self) -> None:
        """Add the rows waiting for the search index, in one transaction, marked pending."""
        rows, self._rows = self._rows, []
        if self.search is None or not rows:
            return
        # posts published in one second get rowids in the order they are added: by post, as a sync
        # reading the files would add them, rather than in the order the crawl met them
        rows.sort(key=lambda r: (r["site"], r["post_id"]))
        try:
            self.search.add(rows, pending=True)
            self.fed += len(rows)
        except Exception as exc:  # noqa: BLE001
            log.warning("search index: %s; the sync at the end of the run indexes the rest", exc)
            self._drop_search()

    def _drop_search(self) -> None:
        _close_quietly(self.search)
        self.search = None

    def _drop(self) -> None:
        _close_quietly(self.dups)
        self.dups = None

    def drain(self) -> None:
        """The feed is over (no add after this) and the writer is about to close: index the rows
        waiting for the search index (marked pending: the sync at close drops those no file
        holds) and finish the duplicate groups, so that close() only writes them, when the rows
        were written. In a DerivedProcess this runs beside the writer's close."""
        self.flush()
        self._make_groups()

    def _make_groups(self) -> None:
        if self.dups is not None:
            try:
                self._groups = self.dups.groups()
            except Exception as exc:  # noqa: BLE001
                log.warning("duplicates not written: %s", exc)
            self._drop()

    def take_groups(self) -> list[dict] | None:
        """The duplicate groups (made by drain(), or now), and the duplicate index closed: what
        write_duplicates writes. None when there are none to write (not a local dataset, or the
        index failed)."""
        self._make_groups()
        groups, self._groups = self._groups, None
        return groups

    def close(self, written: bool = True, keys: tuple[Any, dict] | None = None) -> dict:
        """Write <out>/duplicates/ (when the rows were written) and close that index, then sync the
        search index: it confirms the rows fed, indexes what the files hold and was not fed, and
        drops the rows fed that no file holds (the writer failed).

        keys: the writer's DatasetWriter.written_keys(): the sync takes the version keys of the
        files it lists from there instead of reading them (~1.5 ms a file)."""
        groups = self.take_groups()
        if written and groups is not None:
            self.summary.update(write_duplicates(self.out, self.run_id, groups))
        self.sync(written, keys)
        return self.summary

    def sync(self, written: bool = True, keys: tuple[Any, dict] | None = None) -> dict:
        """close() without the duplicates: the search index's last rows and its sync."""
        from crawler import search

        if written:
            self.flush()
        self._rows = []  # not written: the sync indexes what did reach a file
        if self.search is not None:
            self._drop_search()
        if not self.local:
            return self.summary
        try:
            counts = search.build(self.out, keys if written else None)
            log.info("search index: %d rows fed during the run; the sync read %d of %d rows of %d new files "
                     "whole, dropped %d pending rows no file holds", self.fed, counts["read"],
                     counts["read"] + counts["skipped"], counts["files"], counts["repaired"])
            if written:
                self.summary["search_index"] = {k: counts.get(k) for k in ("posts", "rebuilt")}
        except Exception as exc:  # noqa: BLE001
            log.warning("search index not updated (the next search syncs it): %s", exc)
        return self.summary


class DerivedProcess:
    """DerivedIndexes in a process of its own, fed during the crawl: the crawl process only queues.

    The same `add(record, sig)` / `close(written)` as DerivedIndexes. A crawl with an extraction
    pool (PARKCORPUS_WORKERS > 1) uses it, so the duplicate index's lookups, the search index's
    tokenising and the sync at the end run beside the crawl instead of in its process (which
    stays the bottleneck). The process forks from the pool's fork server (threads make a plain
    fork unsafe), ignores Ctrl-C like the workers (the crawl decides when to stop) and exits when
    the crawl process is gone, even SIGKILLed, without indexing what is still queued; what it
    loses then is disposable, and the rows it indexed that no file holds are dropped by the next
    sync (see the module docstring).
    """

    def __init__(self, out: str | os.PathLike, run_id: str | None):
        import multiprocessing

        from crawler.workers import CRAWL_PRELOAD, START_METHOD

        ctx = multiprocessing.get_context(START_METHOD)
        if START_METHOD == "forkserver":  # the server may start here, before the crawl's pool: warm it alike
            ctx.set_forkserver_preload(CRAWL_PRELOAD)
        self.queue = ctx.Queue()
        self._result, child_end = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_serve, args=(str(out), run_id, self.queue, child_end, os.getpid()),
                                name="parkcorpus-derived", daemon=True)
        self.proc.start()
        child_end.close()  # the child holds the only write end: its death reads as EOF here
        self.out, self.run_id = out, run_id
        self.summary: dict = {}
        self.closed = False
        self._batch: list = []

    #: articles sent to the process per message: one pickle and pipe write per batch, not per post
    BATCH = 32

    def add(self, record: dict, sig=None) -> None:
        """Queue one written (new or changed) article for the duplicate index (sig: its dedup.Signature)."""
        if self.closed:
            return
        # what DupIndex.add and the search index read (the text: search needs it even with a signature)
        self._batch.append((search_row(record), sig))
        if len(self._batch) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        """Queue the batch; if the process died (killed, out of memory), stop feeding it, once."""
        batch, self._batch = self._batch, []
        if not batch or self.closed:
            return
        if not self.proc.is_alive():  # checked per batch, not per post: it is a system call
            log.warning("duplicate index process is gone; `parkcorpus reextract` or `search` rebuild "
                        "what is missing")
            self.closed = True
            self.queue.cancel_join_thread()  # what is still queued has nowhere to go
            return
        try:
            self.queue.put(("add", batch))
        except Exception as exc:  # noqa: BLE001 - derived data must never stop a crawl
            log.warning("duplicate index process: %s", exc)

    def drain(self) -> None:
        """The feed is over: send what waits, and have the process index it and get ready for close
        while the writer closes (both end phases run side by side; close() then does the rest)."""
        self._send()
        if self.closed:
            return
        try:
            self.queue.put(("drain",))
        except Exception as exc:  # noqa: BLE001
            log.warning("duplicate index process: %s", exc)

    def close(self, written: bool = True, keys: tuple[Any, dict] | None = None) -> dict:
        """Let the process finish and wait for it; returns the summary.

        The process sends the duplicate groups back, and this process writes them (when the rows
        were written) while that one syncs the search index: building an Arrow table from Python
        objects makes pyarrow import pandas (~0.2 s of CPU), which this process has done already
        and the index process then never needs to."""
        self._send()  # (finds a dead process too)
        if self.closed:
            self.proc.join()
            return self.summary
        self.closed = True
        try:
            self.queue.put(("close", written, keys))
            self.queue.close()
            self.queue.join_thread()  # everything queued has reached the pipe
            groups = self._result.recv()
            if written and groups is not None:
                self.summary.update(write_duplicates(self.out, self.run_id, groups))
            self.summary.update(self._result.recv() or {})
        except (EOFError, OSError) as exc:
            log.warning("duplicate index process ended early (%s); `parkcorpus reextract` or `search` "
                        "rebuild what is missing", exc or "no summary")
        finally:
            self._result.close()
            self.proc.join()
        return self.summary


def _serve(out: str, run_id: str | None, queue, result, owner: int) -> None:
    """The DerivedProcess side: DerivedIndexes fed from the queue until ("close", written, keys)."""
    from crawler.lock import pid_alive
    from crawler.workers import _worker_init

    _worker_init(owner)
    derived = DerivedIndexes(out, run_id)
    while True:
        msg = queue.get()
        if not pid_alive(owner):  # killed: what is still queued may never reach a file, so index no more
            os._exit(1)
        if msg[0] == "close":  # the groups go back to be written (see DerivedProcess.close)
            groups = derived.take_groups()  # (closes the duplicate index either way)
            result.send(groups if msg[1] else None)
            result.send(derived.sync(written=msg[1], keys=msg[2]))
            result.close()
            return
        if msg[0] == "drain":
            derived.drain()
            continue
        for item, sig in msg[1]:
            derived.add(item, sig)
