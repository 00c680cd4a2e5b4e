"""Running crawls, the parent side: argument checks, the lock, the crawl subprocess, progress, the demo.

The child side (spider arguments: crawler.spider_args; outcomes, markers and the summary:
crawler.ledger) runs inside the subprocess.

`crawl()` validates everything it can up front (usage errors exit 2 before any request), takes the
output folder's lock, and runs ``python -m crawler.runner <json>`` in a subprocess: Scrapy allows
one CrawlerProcess per process, and a subprocess lets the CLI run twice in one test session. The
runner writes live counters to a progress file and the run summary to a JSON file; this side reads
both. SIGINT/SIGTERM here are forwarded to the child as one SIGTERM (graceful stop: buffered rows
are written); a second one forces the child to stop.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from crawler import errors
from crawler.clock import new_run_id
from crawler.health import parse_max_failed
from crawler.ledger import STATE_DIR, build_summary, check_state_files
from crawler.spider_args import CrawlArgs, parse_spider_args

logger = logging.getLogger(__name__)


#: What the demo relaxes against a real crawl: politeness delays and concurrency only.
#: robots.txt (and its Crawl-delay) stays obeyed; the spider, pipelines and the rest are the same.
DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_DELAY_JITTER": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "PARKCORPUS_RETRY_BACKOFF": 0.05,
}


# --- the parent side ----------------------------------------------------------------------------
def check_proxy(proxy: str, timeout: float = 3.0) -> None:
    """A short TCP connect to the proxy; CrawlError when nothing answers there."""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 8080)
    if not host:
        raise errors.UsageError(f"bad proxy URL {proxy!r}: expected http://HOST:PORT")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise errors.CrawlError(
            f"proxy {proxy} is unreachable ({exc.strerror or exc}); check --proxy or http_proxy"
        ) from None


def check_out_folder(out: str) -> Path:
    """The output folder, created when its parent exists; DatasetError when unusable."""
    from crawler.store import as_path, ensure_dataset  # file:// URIs too; other URIs are refused

    path = as_path(out)
    if not isinstance(path, Path):  # an object store: probe it, then the marker (crawler.store)
        return ensure_dataset(path)
    if not path.exists():
        if not path.parent.exists():
            raise errors.DatasetError(
                f"output folder {out} does not exist and neither does its parent; create it first"
            )
        try:
            path.mkdir()
        except OSError as exc:
            raise errors.DatasetError(
                f"cannot create output folder {out}: {exc.strerror}; pass another --out"
            ) from None
    if not path.is_dir():
        raise errors.DatasetError(f"output folder {out} is not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise errors.DatasetError(f"output folder {out} is not writable")
    ensure_dataset(str(path))
    return path


#: crawler.runner's exit status when the crawl could not start (kept here: the runner imports Scrapy)
STARTUP_FAILED = 3


def _proxy_from_env(env: dict[str, str]) -> str | None:
    return env.get("http_proxy") or env.get("HTTP_PROXY") or None


def _pdeathsig() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM (graceful stop) if the parent dies, so it never runs orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class _Forwarder:
    """While a crawl runs: SIGINT/SIGTERM here become SIGTERM for the child (2nd one forces)."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.count = 0
        self.saved: dict[int, Any] = {}

    def _handle(self, signum, frame):
        self.count += 1
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, old in self.saved.items():
            signal.signal(sig, old)
        return False


def crawl(
    sites: list[str] | tuple[str, ...] | None = None,
    *,
    all_sites: bool = False,
    out: str | None = None,
    mode: str | None = None,
    ids: str | None = None,
    since: str | None = None,
    until: str | None = None,
    max_pages: int | None = None,
    refresh: bool = False,
    proxy: str | None = None,
    delay: float | None = None,
    concurrency: int | None = None,
    autothrottle: bool | None = None,
    max_errors: int | None = None,
    max_failed: str | int | None = None,
    revisit_days: int | None = None,
    revisit_sample: int | None = None,
    archive: bool | None = None,
    convert: str | None = None,
    settings: dict[str, Any] | list[str] | None = None,
    config_path: str | None = None,
    progress: bool | None = None,
    verbosity: int = 0,
    log_file: str | None = None,
    env: dict[str, str] | None = None,
    relaxed: bool = False,
    on_warning: Callable[[str], None] | None = None,
    use_lock: bool = True,
) -> dict[str, Any]:
    """Run one crawl in a subprocess and return its summary dict (see build_summary).

    Usage errors raise before anything is fetched; a failed run returns a summary whose
    "status" is not "ok" (the CLI prints it, then exits 1). use_lock=False skips the dataset lock
    (cluster jobs writing disjoint files).
    """
    env = dict(os.environ if env is None else env)
    overrides = {
        "out": out, "delay": delay, "concurrency": concurrency, "autothrottle": autothrottle,
        "proxy": proxy, "max_errors": max_errors, "archive": archive, "convert": convert,
        "max_failed": None if max_failed is None else str(max_failed),
        "revisit_days": revisit_days, "revisit_sample": revisit_sample,
    }
    cfg = _load_config(config_path, overrides)
    scrapy_settings: dict[str, Any] = dict(cfg["scrapy"])
    out = cfg["out"]
    if not sites and not all_sites:
        sites = cfg["sites"]
    scrapy_settings.update(_parse_settings(settings))

    args = parse_spider_args({
        "sites": list(sites or []), "all": "1" if all_sites else "", "mode": mode or "auto",
        "ids": ids, "since": since, "until": until, "max_pages": max_pages,
        "refresh": "1" if refresh else "",
    })
    for w in args.warnings:
        (on_warning or logger.warning)(w)
    if relaxed:
        scrapy_settings.update(DEMO_SETTINGS)

    max_failed = str(parse_max_failed(scrapy_settings.get("PARKCORPUS_MAX_FAILED")))  # UsageError: exit 2
    scrapy_settings["PARKCORPUS_MAX_FAILED"] = max_failed
    proxy_url = scrapy_settings.get("PARKCORPUS_PROXY") or _proxy_from_env(env)
    from crawler.lock import NoLock, path_lock

    run_id = new_run_id()
    try:
        # a run that cannot start still gets a summary (--json) and, when it can, a manifest
        if proxy_url:
            check_proxy(proxy_url)
        out_path = check_out_folder(out)
        lock = path_lock(out_path, run_id=run_id) if use_lock else NoLock()
        lock.__enter__()
    except errors.UsageError:
        raise
    except (errors.ParkcorpusError, OSError) as exc:
        exc.summary = not_started_summary(run_id, out, args, str(exc), max_failed)  # type: ignore[union-attr]
        exc.summary["warnings"] = list(args.warnings)  # type: ignore[union-attr]
        _write_manifest(out, exc.summary, quiet=True)  # type: ignore[union-attr]
        raise
    local = isinstance(out_path, Path)
    if not local:  # the crawl process reaches the store with the same AWS_* settings as this one
        for name, value in os.environ.items():
            if name.startswith("AWS_"):
                env.setdefault(name, value)
    # the summary and progress files are how the crawl process talks to this one: local files,
    # in the dataset locally, in the system temp folder when the dataset is on an object store
    if local:
        check_state_files(out_path)  # a planted symlink stops the run here, with one Error line
    state = out_path / STATE_DIR if local else Path(tempfile.mkdtemp(prefix="parkcorpus-state-"))
    state.mkdir(exist_ok=True)
    if not local:  # removed below; at exit too, when the lock or the start fails
        atexit.register(shutil.rmtree, state, True)
    summary_file = state / f"summary-{run_id}.json"
    progress_file = state / f"progress-{run_id}.json"
    scrapy_settings.update({
        "PARKCORPUS_OUT": str(out_path.resolve()),
        "PARKCORPUS_RUN_ID": run_id,
        "PARKCORPUS_SUMMARY_FILE": str(summary_file),
        "PARKCORPUS_PROGRESS_FILE": str(progress_file),
    })
    max_err = int(scrapy_settings.get("PARKCORPUS_MAX_ERRORS") or 0)
    spider_args = args.spider_args()
    job = {
        "spider_args": spider_args,
        "settings": scrapy_settings,
        "verbosity": verbosity,
        "log_file": str(Path(log_file).resolve()) if log_file else None,
    }
    with _held(lock) as lock:
        from crawler.progress import ProgressDisplay

        display = ProgressDisplay(enabled=progress, total=_ids_total(args))
        cmd = [sys.executable, "-m", "crawler.runner", json.dumps(job, default=str)]
        proc = subprocess.Popen(
            # an object-store lock has no descriptor (fd -1): its heartbeat runs here
            cmd, env=env, pass_fds=(lock.fd,) if lock.fd >= 0 else (), process_group=0,
            preexec_fn=_pdeathsig if sys.platform == "linux" else None,
        )
        lock.note_child(proc.pid)
        with _Forwarder(proc) as fwd, display:
            while proc.poll() is None:
                display.update_from(progress_file)
                time.sleep(0.2)
            display.update_from(progress_file)
        rc = proc.returncode
    summary = _read_json(summary_file)
    if summary is None:
        summary = build_summary({}, run_id=run_id, out=str(out_path), args=spider_args, max_errors=max_err,
                                max_failed=max_failed)
        summary.update(status="failed", exit_code=1,
                       error=f"the crawl process died (exit status {rc}) before writing its summary; "
                       "rows already written are kept, run the same command again to finish")
        if rc in (0, STARTUP_FAILED):  # it never crawled: running again cannot help
            summary.update(error="the crawl could not start (see the error above); nothing was fetched")
        if fwd.count:
            summary.update(status="interrupted", error="interrupted before the crawl started")
    summary["warnings"] = list(args.warnings)
    for done in (progress_file, summary_file):  # the run manifest in <out>/runs/ keeps the summary
        try:
            done.unlink(missing_ok=True)
        except OSError:
            pass
    if not local:
        shutil.rmtree(state, ignore_errors=True)
    _write_manifest(str(out_path), summary)
    if isinstance(out_path, Path):  # an object store has no place for a file next to the data
        _write_current_sql(out_path)
    return summary


@contextmanager
def _held(lock):
    """Release an acquired lock when the block ends."""
    try:
        yield lock
    finally:
        lock.__exit__(None, None, None)


def not_started_summary(run_id: str, out: str, args: CrawlArgs, error: str, max_failed: str = "0") -> dict:
    """The complete summary of a run that failed before its first request (locked, proxy down, unwritable)."""
    from crawler.clock import now

    summary = build_summary({}, run_id=run_id, out=str(out), args=args.spider_args(), max_failed=max_failed)
    stamp = now().isoformat()
    summary.update(status="failed", exit_code=1, error=error, started=stamp, finished=stamp, duration_s=0.0,
                   output_files=[])
    return summary


def _write_current_sql(out_path: Path) -> None:
    """<out>/current.sql: the DuckDB macros that read current versions (crawler.readers)."""
    from crawler.readers import write_current_sql

    try:
        write_current_sql(out_path)
    except OSError as exc:
        logger.warning("could not write %s/current.sql: %s", out_path, exc)


def _ids_total(args: CrawlArgs) -> int | None:
    if args.ids:
        return (args.ids[1] - args.ids[0] + 1) * len(args.sites)
    return None


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_manifest(out: str, summary: dict, quiet: bool = False) -> None:
    """Record the run in the dataset as a RunManifest (crawler.store.write_run_manifest).

    quiet: a run that never started writes one only into an existing, writable dataset."""
    from crawler.store import as_path, is_dataset, write_run_manifest

    try:
        if quiet and not (is_dataset(out) and os.access(as_path(out), os.W_OK | os.X_OK)):
            return
        write_run_manifest(out, summary)
    except Exception:  # the data is written; a missing manifest must not fail the run
        if not quiet:
            logger.exception("could not write the run manifest")


def _parse_settings(settings: dict[str, Any] | list[str] | tuple | None) -> dict[str, Any]:
    """-s NAME=VALUE pairs (or a dict) as a dict; UsageError for a pair without '='."""
    if not settings:
        return {}
    if isinstance(settings, dict):
        return dict(settings)
    out = {}
    for pair in settings:
        name, sep, value = str(pair).partition("=")
        if not sep or not name.strip():
            raise errors.UsageError(f"bad setting {pair!r}: expected NAME=VALUE, e.g. -s DOWNLOAD_DELAY=2")
        out[name.strip()] = value
    return out


def _load_config(config_path: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """Scrapy settings, output folder and default sites from crawler.config."""
    from crawler.config import load_config

    cfg = load_config(config_path, overrides={k: v for k, v in overrides.items() if v is not None})
    return {"scrapy": cfg.scrapy_settings(), "out": cfg.get("out"), "sites": list(cfg.get("sites") or [])}


# --- the demo -----------------------------------------------------------------------------------
def demo(out: str = "data", posts: int = 150, sites: int = 2, seed: int = 2026,
         progress: bool | None = None, verbosity: int = 0, faults: str | None = None,
         config_path: str | None = None, max_failed: str | int | None = None) -> dict[str, Any]:
    """Serve the replica on loopback and crawl it with the real crawl code; returns what was written."""
    from crawler.replica import Faults, Network, ReplicaServer

    if posts < 1 or sites < 1:
        raise errors.UsageError("--posts and --sites must be at least 1")
    net = Network(seed=seed, sites=sites, posts=posts)
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    with ReplicaServer(net, faults=Faults.parse(faults) if faults else Faults()) as srv:
        summary = crawl(
            list(net.hosts), out=out, mode="full", proxy=srv.proxy_url, relaxed=True,
            progress=progress, verbosity=verbosity, env=env, config_path=config_path,
            max_failed=max_failed,
        )
    summary["command"] = "demo"
    summary["demo"] = demo_report(summary["out"], net.hosts, {h: len(net.site(h).post_ids()) for h in net.hosts})
    return summary


def demo_report(out: str, hosts: list[str], generated: dict[str, int]) -> dict[str, Any]:
    """Rows per site, a sample title and the one-liners to open the dataset."""
    from crawler.store import open_dataset

    rows: dict[str, int] = {h: 0 for h in hosts}
    sample = None
    dataset = open_dataset(out)  # a folder or s3://bucket/prefix
    if dataset is not None:
        table = dataset.to_table(columns=["site", "post_id", "title"])
        seen = set()
        for site, pid, title in zip(*(table.column(c).to_pylist() for c in ("site", "post_id", "title"))):
            if (site, pid) not in seen:  # one per post, whatever versions earlier runs stored
                seen.add((site, pid))
                rows[site] = rows.get(site, 0) + 1
            sample = sample or title
    glob = f"{out}/articles/**/*.parquet"
    return {
        "rows_per_site": rows,
        "generated_per_site": generated,
        "sample_title": sample,
        "open_with": {
            "pandas": f"python -c \"from crawler.api import load; print(load('{out}').head())\"",
            "duckdb": f"python -c \"import duckdb; print(duckdb.sql(\\\"SELECT site, count(*) AS n FROM read_parquet('{glob}', hive_partitioning=true) GROUP BY site\\\"))\"",
            "polars": f"python -c \"import polars as pl; print(pl.scan_parquet('{glob}', hive_partitioning=True).collect())\"",
        },
    }
