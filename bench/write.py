"""End-of-run write: the wall time of ``DatasetWriter.close()`` for a crawl-sized buffer, here and in the pool.

A crawl of 1,000 posts never fills the writer's buffer (PARKCORPUS_BUFFER_ROWS = 4 x flush_rows),
so every article partition (site/year/month, ~200 of them) and every links/parcels/listings file
is written when the crawl closes, while nothing else happens. This script extracts N replica
posts once (not timed; spread over --sites subsites like bench/crawl.py), then for each variant
adds them all to a fresh DatasetWriter and times ``close()`` (the flush and the merge), best and
median of --repeat runs, side by side in one run:

- ``here``: the files written in this process (``offload=None``, what reextract and
  ``PARKCORPUS_WORKERS=1`` crawls do);
- ``pool``: the files written by an ExtractionPool of --workers processes (``run_split``, what a
  crawl's ``pipelines/writer.py::_offload`` does).

For attribution, variants with one of the end-of-run write's speed-ups switched off: ``-zstd`` (every
file zstd throughout), ``-serial-fsync`` (a batch's fsyncs one after another), ``pool-pickle``
(the jobs' Arrow tables pickled to the workers, not sent as IPC streams). To compare with other code, e.g. a commit before the
changes, extract it and run this script from there (``git archive COMMIT | tar -x -C DIR``; the
script puts its own checkout first on sys.path, the pool's workers inherit it).

    python bench/write.py                     # 1,000 posts over 4 subsites, 5 repeats
    python bench/write.py --variants here,pool,here-zstd,pool-zstd,pool-serial-fsync,pool-pickle
    python bench/write.py --posts 4000 --json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)
RUN_ID = "20261126T172400Z-bench"


def replica_records(n: int, sites: int, seed: int = 2026) -> list[dict]:
    """n extracted replica post records (with their links, parcels and listings rows), deterministic."""
    from crawler.record import Page, post_task
    from crawler.replica import Network, render_post

    net = Network(seed=seed, sites=sites, posts=(n + sites - 1) // sites, now=NOW)
    rng = random.Random(seed)
    records = []
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            html, _related = render_post(site, pid, NOW, rng)
            page = Page.of(site.post_url(pid), html, 200,
                           {"Content-Type": "text/html; charset=utf-8",
                            "Date": "Thu, 26 Nov 2026 17:24:00 GMT"}, NOW)
            try:
                rec = post_task(page, None, {"run_id": RUN_ID}).record
            except Exception:  # noqa: BLE001  (a replica page that is not an article: not a row)
                continue
            from crawler.record import add_places

            add_places(rec, None)
            records.append(rec)
    return records[:n]


#: What each variant switches off (True = as the code is now).
KNOBS = ("small_codec", "fsync_threads", "ship_ipc")
VARIANTS = {
    "here": {}, "pool": {},
    "here-zstd": {"small_codec": False}, "here-serial-fsync": {"fsync_threads": False},
    "pool-zstd": {"small_codec": False}, "pool-serial-fsync": {"fsync_threads": False},
    "pool-pickle": {"ship_ipc": False},
}


@contextlib.contextmanager
def knobs_set(off: dict) -> object:
    """Switch the changes named in off off in this process (crawler.store constants), then back."""
    import pyarrow as pa

    from crawler.store import files, writer

    if not off:  # nothing switched off (also: code from before these switches existed)
        yield
        return
    saved = (files.SMALL_FILE_ROWS, files.FSYNC_THREADS, writer._shipped)
    if off.get("small_codec") is False:
        files.SMALL_FILE_ROWS = 0  # no file is small: zstd throughout
    if off.get("fsync_threads") is False:
        files.FSYNC_THREADS = 1
    if off.get("ship_ipc") is False:
        # each job's own Table, pickled (a copy: a pickled slice carries its parent's whole buffers)
        writer._shipped = lambda jobs, whole=None: [
            (pa.concat_tables([t, t.schema.empty_table()]).combine_chunks(), d, p) for t, d, p in jobs]
    try:
        yield
    finally:
        files.SMALL_FILE_ROWS, files.FSYNC_THREADS, writer._shipped = saved


def _write_with(off: dict, jobs: list) -> list:
    """crawler.store.writer.write_files(jobs) in a worker, with the variant's switches."""
    from crawler.store.writer import write_files

    with knobs_set(off):
        return write_files(jobs)


def one_close(records: list[dict], offload, flush_rows: int) -> dict:
    """Add records to a fresh dataset's writer; time close(). Returns seconds and what was written."""
    from crawler.store import DatasetWriter
    from crawler.store.known import KnownPosts
    from crawler.store.writer import buffer_rows

    out = Path(tempfile.mkdtemp(prefix="bench-write-"))
    try:
        w = DatasetWriter(out / "data", RUN_ID, flush_rows=flush_rows, known=KnownPosts(),
                          max_buffer_rows=buffer_rows(flush_rows), offload=offload)
        for rec in records:
            w.add(dict(rec))
        flushed_before = w.flushes
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        w.close()
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        size = sum(f.stat().st_size for f in w.files)
        return {"s": elapsed, "cpu_s": cpu, "files": len(w.files), "bytes": size,
                "flushes_at_close": w.flushes - flushed_before}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run(records: list[dict], variant: str, repeat: int, workers: int, flush_rows: int) -> dict:
    """Best and median close() time of one variant over repeat runs."""
    from crawler.store.writer import write_files
    from crawler.workers import CRAWL_PRELOAD, ExtractionPool, run_split

    off = VARIANTS[variant]
    pool = None
    offload = None  # here: write_files in this process
    if variant.startswith("pool"):
        pool = ExtractionPool(workers, preload=CRAWL_PRELOAD).start()
        task = functools.partial(_write_with, off) if off else write_files

        def offload(fn, jobs):  # the variant's switches apply to the file writes (merges run as they are)
            return run_split(pool, task if fn is write_files else fn, jobs)
    try:
        with knobs_set(off):
            runs = [one_close(records, offload, flush_rows) for _ in range(repeat)]
    finally:
        if pool is not None:
            pool.shutdown()
    times = [r["s"] for r in runs]
    return {"variant": variant, "best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
            "parent_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
            "files": runs[-1]["files"], "mb": round(runs[-1]["bytes"] / 1e6, 2),
            "flushes": runs[-1]["flushes_at_close"]}


def main(argv: list[str] | None = None) -> int:
    """Print close() wall time here and in the pool, with the ratio to 'here'."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1000, help="replica posts to write (default 1000)")
    ap.add_argument("--sites", type=int, default=4, help="subsites the posts are spread over (default 4)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per variant (default 5)")
    ap.add_argument("--workers", type=int, default=2, help="pool processes (default 2)")
    ap.add_argument("--flush-rows", type=int, default=500, help="PARKCORPUS_FLUSH_ROWS (default 500)")
    ap.add_argument("--variants", default="here,pool",
                    help=f"comma-separated, of: {', '.join(VARIANTS)}")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    records = replica_records(args.posts, args.sites)
    prep = time.perf_counter() - t0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s): {', '.join(unknown)}")
    rows = [run(records, v, args.repeat, args.workers, args.flush_rows) for v in variants]
    base = rows[0]["median_s"]
    for row in rows:
        row["ratio"] = round(row["median_s"] / base, 2) if base else None
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_1m": round(os.getloadavg()[0], 2),
        "posts": len(records), "sites": args.sites, "prepare_s": round(prep, 1),
        "runs": rows,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"DatasetWriter.close(), {info['posts']} replica posts over {args.sites} subsites; {info['machine']}; "
          f"load {info['load_1m']}; {info['date']}")
    print(f"{'variant':>18} {'best s':>7} {'median s':>8} {'x first':>7} {'parent CPU s':>12} "
          f"{'files':>6} {'MB':>6}")
    for r in rows:
        print(f"{r['variant']:>18} {r['best_s']:>7} {r['median_s']:>8} {r['ratio']:>7} {r['parent_cpu_s']:>12} "
              f"{r['files']:>6} {r['mb']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
