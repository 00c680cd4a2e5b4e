"""crawler.workers: extraction in a process pool, from async and sync code, surviving worker crashes."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from crawler.errors import NotAnArticle
from crawler.extract import extract_html
from crawler.normalize import ExtractOptions
from crawler.workers import ExtractionPool, Page, PageFailed, map_pages, pool_size
from paths import SAMPLES
from worker_tasks import CRASH, crash_once_task, crashing_task, echo_or_fail, gated_echo, pid_task

FETCHED = datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)
POST = (SAMPLES / "post-3756.html").read_bytes()
POST_URL = "http://jinshan.021cf.cn/index.php/post/3756.html"
LAIAN = (SAMPLES / "laian-post-1414.html").read_bytes()
LAIAN_URL = "http://laian.021cf.cn/index.php/post/1414.html"
LIST = (SAMPLES / "category-1.html").read_bytes()
LIST_URL = "http://jinshan.021cf.cn/index.php/category-1.html"


def crash_url(n: int) -> str:
    return f"http://jinshan.021cf.cn/index.php/post/{9000 + n}.html?{CRASH}"


@pytest.fixture(scope="module")
def pool():
    with ExtractionPool(2) as p:
        yield p


def test_pool_size_defaults_to_the_cores():
    assert pool_size(3) == 3
    assert pool_size(0) == pool_size(None) == len(os.sched_getaffinity(0))


def test_worker_record_equals_in_process_record(pool):
    expected = extract_html(POST, POST_URL, fetched_at=FETCHED)
    assert pool.extract_sync(POST, POST_URL, fetched_at=FETCHED) == expected


def test_options_travel_to_the_workers():
    options = ExtractOptions(convert="none", swaps=False, mask_phones=True)
    with ExtractionPool(1, options=options) as p:
        got = p.extract_sync(LAIAN, LAIAN_URL, fetched_at=FETCHED)
    assert got == extract_html(LAIAN, LAIAN_URL, fetched_at=FETCHED, options=options)


def test_not_an_article_travels_back(pool):
    with pytest.raises(NotAnArticle):
        pool.extract_sync(LIST, LIST_URL, fetched_at=FETCHED)


def test_async_extract_from_a_running_loop(pool):
    async def main():
        return await asyncio.gather(
            pool.extract(POST, POST_URL, fetched_at=FETCHED),
            pool.extract(LAIAN, LAIAN_URL, fetched_at=FETCHED),
            pool.extract(LIST, LIST_URL, fetched_at=FETCHED),
            return_exceptions=True,
        )

    post, laian, listing = asyncio.run(main())
    assert post == extract_html(POST, POST_URL, fetched_at=FETCHED)
    assert laian == extract_html(LAIAN, LAIAN_URL, fetched_at=FETCHED)
    assert isinstance(listing, NotAnArticle)


def test_async_crash_retries_once_then_fails_only_that_page():
    with ExtractionPool(2, task=crashing_task) as p:
        async def main():
            jobs = [p.extract(POST, POST_URL, fetched_at=FETCHED) for _ in range(6)]
            jobs.insert(3, p.extract(POST, crash_url(1), fetched_at=FETCHED))
            return await asyncio.gather(*jobs, return_exceptions=True)

        results = asyncio.run(main())
        expected = extract_html(POST, POST_URL, fetched_at=FETCHED)
        assert isinstance(results[3], PageFailed) and results[3].url == crash_url(1)
        assert str(results[3]) == f"{crash_url(1)}: the extraction worker died twice on it"
        assert [r for i, r in enumerate(results) if i != 3] == [expected] * 6  # innocent pages all done
        assert p.stats.failed == [crash_url(1)]
        assert p.stats.restarts >= 1 and p.stats.crashes >= 2
        # the pool goes on working after the crash
        assert asyncio.run(p.extract(POST, POST_URL, fetched_at=FETCHED)) == expected


def test_calls_of_one_loop_turn_travel_together_and_fail_alone():
    """`call`s made in the same turn go out in batches; each still gets its own result or error."""
    with ExtractionPool(2) as p:
        async def main():
            calls = [p.call(echo_or_fail, v, url=f"u{v}") for v in ("a", "b", "bug", "c", "d", "e")]
            return await asyncio.gather(*calls, return_exceptions=True)

        results = asyncio.run(main())
        assert [r["value"] for i, r in enumerate(results) if i != 2] == ["a", "b", "c", "d", "e"]
        assert isinstance(results[2], ValueError) and "a bug on this page" in str(results[2])
        assert p.stats.batched == 6 and 1 < p.stats.batches < 6  # batches, not one message a call


def test_calls_made_while_the_workers_are_busy_wait_and_leave_as_one_batch(tmp_path):
    """With IN_FLIGHT batches a worker out, later calls wait in the crawl process; when a batch
    comes back they go out together, in one message (batches grow with the load)."""
    from crawler import workers

    gates = [str(tmp_path / f"gate{i}") for i in range(workers.IN_FLIGHT)]
    with ExtractionPool(1) as p:
        async def main():
            held = [asyncio.ensure_future(p.call(gated_echo, gate, i)) for i, gate in enumerate(gates)]
            await asyncio.sleep(0.2)  # the held calls are out, one batch each
            sent = p.stats.batches
            later = [asyncio.ensure_future(p.call(echo_or_fail, v)) for v in "abcde"]
            await asyncio.sleep(0.2)
            waiting = p.stats.batches - sent  # no slot free: nothing more went out
            open(gates[0], "w").close()  # one batch comes back: one slot frees
            first = await held[0]
            await asyncio.sleep(0.2)
            after = p.stats.batches - sent
            for gate in gates[1:]:
                open(gate, "w").close()
            return sent, waiting, after, [first, *await asyncio.gather(*held[1:])], await asyncio.gather(*later)

        sent, waiting, after, held, later = asyncio.run(asyncio.wait_for(main(), 60))
        assert sent == workers.IN_FLIGHT and waiting == 0
        assert after == 1  # the five waited and left as one message
        assert [r["value"] for r in held] == list(range(workers.IN_FLIGHT))
        assert [r["value"] for r in later] == list("abcde")
        assert p.stats.batched == workers.IN_FLIGHT + 5 and p.stats.batches == workers.IN_FLIGHT + 1


def test_a_new_event_loop_is_not_blocked_by_the_batches_an_old_one_left_out(tmp_path):
    """asyncio.run again on the same pool (a test session, a second crawl): the first loop's
    batches still out do not count against the second loop's slots."""
    from crawler import workers

    gate = str(tmp_path / "gate")
    with ExtractionPool(1) as p:
        async def first():
            calls = [p.call(gated_echo, gate, v) for v in range(workers.IN_FLIGHT)]
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*calls), 0.3)

        async def second():
            calls = [asyncio.ensure_future(p.call(echo_or_fail, v)) for v in "xy"]
            await asyncio.sleep(0.2)
            open(gate, "w").close()  # the worker finishes the old batches, then these
            return await asyncio.gather(*calls)

        asyncio.run(first())
        assert [r["value"] for r in asyncio.run(asyncio.wait_for(second(), 60))] == ["x", "y"]


def test_calls_sent_after_an_idle_worker_died_go_to_a_fresh_executor():
    """A worker killed between pages breaks the executor before `_restart` replaces it: calls
    sent then never ran, so they go to a fresh executor instead of failing."""
    import time

    with ExtractionPool(2) as p:
        pid = asyncio.run(p.call(os.getpid))
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not p._executor._broken and time.monotonic() < deadline:  # the executor notices
            time.sleep(0.02)
        assert p._executor._broken
        assert asyncio.run(p.call(echo_or_fail, "a"))["value"] == "a"
        assert p.stats.restarts == 1 and p.stats.crashes == 0 and p.stats.failed == []


def test_the_workers_of_a_broken_executor_are_killed_even_when_sigterm_does_not_stop_them():
    """CPython's manager thread SIGTERMs a broken executor's workers and joins them; one that
    does not die of it (here: stopped) would hang the interpreter's exit. `_restart` SIGKILLs them."""
    import time

    from crawler.lock import pid_alive

    with ExtractionPool(2) as p:
        asyncio.run(p.call(os.getpid))  # the executor has started its workers
        dying, stuck = [proc.pid for proc in p._executor._processes.values()][:2]
        os.kill(stuck, signal.SIGSTOP)  # a stopped process acts on no SIGTERM until continued
        try:
            os.kill(dying, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while not p._executor._broken and time.monotonic() < deadline:
                time.sleep(0.02)
            assert asyncio.run(p.call(echo_or_fail, "a"))["value"] == "a"  # on the replacement
            deadline = time.monotonic() + 10
            while pid_alive(stuck) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not pid_alive(stuck), "a worker of the broken executor is still there"
        finally:
            if pid_alive(stuck):  # (without the fix: let the executor's join return)
                os.kill(stuck, signal.SIGKILL)


def test_a_crash_in_a_batch_fails_only_its_call():
    with ExtractionPool(2) as p:
        async def main():
            calls = [p.call(echo_or_fail, v, url=f"http://x/{v}") for v in ("a", "b", CRASH, "c")]
            return await asyncio.gather(*calls, return_exceptions=True)

        results = asyncio.run(main())
        assert isinstance(results[2], PageFailed) and results[2].url == f"http://x/{CRASH}"
        assert [results[i]["value"] for i in (0, 1, 3)] == ["a", "b", "c"]
        assert p.stats.failed == [f"http://x/{CRASH}"]


def test_page_that_crashes_once_succeeds_on_retry(tmp_path):
    task = functools.partial(crash_once_task, str(tmp_path))
    with ExtractionPool(2, task=task) as p:
        record = p.extract_sync(POST, crash_url(2), fetched_at=FETCHED)
        assert record["post_id"] == 9002 and record["title"]
        assert p.stats.failed == [] and p.stats.restarts == 1


def test_map_pages_in_order_with_errors_jobs_1_and_2():
    pages = [Page(POST, POST_URL, fetched_at=FETCHED, meta=0), Page(LIST, LIST_URL, fetched_at=FETCHED, meta=1),
             Page(LAIAN, LAIAN_URL, fetched_at=FETCHED, meta=2), Page(POST, crash_url(3), fetched_at=FETCHED, meta=3)]
    pages = pages * 3
    # in this process the crash page is extracted like any other (crashing_task would kill pytest)
    one = list(map_pages(pages, jobs=1, task=_safe_task))
    for chunk in (1, 5):
        two = list(map_pages(pages, jobs=2, task=crashing_task, chunk=chunk, window=2))
        assert [r.page.meta for r in two] == [p.meta for p in pages]
        for a, b in zip(one, two):
            if b.page.meta == 3:
                assert isinstance(b.error, PageFailed) and b.record is None and b.error.url == crash_url(3)
            else:
                assert a.record == b.record and type(a.error) is type(b.error)
        assert isinstance(two[1].error, NotAnArticle) and two[0].record["post_id"] == 3756


def _safe_task(html, url, hints, options):
    from crawler.workers import extract_task

    return extract_task(html, url, hints, options)


def test_workers_ignore_sigint_and_stop_on_shutdown():
    p = ExtractionPool(2, task=pid_task).start()
    served = {p.extract_sync(b"", f"u{i}")["pid"] for i in range(8)}
    # every worker process alive now (an idle one may not have served a page yet)
    pids = set(p._executor._processes)
    assert served <= pids and os.getpid() not in pids
    for pid in pids:
        os.kill(pid, signal.SIGINT)  # Ctrl-C reaches the process group: the parent decides
    assert p.extract_sync(b"", "after")["pid"] in pids and p.stats.restarts == 0
    p.shutdown()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="shut down"):
        p.extract_sync(b"", "late")


def test_scrapy_async_callback_awaits_the_pool(replica, tmp_path, no_proxy_env):
    """Scrapy 2.19 with the asyncio reactor: an `async def` callback awaits pool.extract."""
    import json
    from pathlib import Path

    site = replica.network.site(replica.network.hosts[0])
    pid = site.post_ids()[0]
    out = tmp_path / "out.json"
    script = Path(__file__).with_name("scrapy_pool_crawl.py")
    subprocess.run([sys.executable, str(script), replica.proxy_url, site.post_url(pid), str(out)],
                   check=True, timeout=120, env=no_proxy_env)
    result = json.loads(out.read_text())
    assert result["items"] == [{"post_id": pid, "same_as_in_process": True}]
    assert result["pool_pages"] == 1


def test_the_warm_page_runs_every_extraction_step():
    # crawler.warm extracts this page in the fork server: it must be an article with the parts
    # (places, a table, a listing) whose lazy tables a worker would otherwise build on its first page
    from crawler import warm
    from crawler.record import Page, record_task

    record = record_task(Page.of(warm.WARM_URL, warm.WARM_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}))
    assert record["template"] == "tpure" and record["title"] == "金山区工业园区厂房出租"
    assert record["places"] and record["tables"] and record["doc_type"] == "listing"
    assert warm.warm() is True


def test_a_crawls_fork_server_warms_the_crawl_steps_too():
    # CRAWL_PRELOAD imports the WARC and dedup modules before crawler.warm, which then runs the
    # page through post_task: the dedup signature's MinHash permutations are made there, once,
    # not in each worker; a plain pool's warm-up (reextract, facts) does not make them
    probe = ("import importlib, sys; from crawler import workers; "
             "[importlib.import_module(m) for m in getattr(workers, sys.argv[1])]; "
             "d = sys.modules.get('crawler.dedup'); "
             "print(d._permutations.cache_info().currsize if d else 0)")
    got = {}
    for name in ("CRAWL_PRELOAD", "PRELOAD"):
        out = subprocess.run([sys.executable, "-c", probe, name], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        got[name] = out.stdout.split()
    assert got == {"CRAWL_PRELOAD": ["1"], "PRELOAD": ["0"]}


def test_workers_keep_the_preloaded_objects_out_of_the_collector():
    from crawler.workers import map_calls
    from worker_tasks import frozen_objects

    with ExtractionPool(2) as p:
        got = [v for _t, ok, v in map_calls(frozen_objects, [(i, (), "gc") for i in range(4)], pool=p, chunk=1) if ok]
    assert len(got) == 4 and min(got) > 10_000, got


def test_workers_run_below_the_crawl_process_priority():
    from crawler.workers import WORKER_NICE, map_calls
    from worker_tasks import niceness

    with ExtractionPool(2) as p:
        got = [v for _t, ok, v in map_calls(niceness, [(i, (), "nice") for i in range(4)], pool=p, chunk=1) if ok]
    assert got == [min(19, os.nice(0) + WORKER_NICE)] * 4, got


def test_workers_start_warm():
    from crawler.workers import map_calls
    from worker_tasks import warm_state

    with ExtractionPool(2) as p:
        got = [v for _t, ok, v in map_calls(warm_state, [(i, (), "warm") for i in range(4)], pool=p, chunk=1) if ok]
    assert len(got) == 4
    assert all(g["gazetteer"] == 1 and g["body_options"] == 1 for g in got), got
