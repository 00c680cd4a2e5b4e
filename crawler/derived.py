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


class DerivedProcess:
    """DerivedIndexes in a process of its own, fed during the crawl: the crawl process only queues.

    The same `add(record, sig)` / `close(written)` as DerivedIndexes. A crawl with an extraction
    pool (PARKCORPUS_WORKERS > 1) uses it, so the duplicate index's lookups and the search index
    sync at the end run beside the crawl instead of in its process (which stays the bottleneck).
    The process forks from the pool's fork server (threads make a plain fork unsafe), ignores
    Ctrl-C like the workers (the crawl decides when to stop) and exits when the crawl process
    is gone, even SIGKILLed; what it loses then is disposable (see the module docstring).
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
        self.summary: dict = {}
        self.closed = False
        self._batch: list = []

    #: articles sent to the process per message: one pickle and pipe write per batch, not per post
    BATCH = 32

    def add(self, record: dict, sig=None) -> None:
        """Queue one written (new or changed) article for the duplicate index (sig: its dedup.Signature)."""
        if self.closed:
            return
        if not self.proc.is_alive():  # died (killed, out of memory): stop feeding it, once
            log.warning("duplicate index process is gone; `parkcorpus reextract` or `search` rebuild "
                        "what is missing")
            self.closed = True
            self.queue.cancel_join_thread()  # what is still queued has nowhere to go
            return
        # what DupIndex.add reads; the text only when no signature was made ahead
        item = {k: record.get(k) for k in ("site", "post_id", "url", "published", "content_hash")}
        if sig is None:
            item["text"] = record.get("text")
        self._batch.append((item, sig))
        if len(self._batch) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        try:
            self.queue.put(("add", batch))
        except Exception as exc:  # noqa: BLE001 - derived data must never stop a crawl
            log.warning("duplicate index process: %s", exc)

    def close(self, written: bool = True) -> dict:
        """Let the process finish (duplicates, then the search index) and wait for it; returns its summary."""
        if self.closed:
            self.proc.join()
            return self.summary
        self.closed = True
        try:
            self._send()
            self.queue.put(("close", written))
            self.queue.close()
            self.queue.join_thread()  # everything queued has reached the pipe
            self.summary = self._result.recv() or {}
        except (EOFError, OSError) as exc:
            log.warning("duplicate index process ended early (%s); `parkcorpus reextract` or `search` "
                        "rebuild what is missing", exc or "no summary")
        finally:
            self._result.close()
            self.proc.join()
        return self.summary


def _serve(out: str, run_id: str | None, queue, result, owner: int) -> None:
    """The DerivedProcess side: DerivedIndexes fed from the queue until ("close", written)."""
    from crawler.workers import _worker_init

    _worker_init(owner)
    derived = DerivedIndexes(out, run_id)
    while True:
        msg = queue.get()
        if msg[0] == "close":
            result.send(derived.close(written=msg[1]))
            result.close()
            return
        for item, sig in msg[1]:
            derived.add(item, sig)
