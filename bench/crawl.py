"""Crawl throughput and memory: the full parkcorpus crawl against a fetch-only run, 1k to 100k posts.

    python bench/crawl.py                      # 1,000, 10,000 and 100,000 posts (the last takes a while)
    python bench/crawl.py --sizes 1000,10000   # quick

For each size the replica (``python -m crawler.replica``, its own process so its memory is not
counted) serves a network of several subsites on loopback, and the same ``zblog`` spider crawls
it in a fresh process per run, with politeness off and the same concurrency. The replica renders
every page before the first run and serves them from memory (``--prerender``; ``--replica live``
renders per request): on a real network the server's CPU is not on the crawler's cores, and a
crawl benchmark should measure the crawler. The runs:

* **fetch-only**: discovery exactly as in a real crawl (feed, list pages, related/prev/next
  links), but post pages are neither extracted nor written (no item pipelines);
* **full-1**: the parkcorpus crawl as `parkcorpus crawl` runs it (extraction, validation, dedup,
  Parquet and WARC writing) with one worker, i.e. extraction in the Scrapy process
  (``PARKCORPUS_WORKERS=1``);
* **full**: the same with the extraction pool (``PARKCORPUS_WORKERS=0``: one worker per core).

Printed side by side: pages/s, seconds per 1,000 posts, the full/fetch-only throughput ratio,
CPU ms per page of the crawl process and of its worker processes (extraction workers, the fork
server and, with the pool, the process keeping the duplicate and search indexes; read from /proc
every 0.25 s and when the spider closes), the crawl process's CPU per thread (main = Scrapy's
reactor; the pool's queue feeder and result threads), peak RSS of the crawl process (``ru_maxrss``) and of the
crawl process plus its workers (the fork server included), files written, and the RSS growth
from the second-largest to the largest size. Targets: full >= 0.75x fetch-only with crawl-process
CPU per page <= 1.2x fetch-only's; peak RSS at 100k <= 1.5x that at 10k; files bounded by
partitions, not by posts. Dated results: bench/README.md.

One round's ratio moves with the machine: on a 2-core VM fetch-only alone varies by about +-6 %
from run to run and the full crawl by about +-5 %, so a single ratio spreads by about +-0.06.
``--repeat N`` runs N rounds of the variants one after another (fetch-only, full, fetch-only,
full, ...: each ratio pairs runs made a few seconds apart, under the same background load) and
prints every round's ratio, then their median, lowest and highest. Sizes up to
REPEAT_UP_TO posts get DEFAULT_ROUNDS rounds unless ``--repeat`` says otherwise (a verdict on
one round of a few seconds is a coin toss near the target), larger ones one.

Each run's wall time is also split into phases: start (spider opened to the first response),
fetching, drain (last response to the last ``spider_idle``: pages fetched but still being
extracted) and close (the end-of-run flush, merges and index sync). ``--trace`` samples CPU every
0.1 s and prints how many cores the crawl process and its workers kept busy in each phase: on a
CPU-bound machine a phase below the core count is time the crawl could still win back.

    python bench/crawl.py --sizes 1000 --variants fetch-only,full --repeat 5   # the ratio over 5 rounds
    python bench/crawl.py --sizes 1000 --variants fetch-only,full --profile /tmp/prof
    python -m pstats /tmp/prof/1000-full.prof   # where the crawl process's main thread spends its CPU
    python bench/crawl.py --sizes 1000 --variants fetch-only,full --trace         # busy cores per phase
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Politeness off, loopback only: what is measured is parkcorpus, not the delays.
BENCH_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "ROBOTSTXT_OBEY": False,
    "PARKCORPUS_CRAWL_DELAY": False,
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False,
}


# --------------------------------------------------------------------------- child: one crawl


def _fetch_only_spider():
    """The zblog spider with extraction switched off: discovery unchanged, posts not extracted."""
    from spiders.zblog import ZblogSpider

    from crawler import discover

    class FetchOnlyZblog(ZblogSpider):
        name = "zblog_fetch_only"

        def parse_post(self, response):
            host, pid = response.meta["site"], response.meta["post_id"]
            # "fetched" is not a ledger outcome: counted apart, so fetch-only has its own key
            self.ledger.pending.pop((host, pid), None)
            self.crawler.stats.inc_value("parkcorpus/outcome/fetched")
            if response.status in (404, 410):
                return
            # the same link discovery parse_post does after extraction in full mode
            if self.site_mode.get(host) == "full":
                for link in discover.post_links(response.body, response.url):
                    req = self.post_request_for(link)
                    if req is not None:
                        yield req

    return FetchOnlyZblog


def child(args) -> int:
    """Run one crawl in this process; write its numbers as JSON to args.result."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from spiders.zblog import ZblogSpider

    settings = get_project_settings()
    settings.setdict(
        dict(
            BENCH_SETTINGS,
            CONCURRENT_REQUESTS=args.concurrency,
            CONCURRENT_REQUESTS_PER_DOMAIN=args.concurrency,
            PARKCORPUS_PROXY=args.proxy,
            PARKCORPUS_OUT=args.out,
            PARKCORPUS_RUN_ID=f"bench-{args.variant}",
        ),
        priority="cmdline",
    )
    if args.queue == "disk":
        settings.set("SCHEDULER", "crawler.scheduler.DiskQueueScheduler", priority="cmdline")
        settings.set("PARKCORPUS_DISK_QUEUE", True, priority="cmdline")
    elif args.queue == "memory":
        settings.set("SCHEDULER", "scrapy.core.scheduler.Scheduler", priority="cmdline")
    # fetch-only extracts nothing: no pool to start (its processes would count as its workers)
    settings.set("PARKCORPUS_WORKERS", 0 if args.variant == "full" else 1, priority="cmdline")
    if args.variant == "fetch-only":
        settings.set("ITEM_PIPELINES", {}, priority="cmdline")
        spidercls = _fetch_only_spider()
    else:
        spidercls = ZblogSpider
    process = CrawlerProcess(settings, install_root_handler=False)
    crawler = process.create_crawler(spidercls)
    queue_peak = [0]
    rss_trace: list[tuple[int, float]] = []  # (pages so far, RSS MB)
    page_size = os.sysconf("SC_PAGE_SIZE")

    workers_cpu: dict[int, float] = {}  # pid -> CPU seconds, last seen (pids of the pool and fork server)
    threads_cpu: dict[str, float] = {}  # thread name -> CPU seconds, last seen (this process's threads)
    total_rss_peak = [0.0]
    # --trace: (time, crawl-process CPU s, workers' CPU s) at each sample, for the busy cores per phase
    cpu_trace: list[tuple[float, float, float]] = []

    def sample(*_a, **_kw):
        # what usually grows with the site: requests waiting in the scheduler, and RSS
        scheduler = crawler.engine.scheduler if crawler.engine else None
        if scheduler is not None:
            queue_peak[0] = max(queue_peak[0], len(scheduler))
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * page_size / 2**20
        rss_trace.append((crawler.stats.get_value("response_received_count", 0), rss))
        total = rss
        for pid in descendants(os.getpid()):
            try:
                workers_cpu[pid] = max(workers_cpu.get(pid, 0.0), cpu_seconds(pid))
                total += rss_mb(pid)
            except OSError:  # exited between the listing and the read
                pass
        total_rss_peak[0] = max(total_rss_peak[0], total)
        if args.trace:
            own = resource.getrusage(resource.RUSAGE_SELF)
            cpu_trace.append((time.perf_counter(), own.ru_utime + own.ru_stime, sum(workers_cpu.values())))
        import threading

        names = {t.native_id: t.name for t in threading.enumerate()}
        for tid in os.listdir("/proc/self/task"):
            try:
                name = names.get(int(tid), "other")
                name = "main" if int(tid) == os.getpid() else name.split("-")[0].split("_")[0]
                cpu = cpu_seconds(int(tid), f"/proc/self/task/{tid}/stat")
                threads_cpu[f"{name}:{tid}"] = max(threads_cpu.get(f"{name}:{tid}", 0.0), cpu)
            except OSError:
                pass

    from scrapy.utils.asyncio import create_looping_call

    def start_sampler():
        loop = create_looping_call(sample)
        loop.start(0.1 if args.trace else 0.25, now=True)
        crawler.signals.connect(lambda: loop.running and loop.stop(), signal=signals.spider_closed, weak=False)

    from scrapy import signals

    crawler.signals.connect(start_sampler, signal=signals.spider_opened, weak=False)
    # where the wall time goes: spider opened, first and last response, last spider_idle (every
    # page extracted and written to the buffer: idle waits for the items in flight), spider closed
    marks: dict[str, float] = {}

    def mark(name: str, first: bool = False):
        def note(*_a, **_kw):
            if not (first and name in marks):
                marks[name] = time.perf_counter()
        return note

    for name, signal, first in (("opened", signals.spider_opened, False),
                                ("first_response", signals.response_received, True),
                                ("last_response", signals.response_received, False),
                                ("idle", signals.spider_idle, False), ("closed", signals.spider_closed, False)):
        crawler.signals.connect(mark(name, first), signal=signal, weak=False)
    # the last look at the workers: every page is extracted, the pool still runs
    crawler.signals.connect(sample, signal=signals.spider_closed, weak=False)
    process.crawl(crawler, sites=args.hosts, mode="full")
    process.start()
    stats = crawler.stats.get_stats()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "pages": stats.get("downloader/response_count", 0),
        "posts": stats.get("parkcorpus/outcome/fetched", 0) if args.variant == "fetch-only" else stats.get("item_scraped_count", 0),
        "elapsed": stats.get("elapsed_time_seconds") or 0.0,
        "finish_reason": stats.get("finish_reason"),
        "errors": stats.get("parkcorpus/errors", 0),
        "pool_calls": stats.get("parkcorpus/pool/calls", 0),
        "pool_messages": stats.get("parkcorpus/pool/messages", 0),
        # ru_maxrss is in KiB on Linux
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "workers_cpu_s": sum(workers_cpu.values()),
        "workers": len(workers_cpu),
        "threads_cpu_s": _by_name(threads_cpu),
        "total_rss_peak_mb": max(total_rss_peak[0], usage.ru_maxrss / 1024),
        "queue_peak": queue_peak[0],
        "rss_half_mb": _rss_at(rss_trace, 0.5),
        "phases": _phases(marks),
        "busy": _busy(marks, cpu_trace) if args.trace else {},
    }
    Path(args.result).write_text(json.dumps(result, default=str))
    return 0


#: The phases of a crawl's wall time, between the marks child() takes.
PHASES = (("start", "opened", "first_response"), ("fetching", "first_response", "last_response"),
          ("drain", "last_response", "idle"), ("close", "idle", "closed"))


def _phases(marks: dict[str, float]) -> dict[str, float]:
    """Seconds of each PHASES phase: start (spider opened to first response), fetching, drain (last
    response to the last spider_idle: the pages still being extracted) and close (the end-of-run
    flush, merges and index sync). A mark missing (or out of order) leaves the phase out."""
    return {name: marks[b] - marks[a] for name, a, b in PHASES
            if a in marks and b in marks and marks[b] >= marks[a]}


def _busy(marks: dict[str, float], trace: list[tuple[float, float, float]]) -> dict[str, list[float]]:
    """Per phase, the cores busy on average: [crawl process, its workers] (CPU seconds over wall
    seconds, from the samples nearest the phase's ends; the workers' CPU includes the index process)."""
    def at(t: float) -> tuple[float, float, float]:
        return min(trace, key=lambda s: abs(s[0] - t))

    out: dict[str, list[float]] = {}
    for name, a, b in PHASES:
        if a not in marks or b not in marks or len(trace) < 2:
            continue
        s0, s1 = at(marks[a]), at(marks[b])
        if s1[0] - s0[0] >= 0.05:
            out[name] = [round((s1[1] - s0[1]) / (s1[0] - s0[0]), 2), round((s1[2] - s0[2]) / (s1[0] - s0[0]), 2)]
    return out


def _by_name(cpu: dict[str, float]) -> dict[str, float]:
    """CPU seconds per thread name (threads of one kind summed)."""
    out: dict[str, float] = {}
    for key, seconds in cpu.items():
        name = key.rsplit(":", 1)[0]
        out[name] = round(out.get(name, 0.0) + seconds, 3)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _rss_at(trace: list[tuple[int, float]], fraction: float) -> float:
    """RSS when the crawl had fetched `fraction` of its pages (shows whether memory levels off)."""
    if not trace:
        return 0.0
    goal = trace[-1][0] * fraction
    return next(rss for pages, rss in trace if pages >= goal)


# --------------------------------------------------------------------------- parent


def start_replica(sites: int, posts: int, seed: int, prerender: bool = True):
    """python -m crawler.replica in a subprocess; (process, proxy URL, hosts).

    prerender: the replica renders every page once before serving (at a clock fixed to now), so
    the crawls pay for its serving only, as on a real network, not for its rendering.
    """
    cmd = [sys.executable, "-m", "crawler.replica", "--sites", str(sites), "--posts", str(posts),
           "--seed", str(seed), "--port", "0"]
    if prerender:
        cmd += ["--prerender", "--now", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    proxy, hosts = None, []
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("proxy:"):
            proxy = line.split(":", 1)[1].strip()
        elif line.startswith("host:"):
            hosts.append(line.split()[1])
        if proxy and len(hosts) == sites:
            break
    if not proxy:
        proc.kill()
        raise SystemExit(f"replica did not start: {proc.stderr.read()}")
    return proc, proxy, hosts


def files_written(out: Path) -> tuple[int, int]:
    """(files the run left in the dataset folder, article partitions they fill)."""
    if not out.exists():
        return 0, 0
    files = sum(1 for p in out.rglob("*") if p.is_file())
    partitions = len({p.parent for p in (out / "articles").rglob("*.parquet")})
    return files, partitions


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children, grandchildren ...), from /proc."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent_of[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = [], [pid]
    while frontier:
        nxt = [c for c, p in parent_of.items() if p in frontier]
        found += nxt
        frontier = nxt
    return found


def rss_mb(pid: int) -> float:
    """Resident set size of a process now, MB."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_seconds(pid: int, stat: str | None = None) -> float:
    """User + system CPU seconds a process (or the thread whose stat file is given) has used so far."""
    with open(stat or f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(variant: str, proxy: str, hosts: list[str], out: Path, concurrency: int, replica_pid: int,
            queue: str = "default", profile: Path | None = None, trace: bool = False) -> dict:
    """One crawl in a fresh process; its numbers (and the replica's CPU spent serving it)."""
    result = out.parent / f"{out.name}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--proxy", proxy,
           "--hosts", ",".join(hosts), "--out", str(out), "--concurrency", str(concurrency),
           "--result", str(result), "--queue", queue]
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        cmd += ["--profile", str(profile / f"{out.name}.prof")]
    if trace:
        cmd.append("--trace")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    t0, server0 = time.perf_counter(), cpu_seconds(replica_pid)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    server_cpu = cpu_seconds(replica_pid) - server0
    if done.returncode != 0 or not result.exists():
        raise SystemExit(f"{variant} crawl failed:\n{done.stderr[-3000:]}")
    r = json.loads(result.read_text())
    files, partitions = files_written(out)
    r.update(variant=variant, wall=wall, files=files, partitions=partitions, server_cpu_s=server_cpu)
    return r


#: Rounds a size up to REPEAT_UP_TO posts gets when --repeat is not given: such a run lasts
#: seconds, and one round's ratio spreads by about +-0.06 here (module docstring).
DEFAULT_ROUNDS = 3
REPEAT_UP_TO = 2000


def rounds_of(size: int, repeat: int | None) -> int:
    """Rounds of the variants at this size: --repeat, else DEFAULT_ROUNDS up to REPEAT_UP_TO posts, else 1."""
    if repeat is not None:
        return max(1, repeat)
    return DEFAULT_ROUNDS if size <= REPEAT_UP_TO else 1


def main(argv=None) -> int:
    """Parse options and either run one crawl (--child) or the whole benchmark."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,10000,100000", help="total posts per run, comma-separated")
    p.add_argument("--sites", type=int, default=4, help="subsites the posts are spread over (default 4)")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight, both variants (default 8)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--variants", default="fetch-only,full-1,full",
                   help="which runs to make: fetch-only, full-1 (extraction in the crawl process), "
                        "full (the pool); default all three"),
    p.add_argument("--repeat", type=int, default=None,
                   help="rounds of the variants per size, interleaved; prints each round's ratio and "
                        f"their median (default {DEFAULT_ROUNDS} for sizes up to {REPEAT_UP_TO:,} posts, "
                        "1 above)")
    p.add_argument("--queue", choices=("default", "memory", "disk"), default="default",
                   help="scheduler queue: the project's setting, Scrapy's in-memory queue, or "
                        "crawler.scheduler.DiskQueueScheduler (default: the project's)")
    p.add_argument("--replica", choices=("prerendered", "live"), default="prerendered",
                   help="prerendered (default): the replica renders every page before the crawls and "
                        "serves them from memory (~30 KB a page), so its CPU is serving only; live: it "
                        "renders each page per request, on the cores the crawl uses")
    p.add_argument("--workdir", default=None, help="where the datasets go (default: a temporary folder, removed)")
    p.add_argument("--json", dest="json_out", default=None, help="also write the rows as JSON here")
    p.add_argument("--profile", default=None, metavar="DIR",
                   help="run each crawl process under cProfile and write DIR/<posts>-<run>.prof (-r<round> added with several rounds) "
                        "(main-thread CPU time; read with python -m pstats); the profiler's own cost inflates the CPU figures")
    p.add_argument("--trace", action="store_true",
                   help="sample CPU every 0.1 s (not 0.25) and print, per phase of each crawl (start, fetching, "
                        "drain, close), how many cores the crawl process and its workers kept busy")
    # internal: one crawl
    p.add_argument("--child", choices=("full", "full-1", "fetch-only"), help=argparse.SUPPRESS)
    p.add_argument("--proxy", help=argparse.SUPPRESS)
    p.add_argument("--hosts", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.variant = args.child
        if args.profile:
            import cProfile

            # the main thread's CPU time, not wall time: waits for the GIL or a pipe count nothing
            prof = cProfile.Profile(time.thread_time)
            try:
                return prof.runcall(child, args)
            finally:
                prof.dump_stats(args.profile)
        return child(args)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="parkcorpus-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# parkcorpus crawl benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.sites} subsites, concurrency {args.concurrency}, queue {args.queue}, "
          f"replica {args.replica}", flush=True)
    try:
        for size in sizes:
            replica, proxy, hosts = start_replica(args.sites, max(1, size // args.sites), args.seed,
                                                  prerender=args.replica == "prerendered")
            try:
                for rnd in range(1, rounds_of(size, args.repeat) + 1):
                    pair = {}
                    for variant in [v for v in ("fetch-only", "full-1", "full") if v in args.variants.split(",")]:
                        # one folder (and --profile file) per round: a later round overwrites none
                        out = work / (f"{size}-{variant}-r{rnd}" if rounds_of(size, args.repeat) > 1
                                      else f"{size}-{variant}")
                        shutil.rmtree(out, ignore_errors=True)
                        r = run_one(variant, proxy, hosts, out, args.concurrency, replica.pid, args.queue,
                                    Path(args.profile) if args.profile else None, args.trace)
                        r["size"], r["round"] = size, rnd
                        pair[variant] = r
                        rows.append(r)
                        print(f"  {size:>7} {variant:<10} {r['pages']:>7} pages in {r['elapsed']:.1f} s, "
                              f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
                    if "fetch-only" in pair:
                        base = pair["fetch-only"]
                        for v in ("full-1", "full"):
                            if v in pair:
                                pair[v]["ratio"] = (pair[v]["pages"] / pair[v]["elapsed"]) / (
                                    base["pages"] / base["elapsed"])
                                pair[v]["cpu_ratio"] = (pair[v]["cpu_s"] / pair[v]["pages"]) / (
                                    base["cpu_s"] / base["pages"])
            finally:
                replica.terminate()
                replica.wait(10)
            if not args.workdir:
                for folder in work.glob(f"{size}-*"):
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"load average before/after: {load0} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rounds = any(rounds_of(size, args.repeat) > 1 for size in sizes)
    print("| posts | run | pages | s | pages/s | s per 1,000 posts | / fetch-only pages/s | crawl CPU ms/page "
          "| / fetch-only CPU | workers CPU ms/page | replica CPU ms/page | RSS MB at half | peak RSS MB "
          "| peak RSS MB + workers | queue peak | files | partitions |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        pps = r["pages"] / r["elapsed"] if r["elapsed"] else 0.0
        per_k = r["elapsed"] / r["posts"] * 1000 if r["posts"] else 0.0
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        cpu = r["cpu_s"] / r["pages"] * 1000 if r["pages"] else 0.0
        cpu_ratio = f"{r['cpu_ratio']:.2f}" if "cpu_ratio" in r else ""
        wcpu = r["workers_cpu_s"] / max(r["pages"], 1) * 1000
        run = f"{r['variant']} #{r['round']}" if rounds else r["variant"]
        print(f"| {r['size']:,} | {run} | {r['pages']:,} | {r['elapsed']:.1f} | {pps:.0f} | "
              f"{per_k:.2f} | {ratio} | {cpu:.1f} | {cpu_ratio} | {wcpu:.1f} | "
              f"{r['server_cpu_s'] / max(r['pages'], 1) * 1000:.1f} | {r['rss_half_mb']:.0f} | "
              f"{r['peak_rss_mb']:.0f} | {r['total_rss_peak_mb']:.0f} | {r['queue_peak']:,} | {r['files']:,} | "
              f"{r['partitions']:,} |")
    print()
    for r in rows:
        threads = ", ".join(f"{name} {sec / max(r['pages'], 1) * 1000:.2f}"
                            for name, sec in r.get("threads_cpu_s", {}).items() if sec >= 0.01)
        batching = (f"; {r['pool_calls'] / r['pool_messages']:.2f} pages per message to the workers"
                    if r.get("pool_messages") else "")
        phases = ", ".join(f"{name} {sec:.2f}" for name, sec in (r.get("phases") or {}).items())
        print(f"{r['size']:,} {r['variant']}: crawl-process CPU ms/page by thread (at spider close): {threads}"
              f"{batching}; wall s: {phases}")
        if r.get("busy"):
            print(f"{'':>{len(str(r['size'])) + 1}}busy cores (crawl process + workers) of {os.cpu_count()}: "
                  + ", ".join(f"{name} {c:.2f} + {w:.2f}" for name, (c, w) in r["busy"].items()))
    full = {r["size"]: r for r in rows if r["variant"] == "full"}
    if len(full) >= 2:
        big, prev = sorted(full)[-1], sorted(full)[-2]
        growth = full[big]["peak_rss_mb"] / full[prev]["peak_rss_mb"]
        print(f"\npeak RSS of the full crawl at {big:,} posts = {growth:.2f}x that at {prev:,} (target <= 1.5)")
    for r in rows:
        if r["variant"] == "full" and "ratio" in r:
            at = f" (round {r['round']})" if rounds else ""
            print(f"{r['size']:,} posts{at}, pool: {r['ratio']:.2f}x fetch-only's pages/s (target >= 0.75), "
                  f"crawl-process CPU per page {r['cpu_ratio']:.2f}x fetch-only's (target <= 1.2)")
    if rounds:
        for size in sizes:
            for v in ("full-1", "full"):
                got = [r for r in rows if r["size"] == size and r["variant"] == v and "ratio" in r]
                if len(got) < 2:
                    continue
                ratios, cpus = sorted(r["ratio"] for r in got), sorted(r["cpu_ratio"] for r in got)
                print(f"{size:,} posts, {v}, {len(got)} rounds: median {statistics.median(ratios):.2f}x fetch-only's "
                      f"pages/s ({ratios[0]:.2f}-{ratios[-1]:.2f}), {sum(x >= 0.75 for x in ratios)} of "
                      f"{len(ratios)} >= 0.75; crawl-process CPU per page median {statistics.median(cpus):.2f}x "
                      f"({cpus[0]:.2f}-{cpus[-1]:.2f})")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
