"""Scrapy's scheduler with the waiting requests on disk, so a crawl's memory does not grow with the site.

A full crawl fetches list pages ahead of posts (see spiders/zblog.py), so before the first post
page is fetched every post of the site is already queued: ~100,000 Request objects (~1 KB each
with their meta and fingerprint cache) for a 100,000-post network. Scrapy only keeps its queue
on disk when JOBDIR is set, and JOBDIR also means "resume this crawl next time", which
parkcorpus does differently (the dataset is the crawl state). This scheduler uses Scrapy's own
disk queues in a private temporary folder per run, removed when the spider closes.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

from scrapy.core.scheduler import Scheduler

from crawler.lock import pid_alive

#: Temp folder names: prefix + owning PID, so a later run can remove those of killed crawls.
PREFIX = "parkcorpus-queue-"


_alive = pid_alive

def sweep_stale(root: str | None = None) -> int:
    """Remove the queue folders of crawls that were killed (their PID is gone); returns how many."""
    n = 0
    for path in glob.glob(os.path.join(root or tempfile.gettempdir(), PREFIX + "*")):
        pid = os.path.basename(path)[len(PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            n += 1
    return n


class DiskQueueScheduler(Scheduler):
    """Scheduler whose queue lives in a per-run temporary folder (PARKCORPUS_DISK_QUEUE, default on)."""

    _tmpdir: str | None = None

    @classmethod
    def from_crawler(cls, crawler):
        """Scrapy's scheduler; with no JOBDIR and PARKCORPUS_DISK_QUEUE on, its queue goes to a temp folder."""
        scheduler = super().from_crawler(crawler)
        if scheduler.dqdir is None and crawler.settings.getbool("PARKCORPUS_DISK_QUEUE", True):
            # local temp (not the output folder, which may be a slow shared mount under Scrapyd);
            # a SIGKILLed crawl cannot clean up, so each run sweeps what dead runs left
            sweep_stale()
            scheduler._tmpdir = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
            scheduler.dqdir = scheduler._dqdir(scheduler._tmpdir)
        return scheduler

    def close(self, reason):
        """Close like Scrapy's scheduler, then delete the temporary queue folder."""
        try:
            return super().close(reason)
        finally:
            if self._tmpdir:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
