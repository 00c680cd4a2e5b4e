"""Write records: raw response to the WARC archive, then the row through crawler.store.DatasetWriter."""

from __future__ import annotations

import asyncio
import logging

from scrapy.exceptions import DropItem
from scrapy.utils.defer import _schedule_coro

from crawler import dedup
from crawler import ledger as keys
from crawler.errors import DISK_FULL_ERRNOS
from crawler.ledger import ArchiveItem, Ledger, PostItem
from crawler.store.writer import stamp_version

logger = logging.getLogger(__name__)


class ParquetWriterPipeline:
    """Buffers rows in a DatasetWriter (a partition at PARKCORPUS_FLUSH_ROWS rows, the least recently used
    ones above PARKCORPUS_BUFFER_ROWS in all, everything on close and on SIGTERM)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.ledger = Ledger.of(crawler)
        s = crawler.settings
        self.out = s.get("PARKCORPUS_OUT") or "data"
        self.flush_rows = s.getint("PARKCORPUS_FLUSH_ROWS", 500)
        self.buffer_rows = s.getint("PARKCORPUS_BUFFER_ROWS", 0)
        self.archive_on = s.getbool("PARKCORPUS_ARCHIVE", True)
        self.writer = None
        self.derived = None
        self.archive = None
        self.failed = False
        self._turn: asyncio.Lock | None = None  # one item at a time while a buffered write runs (process_item)

    @classmethod
    def from_crawler(cls, crawler):
        """Build from the crawler (Scrapy component protocol)."""
        return cls(crawler)

    def open_spider(self):
        """Open the dataset writer (and the run's WARC file) on the spider's run id and state."""
        from crawler.archive import WarcArchive
        from crawler.store import DatasetWriter
        from crawler.store.writer import buffer_rows

        run_id = self.ledger.run_id
        if self.archive_on:
            self.archive = WarcArchive(self.out, run_id)
        self.writer = DatasetWriter(self.out, run_id, flush_rows=self.flush_rows, archive=self.archive,
                                    known=self.ledger.known_posts(),
                                    max_buffer_rows=buffer_rows(self.flush_rows, self.buffer_rows),
                                    offload=self._offload if dedup.is_local(self.out) else None)
        from crawler.derived import DerivedIndexes, DerivedProcess
        from crawler.workers import CrawlExtractor

        if self.crawler.settings.getbool("PARKCORPUS_DERIVED", True):
            # duplicate groups and search index: beside the crawl when extraction has its own
            # processes too (PARKCORPUS_WORKERS > 1), else here
            pooled = CrawlExtractor.of(self.crawler).workers > 1 and dedup.is_local(self.out)
            self.derived = (DerivedProcess if pooled else DerivedIndexes)(self.out, run_id)

    async def process_item(self, item):
        """Archive the raw response, add the row; settle the post as written.

        When the buffer is due for a write (a full partition, or evictions past
        PARKCORPUS_BUFFER_ROWS), the write runs on a thread: the event loop goes on fetching and
        handing pages to the extraction workers, so the cores stay busy while the files are
        encoded (in the workers) and fsynced. Items arriving meanwhile wait for it (the writer
        and the archive are the write's until it is done), in order.
        """
        if not isinstance(item, (PostItem, ArchiveItem)):
            return item
        if self._turn is None:
            self._turn = asyncio.Lock()
        async with self._turn:
            item = self._add(item)
            if not self.failed and self.writer is not None:
                batch = self.writer.take(self.writer.due())
                if batch:
                    await self._write(batch)
        return item

    async def _write(self, batch: dict) -> None:
        """writer.write_batch(batch) on a thread (here without a running event loop), counted; a failure stops the crawl."""
        before = self.writer.flushes
        try:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self.writer.write_batch(batch)
            else:
                await asyncio.to_thread(self.writer.write_batch, batch)
            self._count_flush(before)
        except OSError as exc:
            self._fatal(exc)

    def _add(self, item):
        """process_item's work but the write: archive the response, buffer the row, feed the indexes."""
        stats = self.crawler.stats
        if self.failed:
            raise DropItem("not written: the writer failed", log_level="DEBUG")
        try:
            ex = item.exchange
            if self.archive is not None and ex is not None:
                if ex.warc is not None:  # built by the extraction worker: only appended here
                    record_id = self.archive.append(*ex.warc)
                else:
                    record_id = self.archive.write_response(ex.url, ex.status, ex.headers, ex.body,
                                                            ex.request_headers, fetched_at=ex.fetched_at)
                if isinstance(item, PostItem):
                    item.record["warc_record_id"] = record_id
            if isinstance(item, ArchiveItem):
                # feed, date archive, 404 and not-article responses: archived, never rows
                raise DropItem("archived only", log_level="DEBUG")
            warnings = item.record.get("fact_warnings")
            if warnings:  # unreadable parcel/listing tables: the article is kept, its facts are not
                stats.inc_value(keys.FACT_WARNINGS, len(warnings))
            if "places" not in item.record:  # a record extracted outside page_to_record (a worker pool)
                from crawler.record import add_places

                add_places(item.record, None)
            if self.derived is not None:  # the indexes are fed the values the file will hold
                stamp_version(item.record)
            status = self.writer.add(item.record, write=False)
        except OSError as exc:
            self._fatal(exc)
            return item
        if status == "unchanged":
            self.ledger.settle(item.key, "unchanged")
            return item
        if self.derived is not None:
            self.derived.add(item.record, item.signature)
        stats.inc_value(keys.articles_key(status))
        stats.inc_value(keys.articles_key(status, item.record["site"]))
        self.ledger.settle(item.key, "written")
        return item

    def _offload(self, fn, jobs: list) -> list:
        """Write a batch of Parquet files in the extraction workers (split over them), else here."""
        from crawler.workers import CrawlExtractor, run_split

        return run_split(CrawlExtractor.of(self.crawler).pool, fn, jobs)

    def _count_flush(self, before: int) -> None:
        if self.writer.flushes > before:
            self.crawler.stats.inc_value(keys.FLUSHES)
            self.crawler.stats.set_value(keys.ROWS_FLUSHED, self.writer.counts.get("rows_written", 0))
            self.crawler.stats.set_value(keys.PARCELS_WRITTEN, self.writer.counts.get("parcels_written", 0))
            self.crawler.stats.set_value(keys.LISTINGS_WRITTEN, self.writer.counts.get("listings_written", 0))

    def _fatal(self, exc: OSError) -> None:
        """A write failed (disk full, folder gone): stop the crawl, the summary says why."""
        self.failed = True
        where = exc.filename or self.out
        if exc.errno in DISK_FULL_ERRNOS:
            msg = (f"disk full while writing {where} ({exc.strerror}); free some space and run the same "
                   "command again (what was written is kept)")
        else:
            msg = f"cannot write {where}: {exc.strerror or exc}"
        logger.error(msg)
        self.crawler.stats.set_value(keys.FATAL, msg)
        try:
            engine = self.crawler.engine
        except RuntimeError:  # Scrapy 2.19: not set before the crawl starts (a pipeline driven by hand)
            engine = None
        if engine is not None and engine.spider is not None and not getattr(engine, "_closewait", None):
            try:
                _schedule_coro(engine.close_spider_async(reason="write_failed"))
            except RuntimeError:  # already closing
                pass

    def close_spider(self):
        """Write what is buffered (also on SIGTERM / Ctrl-C: Scrapy closes the spider gracefully)."""
        if self.writer is None:
            return
        if self.derived is not None:
            self.derived.drain()  # the index process finishes its feed while the writer closes
        before = self.writer.flushes
        try:
            self.writer.close()  # writes the buffer, then merges the run's files per partition
            self._count_flush(before)
        except OSError as exc:
            self._fatal(exc)
        if self.derived is not None:
            # the files' version keys as written: the search sync need not read them back
            self.derived.close(written=not self.failed, keys=None if self.failed else self.writer.written_keys())
