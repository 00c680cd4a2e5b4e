"""Subprocess entry point of a crawl: ``python -m crawler.runner '<json job>'``.

The job is what crawler.crawl.crawl() prepared: {"spider_args", "settings", "verbosity",
"log_file"}. One CrawlerProcess per process is all Scrapy allows, hence the subprocess.
The first SIGTERM (or SIGINT) stops the crawl gracefully (pipelines flush), a second one stops
it at once.
"""

from __future__ import annotations

import json
import logging
import sys


def log_level(verbosity: int) -> str:
    """Scrapy LOG_LEVEL for -q/-v counts: errors only by default (cron-friendly)."""
    return {-1: "CRITICAL", 0: "ERROR", 1: "INFO"}.get(max(-1, min(verbosity, 2)), "DEBUG")


def main(argv: list[str] | None = None) -> int:
    """Run the crawl described by the JSON job in argv[1]; the exit status is the summary's."""
    argv = sys.argv if argv is None else argv
    job = json.loads(argv[1])
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

    process.crawl(ZblogSpider, **(job.get("spider_args") or {}))

    # Scrapy's own handlers: the first SIGTERM/SIGINT stops gracefully (pipelines flush what is
    # buffered), a second one stops at once. The parent runs us in our own process group, so a
    # Ctrl-C at the terminal reaches us once, as the SIGTERM the parent forwards.
    process.start()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
