"""Subprocess entry point of a crawl: ``python -m crawler.runner '<json job>'``.

The job is what crawler.crawl.crawl() prepared: {"spider_args", "settings", "verbosity",
"log_file"}. One CrawlerProcess per process is all Scrapy allows, hence the subprocess.
The first SIGTERM (or SIGINT) stops the crawl gracefully (pipelines flush), a second one stops
it at once. If the parent dies (even by SIGKILL, which it cannot forward), the kernel sends us
SIGTERM (PR_SET_PDEATHSIG, set by the parent before exec) and `watch_parent` makes sure we are
gone ORPHAN_GRACE_S seconds later even when that graceful stop never comes (a busy loop).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time

#: Seconds an orphaned crawl may take to stop gracefully before it exits at once. Rows already
#: written are safe either way (every file is renamed into place whole); only buffered rows
#: of the last seconds are lost, and the next run fetches those posts again.
ORPHAN_GRACE_S = 20.0
#: Exit status when the crawl could not start (bad setting, spider argument ...): nothing was
#: fetched, so "run again" would not help; crawler.crawl says so.
STARTUP_FAILED = 3


def log_level(verbosity: int) -> str:
    """Scrapy LOG_LEVEL for -q/-v counts: errors only by default (cron-friendly)."""
    return {-1: "CRITICAL", 0: "ERROR", 1: "INFO"}.get(max(-1, min(verbosity, 2)), "DEBUG")


def watch_parent(parent: int | None = None, grace: float = ORPHAN_GRACE_S, interval: float = 0.5) -> threading.Thread:
    """Daemon thread: when `parent` (default: ours now) is gone, SIGTERM ourselves, then exit after `grace` s."""
    parent = os.getppid() if parent is None else parent

    def run() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        logging.getLogger(__name__).warning("the parkcorpus process %d is gone: stopping the crawl", parent)
        os.kill(os.getpid(), signal.SIGTERM)  # graceful stop (again, if PDEATHSIG already sent it)
        time.sleep(grace)
        os._exit(1)

    t = threading.Thread(target=run, name="parkcorpus-parent-watch", daemon=True)
    t.start()
    return t


def main(argv: list[str] | None = None) -> int:
    """Run the crawl described by the JSON job in argv[1]; the exit status is the summary's."""
    argv = sys.argv if argv is None else argv
    job = json.loads(argv[1])
    watch_parent()
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update(job.get("settings") or {}, priority="cmdline")
    verbosity = int(job.get("verbosity") or 0)
    log_file = job.get("log_file")
    settings.set("LOG_LEVEL", log_level(verbosity), priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
        settings.set("LOG_FILE_APPEND", True, priority="cmdline")
        settings.set("LOG_LEVEL", "DEBUG" if verbosity >= 2 else "INFO", priority="cmdline")

    process = CrawlerProcess(settings)
    if log_file:
        # the file gets INFO and up; the terminal still sees errors
        err = logging.StreamHandler(sys.stderr)
        err.setLevel(logging.ERROR if verbosity >= 0 else logging.CRITICAL)
        err.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(err)

    from spiders.zblog import ZblogSpider

    failures: list = []
    # a spider/component that fails to start fails this Deferred: one line, not Twisted's traceback
    process.crawl(ZblogSpider, **(job.get("spider_args") or {})).addErrback(failures.append)

    # Scrapy's own handlers: the first SIGTERM/SIGINT stops gracefully (pipelines flush what is
    # buffered), a second one stops at once. The parent runs us in our own process group, so a
    # Ctrl-C at the terminal reaches us once, as the SIGTERM the parent forwards.
    process.start()
    if failures:
        print(f"crawl process: could not start: {failures[0].getErrorMessage()}", file=sys.stderr)
        return STARTUP_FAILED
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
