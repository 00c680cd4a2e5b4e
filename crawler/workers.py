"""Extraction on every core: a process pool that runs the pure `extract_html` outside the caller's process.

A crawl spends about as much CPU extracting a page as Scrapy spends fetching it, so extraction in
the Scrapy process leaves the other cores idle. `ExtractionPool` is started once per crawl and fed
from async code (`await pool.extract(html, url, ...)` from an `async def parse_post` under Scrapy's
asyncio reactor); `map_pages(pages, jobs)` is the batch form for `reextract` and `facts`.

Workers come from a `forkserver` context: forking a threaded process (Twisted, asyncio, the lock's
heartbeat) is unsafe, and spawn would re-import trafilatura for every worker; the fork server
imports `crawler.extract` once and forks warm workers from it, also after a crash.

A worker that dies (segfault in a C extension, OOM kill) breaks the whole executor: every page in
flight fails with BrokenProcessPool. The pool then starts a new executor, and retries each of those
pages once, one at a time in a separate one-worker executor, so a page that kills its worker again
is identified exactly (PageFailed with its URL) and never takes innocent pages with it.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import multiprocessing
import os
import pickle
import signal
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

from crawler.errors import ParkcorpusError
from crawler.lock import pid_alive

#: Start method of worker processes (see the module docstring).
START_METHOD = "forkserver"
#: Modules the fork server imports once, so every worker (and every restarted one) starts warm.
PRELOAD = ["crawler.extract", "crawler.record", "crawler.warm"]  # crawler.warm: extracts one page
#: What a crawl's workers also run per page (crawler.record.post_task: WARC records, dedup
#: signatures) and its index process needs: preloaded for a crawl only (datasketch brings scipy).
#: crawler.warm comes last: finding these imported, it warms them up too (see there).
CRAWL_PRELOAD = [m for m in PRELOAD if m != "crawler.warm"] + [
    "crawler.archive", "warcio.warcwriter", "crawler.dedup", "datasketch", "crawler.warm"]
#: Most calls `ExtractionPool.call` sends to a worker as one message (see there). Each message
#: costs the crawl process's executor threads ~0.8 ms of CPU (wake-ups, pipe, pickling), which
#: batches of up to 16 spread over more pages than 4 did: 1,000 posts went in ~70 messages instead
#: of ~400, and the crawl process's CPU a page fell ~0.4 ms (bench/README.md).
CALL_BATCH = 16
#: Batches of `ExtractionPool.call` out at once per worker: one being extracted, one waiting
#: behind it, so a worker that finishes has its next batch at hand. Calls made while that many
#: are out wait in the crawl process and leave together when a batch comes back: batches grow
#: with the load (one page each while workers idle, CALL_BATCH when they are busy).
IN_FLIGHT = 2
#: Niceness added to every worker process (extraction workers, the index process): the crawl's
#: event loop keeps fetching at full pace, and at normal priority, while the workers use whatever
#: CPU it leaves; a fair share between them idles the loop (fewer pages in flight) whenever the
#: workers are runnable. On a 2-core machine, a 1,000-post crawl measured ~7% more pages/s with it.
#: +19 was tried (2026-12-01): the crawl process waited less for a core (0.23 against 0.40 s a
#: 1,000-post run) but pages/s did not measurably change, and beside two busy nice-0 processes a
#: 300-post crawl took 43 s instead of 30: extraction starves on a busy machine (bench/README.md).
WORKER_NICE = 10


class PageFailed(ParkcorpusError):
    """A page killed its extraction worker twice; it is reported as failed with its URL."""

    def __init__(self, url: str, reason: str = "the extraction worker died twice on it"):
        super().__init__(f"{url}: {reason}")
        self.url = url


def default_workers() -> int:
    """The pool size when PARKCORPUS_WORKERS is 0 or unset: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def pool_size(workers: int | None) -> int:
    """The number of worker processes for a PARKCORPUS_WORKERS value (0 or None: every core)."""
    if workers is None or int(workers) <= 0:
        return default_workers()
    return int(workers)


def extract_task(html: bytes, url: str, hints: dict[str, Any], options: Any) -> dict:
    """What a worker runs for one page: the pure extractor, unchanged (NotAnArticle travels back)."""
    from crawler.extract import extract_html

    return extract_html(html, url, options=options, **hints)


def batch_task(task: Callable[..., dict], items: list[tuple[bytes, str, dict]], options: Any) -> list[tuple[bool, Any]]:
    """Run task on several pages in one worker call: [(True, record) | (False, NotAnArticle ...)].

    One call per page costs a round trip through the executor's queues; a few pages per call
    keep that overhead small next to the ~3-10 ms extraction of a page.
    """
    out: list[tuple[bool, Any]] = []
    for html, url, hints in items:
        try:
            out.append((True, task(html, url, hints, options)))
        except ParkcorpusError as exc:
            out.append((False, exc))
    return out


def call_batch(fn: Callable[..., Any], arglists: list[tuple],
               catch: type[BaseException] | tuple = ParkcorpusError) -> list[tuple[bool, Any]]:
    """Run fn on several argument tuples in one worker call: [(True, result) | (False, the exception)].

    catch: the exceptions that stay with their call (ParkcorpusError: page-level outcomes; the
    crawl's batches catch every Exception, so one page's bug fails that page only); any other
    exception fails the whole call.
    """
    out: list[tuple[bool, Any]] = []
    for args in arglists:
        try:
            out.append((True, fn(*args)))
        except catch as exc:
            out.append((False, _picklable(exc)))
    return out


def _picklable(exc: BaseException) -> BaseException:
    """exc, or a RuntimeError naming it when it cannot travel back to the parent process."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - whatever the pickling problem, the message still travels
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _hand_out(waiters: list[asyncio.Future], done: asyncio.Future) -> None:
    """Settle each call's waiter from its batch's results (or the batch's exception)."""
    if done.cancelled():
        for waiter in waiters:
            waiter.cancel()
        return
    exc = done.exception()
    results = [(False, exc)] * len(waiters) if exc is not None else done.result()
    for waiter, (ok, value) in zip(waiters, results):
        if waiter.done():  # cancelled while its page was in the pool
            continue
        if ok:
            waiter.set_result(value)
        else:
            waiter.set_exception(value)


def _worker_init(owner: int | None = None) -> None:
    # Ctrl-C reaches the whole process group: the parent decides how to stop (finish the pages in
    # flight, flush its buffers), so a worker must not die of the SIGINT meant for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # what the fork server preloaded (~190k objects: trafilatura, the gazetteer ...) lives as long
    # as the worker: out of the collector's generations, full collections stop walking it (and
    # stop touching, hence copying, the pages it shares with the fork server)
    gc.freeze()
    os.nice(WORKER_NICE)
    if owner is not None:
        _die_with_owner(owner)


def _discard(broken: ProcessPoolExecutor) -> None:
    """Shut a broken executor down without waiting, and SIGKILL the workers it still has.

    Its manager thread SIGTERMs them and joins them; a worker that has not died of that (seen
    once: idle on its call queue, the join never returned) would hang the interpreter's exit,
    which joins that thread. A broken executor's calls have all failed already, so nothing of
    value runs there. (`_processes` is the executor's own table of its workers.)
    """
    workers = list((getattr(broken, "_processes", None) or {}).values())
    broken.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        if proc.is_alive():
            try:
                proc.kill()
            except (OSError, ValueError):  # exited meanwhile, or already closed
                pass


#: Seconds between a worker's checks that the process owning its pool is alive.
OWNER_POLL_S = 0.5


def _die_with_owner(owner: int) -> None:
    """Exit when the pool's owner is gone (even SIGKILLed): a worker's parent is the fork server,
    which every worker keeps alive (it holds the server's "alive" pipe), and a worker waits on its
    call queue forever otherwise; a killed crawl must leave no process behind."""

    def watch() -> None:
        import time

        while pid_alive(owner):
            time.sleep(OWNER_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parkcorpus-worker-watch", daemon=True).start()


@dataclass
class PoolStats:
    """What the pool counted: pages done, worker crashes, executor restarts, pages failed (URLs)."""

    pages: int = 0
    crashes: int = 0
    restarts: int = 0
    failed: list[str] = field(default_factory=list)
    batches: int = 0  # messages `call` sent, and the calls they carried
    batched: int = 0


class ExtractionPool:
    """A process pool for `extract_html`: started once, fed from async or sync code, crash-tolerant.

    workers: number of processes (0/None: every core); options: the ExtractOptions of every page;
    task: the function a worker runs (extract_task; tests pass one that crashes on purpose).
    Raises what the task raises (NotAnArticle, MalformedPage), or PageFailed after a second crash.
    """

    def __init__(self, workers: int | None = None, options: Any = None,
                 task: Callable[..., dict] = extract_task, start_method: str = START_METHOD,
                 preload: list[str] | None = None):
        self.workers = pool_size(workers)
        self.options = options
        self.task = task
        self.stats = PoolStats()
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # (the fork server is one per process: the first pool or process started sets it)
            self._context.set_forkserver_preload(preload or PRELOAD)
        self._executor: ProcessPoolExecutor | None = None
        self._quarantine: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # guards the executors (restarts come from any thread)
        self._retry_lock = threading.Lock()  # one retry at a time: a crash then names its page
        self._async_retry: asyncio.Lock | None = None
        self._closed = False
        self._pending: list[tuple] = []  # calls not sent yet: of this event-loop turn, or waiting for a slot (see call)
        self._flush_scheduled = False
        self._in_flight = 0  # batches of `call` sent and not yet answered
        self._loop: asyncio.AbstractEventLoop | None = None  # the event loop those belong to

    # ------------------------------------------------------------------ lifecycle

    def _new_executor(self, size: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=size, mp_context=self._context, initializer=_worker_init,
                                   initargs=(os.getpid(),))

    def start(self) -> "ExtractionPool":
        """Start the worker processes (once; later calls do nothing)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the extraction pool is shut down")
            if self._executor is None:
                self._executor = self._new_executor(self.workers)
                # start the processes now, not on the first page: a crawl's first pages stay fast
                for f in [self._executor.submit(os.getpid) for _ in range(self.workers)]:
                    f.result()
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers: wait=True finishes the pages in flight first; idempotent."""
        with self._lock:
            self._closed = True
            executors = [e for e in (self._executor, self._quarantine) if e is not None]
            self._executor = self._quarantine = None
        for executor in executors:
            executor.shutdown(wait=wait, cancel_futures=not wait)

    def __enter__(self) -> "ExtractionPool":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(wait=exc[0] is None)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the extraction pool is shut down")
            if self._executor is None:
                self._executor = self._new_executor(self.workers)
            return self._executor

    def _restart(self, broken: ProcessPoolExecutor, crashed: bool = True) -> None:
        """Replace a broken main executor (once, whoever notices first); crashed: count a crash
        (a page's batch died with it), not only a submit refused by it."""
        with self._lock:
            self.stats.crashes += crashed
            if self._executor is broken and not self._closed:
                _discard(broken)
                self._executor = self._new_executor(self.workers)
                self.stats.restarts += 1

    def _quarantine_executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the extraction pool is shut down")
            if self._quarantine is None:
                self._quarantine = self._new_executor(1)
            return self._quarantine

    def _drop_quarantine(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            self.stats.crashes += 1
            if self._quarantine is broken:
                _discard(broken)
                self._quarantine = None

    def _args(self, html: bytes, url: str, hints: dict[str, Any]) -> tuple:
        return (self.task, html, url, hints, self.options)

    # ------------------------------------------------------------------ async (the crawl)

    async def extract(self, html: bytes, url: str, *, fetched_at: datetime | None = None,
                      server_date: datetime | None = None, feed_published: datetime | None = None,
                      archive_month: tuple[int, int] | None = None) -> dict:
        """The record of one page, extracted in a worker; awaitable from asyncio code (Scrapy callbacks)."""
        hints = _hints(fetched_at, server_date, feed_published, archive_month)
        loop = asyncio.get_running_loop()
        executor = self._current()
        try:
            record = await loop.run_in_executor(executor, *self._args(html, url, hints))
        except BrokenProcessPool:
            self._restart(executor)
            if self._async_retry is None:
                self._async_retry = asyncio.Lock()
            async with self._async_retry:
                quarantine = self._quarantine_executor()
                try:
                    record = await loop.run_in_executor(quarantine, *self._args(html, url, hints))
                except BrokenProcessPool:
                    self._drop_quarantine(quarantine)
                    self.stats.failed.append(url)
                    raise PageFailed(url) from None
        return self._count(record)

    async def call(self, fn: Callable[..., Any], *args: Any, url: str = "") -> Any:
        """fn(*args) in a worker (fn and args picklable), awaitable; crash: retried once alone, then PageFailed(url).

        Calls made in the same turn of the event loop travel to the workers together, up to
        CALL_BATCH a message (`submit_calls`): one pickle, pipe write and result message per batch
        instead of per page, which is most of what handing pages out costs the crawl process.
        At most IN_FLIGHT batches a worker are out at once; calls made meanwhile wait here and
        leave together when one comes back. Each call still gets its own result or exception.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # another event loop (asyncio.run again): the batches the old one sent are not waited
            # for here, and what it left unsent has no one awaiting it
            self._loop, self._in_flight, self._pending, self._flush_scheduled = loop, 0, [], False
        waiter = loop.create_future()
        self._pending.append((fn, args, url, waiter))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush_calls, loop)
        return await waiter

    def _flush_calls(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the calls gathered so far, as batches of one function each, while fewer than
        IN_FLIGHT batches a worker are out; the rest wait for a batch to come back."""
        self._flush_scheduled = False
        room = IN_FLIGHT * self.workers - self._in_flight
        if room <= 0 or not self._pending:
            return
        groups: dict[Any, list] = {}
        for call in self._pending:
            if not call[3].done():  # cancelled while it waited: nothing to extract it for
                groups.setdefault(call[0], []).append(call)
        self._pending = []
        for fn, calls in groups.items():
            # spread over the free slots (idle workers share a burst), at most CALL_BATCH a message
            size = min(CALL_BATCH, -(-len(calls) // room)) if room > 0 else CALL_BATCH
            for i in range(0, len(calls), size):
                chunk = calls[i:i + size]
                if room <= 0:
                    self._pending.extend(chunk)
                    continue
                room -= 1
                self.stats.batches += 1
                self.stats.batched += len(chunk)
                try:
                    done = self.submit_calls(fn, [c[1] for c in chunk], [c[2] for c in chunk], catch=Exception)
                except BaseException as exc:  # noqa: BLE001 - a shut-down pool: every waiter hears it
                    for *_rest, waiter in chunk:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                self._in_flight += 1
                asyncio.wrap_future(done, loop=loop).add_done_callback(
                    functools.partial(self._returned, loop, [c[3] for c in chunk]))

    def _returned(self, loop: asyncio.AbstractEventLoop, waiters: list[asyncio.Future], done: asyncio.Future) -> None:
        """A batch is back: its waiters get their results, and the calls waiting meanwhile go out."""
        if loop is self._loop:
            self._in_flight -= 1
        _hand_out(waiters, done)
        if self._pending and not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush_calls, loop)

    def submit_calls(self, fn: Callable[..., Any], arglists: list[tuple], urls: list[str],
                     catch: type[BaseException] | tuple = ParkcorpusError) -> Future:
        """fn(*args) for each args as one worker call; the result is call_batch's list (catch: see there).

        After a crash each call is retried alone; one that crashes again gives (False, PageFailed(url)).
        """
        executor = self._current()
        try:
            first = executor.submit(call_batch, fn, arglists, catch)
        except BrokenProcessPool:
            # a worker died (another page's crash, the OOM killer) and the executor is not
            # replaced yet: these calls never ran, so they go to the replacement, not to the retry
            self._restart(executor, crashed=False)
            executor = self._current()
            first = executor.submit(call_batch, fn, arglists, catch)
        done: Future = Future()

        def retry_all() -> None:
            out: list[tuple[bool, Any]] = []
            try:
                for args, url in zip(arglists, urls):
                    try:
                        out.append((True, self._count(self._retry_call(fn, args, url))))
                    except ParkcorpusError as exc:
                        out.append((False, exc))
            except BaseException as exc:  # noqa: BLE001
                done.set_exception(exc)
                return
            done.set_result(out)

        return self._settle_batch(first, executor, done, retry_all)

    def _retry_call(self, fn: Callable[..., Any], args: tuple, url: str) -> Any:
        with self._retry_lock:
            quarantine = self._quarantine_executor()
            try:
                return quarantine.submit(fn, *args).result()
            except BrokenProcessPool:
                self._drop_quarantine(quarantine)
                self.stats.failed.append(url)
                raise PageFailed(url) from None

    # ------------------------------------------------------------------ sync (reextract, facts)

    def submit(self, html: bytes, url: str, **hints: Any) -> Future:
        """Start one page in the pool; the future's result is extract_sync's (retry included)."""
        hints = _hints(**hints)
        executor = self._current()
        first = executor.submit(*self._args(html, url, hints))
        done: Future = Future()

        def settle(f: Future) -> None:
            try:
                done.set_result(self._count(f.result()))
            except BrokenProcessPool:
                self._restart(executor)
                # retried on a helper thread: this callback runs on the executor's own thread
                threading.Thread(target=self._retry_into, args=(done, html, url, hints), daemon=True).start()
            except BaseException as exc:  # noqa: BLE001 - NotAnArticle & co. travel to the caller
                done.set_exception(exc)

        first.add_done_callback(settle)
        return done

    def submit_many(self, items: list[tuple[bytes, str, dict]]) -> Future:
        """Start several (html, url, hints) pages as one worker call; the result is batch_task's list.

        After a crash each page of the batch is retried alone, like extract's retry.
        """
        executor = self._current()
        first = executor.submit(batch_task, self.task, items, self.options)
        done: Future = Future()
        return self._settle_batch(first, executor, done, lambda: self._retry_many_into(done, items))

    def _settle_batch(self, first: Future, executor: ProcessPoolExecutor, done: Future,
                      retry: Callable[[], None]) -> Future:
        """done gets first's batch results; after a worker crash the pool restarts and retry() (which
        settles done itself) runs each call alone on a helper thread, not the executor's own."""

        def settle(f: Future) -> None:
            try:
                results = f.result()
            except BrokenProcessPool:
                self._restart(executor)
                threading.Thread(target=retry, daemon=True).start()
                return
            except BaseException as exc:  # noqa: BLE001
                done.set_exception(exc)
                return
            with self._lock:
                self.stats.pages += sum(1 for ok, _ in results if ok)
            done.set_result(results)

        first.add_done_callback(settle)
        return done

    def _retry_many_into(self, done: Future, items: list[tuple[bytes, str, dict]]) -> None:
        out: list[tuple[bool, Any]] = []
        try:
            for html, url, hints in items:
                try:
                    out.append((True, self._count(self._retry(html, url, hints))))
                except ParkcorpusError as exc:
                    out.append((False, exc))
        except BaseException as exc:  # noqa: BLE001
            done.set_exception(exc)
            return
        done.set_result(out)

    def extract_sync(self, html: bytes, url: str, **hints: Any) -> dict:
        """The record of one page, extracted in a worker (blocking)."""
        return self.submit(html, url, **hints).result()

    def _retry_into(self, done: Future, html: bytes, url: str, hints: dict[str, Any]) -> None:
        try:
            done.set_result(self._count(self._retry(html, url, hints)))
        except BaseException as exc:  # noqa: BLE001
            done.set_exception(exc)

    def _retry(self, html: bytes, url: str, hints: dict[str, Any]) -> dict:
        with self._retry_lock:
            quarantine = self._quarantine_executor()
            try:
                return quarantine.submit(*self._args(html, url, hints)).result()
            except BrokenProcessPool:
                self._drop_quarantine(quarantine)
                self.stats.failed.append(url)
                raise PageFailed(url) from None

    def _count(self, record: dict) -> dict:
        with self._lock:  # results arrive on the loop's thread and on the executors' threads
            self.stats.pages += 1
        return record


def _hints(fetched_at: datetime | None = None, server_date: datetime | None = None,
           feed_published: datetime | None = None, archive_month: tuple[int, int] | None = None) -> dict:
    hints: dict[str, Any] = {}
    for name, value in (("fetched_at", fetched_at), ("server_date", server_date),
                        ("feed_published", feed_published), ("archive_month", archive_month)):
        if value is not None:
            hints[name] = value
    return hints


@dataclass(frozen=True)
class Page:
    """One page to extract: its bytes, URL and the date hints extract_html takes; meta rides along."""

    html: bytes
    url: str
    fetched_at: datetime | None = None
    server_date: datetime | None = None
    feed_published: datetime | None = None
    archive_month: tuple[int, int] | None = None
    meta: Any = None  # anything the caller needs back with the result (an archive record id ...)

    def hints(self) -> dict[str, Any]:
        """The keyword arguments extract_html takes besides html, url and options."""
        return _hints(self.fetched_at, self.server_date, self.feed_published, self.archive_month)


@dataclass(frozen=True)
class PageResult:
    """The outcome of one Page: record, or error (NotAnArticle, MalformedPage, PageFailed)."""

    page: Page
    record: dict | None
    error: BaseException | None


def map_pages(pages: Iterable[Page], jobs: int | None = 1, options: Any = None,
              task: Callable[..., dict] = extract_task, chunk: int = 8, window: int | None = None,
              pool: ExtractionPool | None = None) -> Iterator[PageResult]:
    """Extract pages on `jobs` processes (1: in this process; 0/None: every core), results in input order.

    Pages travel `chunk` at a time to a worker; at most `window` chunks (default 2 per worker + 1)
    are in flight, so memory stays flat however many pages the iterable yields. Errors are returned
    in PageResult.error, never raised. A started `pool` is used as it is (its size, options and
    task win) and left running.
    """
    if pool is not None:
        yield from _map_on(pool, pages, chunk, window or 2 * pool.workers + 1)
        return
    jobs = pool_size(jobs)
    if jobs == 1:
        for page in pages:
            try:
                yield PageResult(page, task(page.html, page.url, page.hints(), options), None)
            except ParkcorpusError as exc:
                yield PageResult(page, None, exc)
        return
    with ExtractionPool(jobs, options=options, task=task) as own:
        yield from _map_on(own, pages, chunk, window or 2 * jobs + 1)


def _map_on(pool: ExtractionPool, pages: Iterable[Page], chunk: int, window: int) -> Iterator[PageResult]:
    inflight: deque[tuple[list[Page], Future]] = deque()

    def settled() -> Iterator[PageResult]:
        batch, future = inflight.popleft()
        try:
            results = future.result()
        except ParkcorpusError as exc:  # not expected from a batch, but never lose the pages
            results = [(False, exc)] * len(batch)
        for page, (ok, value) in zip(batch, results):
            yield PageResult(page, value if ok else None, None if ok else value)

    batch: list[Page] = []
    for page in pages:
        batch.append(page)
        if len(batch) >= max(1, chunk):
            inflight.append((batch, pool.submit_many([(p.html, p.url, p.hints()) for p in batch])))
            batch = []
            if len(inflight) >= window:
                yield from settled()
    if batch:
        inflight.append((batch, pool.submit_many([(p.html, p.url, p.hints()) for p in batch])))
    while inflight:
        yield from settled()


def map_calls(fn: Callable[..., Any], items: Iterable[tuple[Any, tuple, str]], jobs: int | None = 1,
              chunk: int = 8, window: int | None = None,
              pool: ExtractionPool | None = None) -> Iterator[tuple[Any, bool, Any]]:
    """fn(*args) for each (tag, args, url) item on `jobs` processes (1: here; 0/None: every core), in input order.

    Yields (tag, True, result) or (tag, False, ParkcorpusError); a call that kills its worker twice
    gives PageFailed(url). The generic form of map_pages: `reextract` and `facts` run their own
    record function (crawler.record.record_task ...) this way. Memory stays flat as in map_pages.
    """
    if pool is None and pool_size(jobs) == 1:
        for tag, args, _url in items:
            try:
                yield tag, True, fn(*args)
            except ParkcorpusError as exc:
                yield tag, False, exc
        return
    if pool is None:
        with ExtractionPool(jobs) as own:
            yield from map_calls(fn, items, chunk=chunk, window=window, pool=own)
        return
    window = window or 2 * pool.workers + 1
    inflight: deque[tuple[list, Future]] = deque()

    def settled() -> Iterator[tuple[Any, bool, Any]]:
        tags, future = inflight.popleft()
        for tag, (ok, value) in zip(tags, future.result()):
            yield tag, ok, value

    batch: list[tuple[Any, tuple, str]] = []

    def send() -> None:
        inflight.append(([t for t, _, _ in batch], pool.submit_calls(fn, [a for _, a, _ in batch],
                                                                     [u for _, _, u in batch])))

    for item in items:
        batch.append(item)
        if len(batch) >= max(1, chunk):
            send()
            batch = []
            if len(inflight) >= window:
                yield from settled()
    if batch:
        send()
    while inflight:
        yield from settled()


def run_split(pool: ExtractionPool | None, fn: Callable[[list], list], jobs: list) -> list:
    """fn(jobs) with jobs split over the pool's workers (contiguous parts, results in order); here without a pool.

    fn takes a list and returns one result per item (it may stop early, as at a write error: the
    results then end there). A part whose worker died twice is run here instead.
    """
    if pool is None or not jobs:
        return fn(jobs)
    size = -(-len(jobs) // max(1, min(pool.workers, len(jobs))))
    parts = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    futures = [pool.submit_calls(fn, [(part,)], [f"{getattr(fn, '__name__', 'call')} ({len(part)} items)"])
               for part in parts]
    out: list = []
    for part, future in zip(parts, futures):
        ok, value = future.result()[0]
        results = value if ok else fn(part)
        out.extend(results)
        if len(results) < len(part):  # fn stopped early (an error): what came after is not done
            break
    return out


class CrawlExtractor:
    """The crawl's extraction: page_to_record in the pool (PARKCORPUS_WORKERS > 1 or 0) or here (1).

    One per crawler (`CrawlExtractor.of(crawler)`); the pool starts when the spider opens and
    stops when the engine has stopped, i.e. after the pipelines flushed the rows of every page
    extracted (a SIGINT/SIGTERM stop lets the pages in flight finish first).
    """

    def __init__(self, workers: int | None = None, task: Callable[..., dict] | None = None):
        self.workers = pool_size(workers)
        self.task = task  # what a worker runs: crawler.record.record_task (tests pass one that crashes)
        self.pool: ExtractionPool | None = None
        self.crawler: Any = None  # the crawler whose stats get the pool's counts (set by `of`)

    @classmethod
    def of(cls, crawler: Any) -> "CrawlExtractor":
        """The extractor of this crawler's run, created (and hooked to its signals) on first use."""
        ext = crawler.__dict__.get("parkcorpus_extractor")
        if ext is None:
            from scrapy import signals

            ext = cls(crawler.settings.getint("PARKCORPUS_WORKERS", 0))
            ext.crawler = crawler
            crawler.parkcorpus_extractor = ext
            crawler.signals.connect(ext.open, signal=signals.spider_opened, weak=False)
            crawler.signals.connect(ext.close, signal=signals.engine_stopped, weak=False)
        return ext

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start the worker processes (nothing to start with one worker: pages are extracted here)."""
        if self.workers > 1 and self.pool is None:
            self.pool = ExtractionPool(self.workers, preload=CRAWL_PRELOAD).start()

    def close(self, *args: Any, **kwargs: Any) -> None:
        """Stop the workers (after the pages in flight); their counts go to the crawl's stats."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            if self.crawler is not None:
                st = self.pool.stats
                for key, value in (("calls", st.batched), ("messages", st.batches), ("crashes", st.crashes)):
                    self.crawler.stats.set_value(f"parkcorpus/pool/{key}", value)

    async def record(self, page: Any, site: Any = None, **kwargs: Any) -> dict:
        """crawler.record.page_to_record(page, site, **kwargs), in a worker when there is a pool."""
        from crawler.record import page_to_record, record_task

        if self.pool is None:
            return page_to_record(page, site, **kwargs)
        return await self.pool.call(record_task, page, site, kwargs, url=page.url or "")

    def drive(self, steps: Any) -> Any:
        """Run a callback's steps (a generator yielding items and ExtractCall): async with a pool, plain without.

        Each ExtractCall runs crawler.record.post_task, and its Extracted (record, WARC records,
        dedup signature) is sent back into the generator (its error thrown in), so the callback
        reads like straight code; without a pool the result stays a plain generator (unit tests
        iterate it with list()).
        """
        return self._drive_async(steps) if self.pool is not None else self._drive_sync(steps)

    def _drive_sync(self, steps: Any) -> Iterator[Any]:
        from crawler.record import post_task

        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                out = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration:
                return
            value = error = None
            if isinstance(out, ExtractCall):
                try:
                    value = post_task(out.page, out.site, out.kwargs, out.archive, out.dedup)
                except Exception as exc:  # noqa: BLE001 - handed to the callback, which decides
                    error = exc
            else:
                yield out

    async def _drive_async(self, steps: Any) -> Any:
        from crawler.record import post_task

        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                out = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration:
                return
            value = error = None
            if isinstance(out, ExtractCall):
                try:
                    value = await self.pool.call(post_task, out.page, out.site, out.kwargs, out.archive, out.dedup,
                                                 self.task, url=out.page.url or "")
                except Exception as exc:  # noqa: BLE001
                    error = exc
            else:
                yield out


@dataclass(frozen=True)
class ExtractCall:
    """What a callback yields to have a page extracted: post_task(page, site, kwargs, archive, dedup).

    archive: {"url": the response URL, "request_headers": pairs} to have the exchange's WARC records
    built too; dedup: also the text's duplicate-index signature. The callback gets an Extracted back.
    """

    page: Any
    site: Any = None
    kwargs: dict = field(default_factory=dict)
    archive: dict | None = None
    dedup: bool = False
