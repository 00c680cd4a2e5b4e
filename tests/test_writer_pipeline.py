"""The writer pipeline writes buffered rows on a thread: the crawl's event loop is not blocked
while a full partition or an eviction is written, and what is written is what the synchronous
writer writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pyarrow.parquet as pq
import pytest
from store_helpers import UTC, rec

from crawler import api, store
from crawler.ledger import PostItem


def _records(n: int) -> list[dict]:
    # four months, interleaved: partitions fill, and the least recently used ones get evicted
    return [rec(i, published=dt.datetime(2024, 1 + i % 4, 3, 2, 0, tzinfo=UTC)) for i in range(n)]


def _rows(out) -> list[tuple]:
    got = []
    for f in store.dataset_files(out):
        t = pq.read_table(f, columns=["post_id", "title", "record_hash"])
        got += [(f.parent.name, *row.values()) for row in t.to_pylist()]
    return sorted(got)


def test_deferred_writes_write_what_add_writes(tmp_path):
    """add(write=False) + take(due()) + write_batch gives the files, partitions and flush count of add()."""
    sync, deferred = tmp_path / "sync", tmp_path / "deferred"
    a = store.DatasetWriter(sync, "run", flush_rows=3, max_buffer_rows=5, consolidate=False)
    b = store.DatasetWriter(deferred, "run", flush_rows=3, max_buffer_rows=5, consolidate=False)
    for r in _records(23):
        assert a.add(dict(r)) == b.add(dict(r), write=False)
        b.write_batch(b.take(b.due()))
        assert b.pending == a.pending  # the same rows are still buffered after every record
    a.close()
    b.close()
    assert a.flushes == b.flushes > 5
    assert _rows(sync) == _rows(deferred) and len(_rows(sync)) == 23
    assert len(store.dataset_files(sync)) == len(store.dataset_files(deferred))


def test_due_is_empty_below_the_bounds_and_take_empties_the_buffer(tmp_path):
    w = store.DatasetWriter(tmp_path / "d", "run", flush_rows=10, max_buffer_rows=20)
    for r in _records(8):
        w.add(r, write=False)
    assert w.due() == [] and w.pending == 8
    batch = w.take(list(w._parts))
    assert sum(len(rows) for rows in batch.values()) == 8 and w.pending == 0
    assert w.write_batch({}) == []


@pytest.fixture
def pipeline(tmp_path):
    from scrapy.utils.test import get_crawler

    from pipelines.writer import ParquetWriterPipeline
    from spiders.zblog import ZblogSpider

    out = tmp_path / "data"
    crawler = get_crawler(ZblogSpider, {"PARKCORPUS_OUT": str(out), "PARKCORPUS_ARCHIVE": False,
                                        "PARKCORPUS_DERIVED": False, "PARKCORPUS_FLUSH_ROWS": 3,
                                        "PARKCORPUS_BUFFER_ROWS": 6})
    crawler.spider = ZblogSpider.from_crawler(crawler, sites="jinshan.021cf.cn")
    if crawler.stats is None:
        from scrapy.statscollectors import MemoryStatsCollector

        crawler.stats = MemoryStatsCollector(crawler)
    pipe = ParquetWriterPipeline(crawler)
    pipe.open_spider()
    return pipe, out


def test_the_event_loop_runs_while_the_pipeline_writes(pipeline, monkeypatch):
    pipe, out = pipeline
    real = store.DatasetWriter.write_batch
    writing = threading.Event()
    threads = set()

    def slow_write(self, batch):
        if batch:
            threads.add(threading.current_thread())
            writing.set()
            time.sleep(0.2)  # a slow disk: what an eviction of many partitions costs
            writing.clear()
        return real(self, batch)

    monkeypatch.setattr(store.DatasetWriter, "write_batch", slow_write)
    items = [PostItem(r, ("jinshan.021cf.cn", r["post_id"])) for r in _records(20)]

    async def main():
        ticks_while_writing = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks_while_writing
            while not done.is_set():
                ticks_while_writing += writing.is_set()
                await asyncio.sleep(0.005)

        tick = asyncio.create_task(ticker())
        # as Scrapy does: items of many responses in flight at once
        returned = await asyncio.gather(*(pipe.process_item(it) for it in items))
        done.set()
        await tick
        return returned, ticks_while_writing

    returned, ticks = asyncio.run(main())
    crawling = set(threads)
    pipe.close_spider()  # the rest, written here at close
    assert returned == items
    assert crawling and threading.main_thread() not in crawling  # the writes ran off the event loop's thread
    assert ticks >= 10  # the loop went on while the files were written (a blocking write: 0 ticks)
    stored = api.load(str(out))
    assert sorted(stored.post_id) == list(range(20))  # every post once: none lost, none twice
    assert pipe.crawler.stats.get_value("parkcorpus/flushes") >= 3


def test_a_failed_write_stops_the_pipeline_and_keeps_what_was_written(pipeline, monkeypatch):
    pipe, out = pipeline
    real = store.DatasetWriter.write_batch
    calls = []

    def failing(self, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(out))
        return real(self, batch)

    monkeypatch.setattr(store.DatasetWriter, "write_batch", failing)
    items = [PostItem(r, ("jinshan.021cf.cn", r["post_id"])) for r in _records(20)]

    async def main():
        from scrapy.exceptions import DropItem

        dropped = 0
        for it in items:
            try:
                await pipe.process_item(it)
            except DropItem:
                dropped += 1
        return dropped

    dropped = asyncio.run(main())
    assert pipe.failed and dropped > 0
    assert "disk full" in pipe.crawler.stats.get_value("parkcorpus/fatal")
    written = api.load(str(out))
    assert 0 < len(written) < 20 and written.post_id.is_unique
