"""Worker tasks for tests/test_workers.py: importable by name in a fork-server worker."""

from __future__ import annotations

import os

from crawler.workers import extract_task

#: A URL containing this kills the worker that extracts it.
CRASH = "crash-worker"


def crashing_task(html, url, hints, options):
    """extract_task, except that a page whose URL holds CRASH kills its worker (os._exit), every time."""
    if CRASH in url:
        os._exit(3)
    return extract_task(html, url, hints, options)


def crash_once_task(marker_dir, html, url, hints, options):
    """Kill the worker the first time a CRASH page is seen (a marker file remembers), then extract."""
    if CRASH in url:
        marker = os.path.join(marker_dir, str(abs(hash(url))))
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.close(fd)
            os._exit(3)
    return extract_task(html, url, hints, options)


def pid_task(html, url, hints, options):
    """The worker's PID (to find the processes)."""
    return {"pid": os.getpid(), "url": url}


def crashing_record_task(page, site, kwargs):
    """crawler.record.record_task, except that a page whose body holds CRASH kills its worker, every time."""
    from crawler.record import record_task

    if CRASH.encode() in page.body:
        os._exit(3)
    return record_task(page, site, kwargs)


def warm_state():
    """What a worker has built before its first page: the gazetteer index and the body options."""
    from crawler import extract, places

    return {"pid": os.getpid(), "gazetteer": places.gazetteer.cache_info().currsize,
            "body_options": extract._body_extractor.cache_info().currsize}


def echo_or_fail(value):
    """value back; "bug" raises a plain ValueError, CRASH kills the worker (every time)."""
    if value == "bug":
        raise ValueError("a bug on this page")
    if value == CRASH:
        os._exit(3)
    return {"value": value, "pid": os.getpid()}


def frozen_objects():
    """How many objects this process's garbage collector keeps out of its generations (gc.freeze)."""
    import gc

    return gc.get_freeze_count()


def niceness():
    """This process's nice value."""
    return os.nice(0)


def gated_echo(gate, value):
    """value back once the file gate exists (a batch held in flight until the test lets it go)."""
    import time

    deadline = time.monotonic() + 30
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"value": value, "pid": os.getpid()}
