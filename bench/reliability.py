"""Bad inputs against the `parkcorpus` CLI: how many end in one `Error:` line, how many in a traceback.

    python bench/reliability.py            # all trials, a table and the totals (about 2 minutes)
    python bench/reliability.py --json     # the same as JSON (for docs/reliability.md)
    python bench/reliability.py -k export  # only trials whose name contains "export"

A scratch folder holds a small demo dataset (`parkcorpus demo`, 1 replica subsite, 20 posts) and
the replica itself (`python -m crawler.replica`) serves crawls on loopback. Each trial runs the
real CLI in a subprocess, as cron would, with a 60 s limit, and is classed as:

* ``one-line error``: exit code 1 or 2, exactly one line starting with ``Error:``, no traceback;
* ``traceback``: Python's ``Traceback (most recent call last)`` anywhere in the output;
* ``internal``: the CLI's last-resort line for an unexpected exception (``Error: internal error``):
  one line for cron, but a bug all the same, so it counts with the tracebacks;
* ``hang``: still running after the limit (killed);
* ``accepted``: exit code 0 although the input is bad;
* ``other``: a non-zero exit without exactly one ``Error:`` line.
* ``one-line warning``: for the trials whose right answer is a partial one (a reader skipping a
  damaged file): exit 0 and exactly one warning line naming the problem.

Files an attacker could place (a victim file behind symlinks, FIFOs, a device node when run as
root) are checked after every trial: ``outside writes`` counts trials after which one of them
changed. Targets: 0 tracebacks, 0 internal errors, 0 hangs, 0 accepted, 0 outside writes.

Then, unless ``--no-kill``, the crash trials: ``kill -9`` of a crawl (the CLI and its crawl
process), of a writer during its end-of-run merge and of ``compact``, each followed by a complete
run; rows lost and duplicate ``(site, post_id, content_hash)`` rows are counted (target 0 and 0).
And the concurrency trials: readers of every kind (``load``, ``export``, ``stats``, ``sites``,
``report``) beside a compaction loop and a crawl writing into the same dataset (target 0 failures).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0
SAMPLE = ROOT / "tests" / "samples" / "post-3756.html"


@dataclass
class Trial:
    """One bad input: the CLI arguments, an optional setup, and the env it runs with."""

    name: str
    args: list[str]
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    warns: str = ""  # the right answer is exit 0 with one warning line containing this (not an Error)


def _cli() -> list[str]:
    return [sys.executable, "-c", "import sys; from cli import main; sys.exit(main())"]


def classify(rc: int | None, out: str, warns: str = "") -> str:
    """The class of one trial's outcome (see the module docstring)."""
    if rc is None:
        return "hang"
    if "Traceback (most recent call last)" in out:
        return "traceback"
    if warns and rc == 0:
        hits = [ln for ln in out.splitlines() if ("WARNING" in ln or "ERROR" in ln) and warns in ln]
        return "one-line warning" if len(hits) == 1 else "other"
    if rc == 0:
        return "accepted"
    errors = [ln for ln in out.splitlines() if ln.startswith("Error:")]
    if any(ln.startswith("Error: internal error") for ln in errors):
        return "internal"
    return "one-line error" if rc in (1, 2) and len(errors) == 1 else "other"


def run_trial(t: Trial, scratch: Path) -> dict:
    """Run one trial; its class, exit code, seconds and the last output line."""
    if t.setup:
        t.setup(scratch)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(t.env)
    env["PYTHONPATH"] = str(ROOT)
    t0 = time.monotonic()
    try:
        p = subprocess.run(_cli() + t.args, cwd=t.cwd or scratch, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT, errors="replace")
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as exc:
        rc = None
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    lines = [ln for ln in out.splitlines() if ln.strip()]
    err = [ln for ln in lines if ln.startswith("Error:")]
    return {"name": t.name, "class": classify(rc, out, t.warns), "rc": rc, "seconds": round(time.monotonic() - t0, 1),
            "line": (err[-1] if err else (lines[-1] if lines else ""))[:160]}


# --- the scratch folder -------------------------------------------------------------------------


class Scratch:
    """The demo dataset, the replica and the attacker's files."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.victim = root / "victim.txt"
        self.victim.write_text("keep\n")
        (root / "afile").write_text("x")  # a file where a folder is expected
        self.fifo = root / "fifo"
        os.mkfifo(self.fifo)
        self.device = None
        if os.geteuid() == 0:  # a /dev/null of our own: a broken version replaces this, not /dev/null
            self.device = root / "null-device"
            os.mknod(self.device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        self.replica = None
        self.proxy = ""
        self.locks: list = []  # FolderLocks held to play a running crawl

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["PYTHONPATH"] = str(ROOT)
        r = subprocess.run(_cli() + ["demo", "--out", str(self.data), "--posts", "20", "--sites", "1",
                                     "--no-progress"], cwd=self.root, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"the demo dataset could not be built:\n{r.stdout}{r.stderr}")
        self.replica = subprocess.Popen(
            [sys.executable, "-m", "crawler.replica", "--sites", "1", "--posts", "20", "--port", "0"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.replica.stdout.readline()
        m = re.search(r"proxy: (\S+)", line)
        if not m:
            raise SystemExit(f"the replica did not start: {line!r}")
        self.proxy = m.group(1)

    def stop(self) -> None:
        for lock in self.locks:
            lock.release()
        if self.replica is not None:
            self.replica.terminate()
            self.replica.wait(timeout=10)

    def intact(self) -> bool:
        """The attacker's files are as placed: nothing was written through them or over them."""
        ok = self.victim.read_text() == "keep\n" and stat.S_ISFIFO(os.lstat(self.fifo).st_mode)
        if self.device is not None:
            ok = ok and stat.S_ISCHR(os.lstat(self.device).st_mode)
        return ok


def _copy_data(s: Scratch, name: str) -> Path:
    dst = s.root / name
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(s.data, dst, symlinks=True)
    return dst


def trials(s: Scratch) -> list[Trial]:
    """Every bad input tried, grouped by command."""
    host = "jinshan.021cf.cn"
    d, r = str(s.data), s.root
    crawl = ["crawl", host, "--proxy", s.proxy, "-q", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]

    def fresh(name: str) -> str:
        return str(r / name)

    def link_lock(root: Path) -> None:
        out = _copy_data(s, "d-lock-link")
        (out / ".parkcorpus.lock").unlink(missing_ok=True)
        (out / ".parkcorpus.lock").symlink_to(s.victim)

    def fifo_lock(root: Path) -> None:
        out = _copy_data(s, "d-lock-fifo")
        (out / ".parkcorpus.lock").unlink(missing_ok=True)
        os.mkfifo(out / ".parkcorpus.lock")

    def link_marker(kind: str) -> Callable[[Path], None]:
        def make(root: Path) -> None:
            out = _copy_data(s, f"d-marker-{kind}")
            m = out / ".parkcorpus" / kind
            m.mkdir(parents=True, exist_ok=True)
            (m / host).unlink(missing_ok=True)
            (m / host).symlink_to(s.victim)
        return make

    def fifo_marker(root: Path) -> None:
        out = _copy_data(s, "d-marker-fifo")
        m = out / ".parkcorpus" / "unfetchable"
        m.mkdir(parents=True, exist_ok=True)
        (m / host).unlink(missing_ok=True)
        os.mkfifo(m / host)

    def held_lock(root: Path) -> None:
        from crawler.lock import FolderLock

        out = _copy_data(s, "d-held")
        s.locks.append(FolderLock(out, run_id="bench-crawl").acquire())  # released when the bench ends

    def cut_warc(root: Path) -> None:
        out = _copy_data(s, "d-cut-warc")
        w = next(iter(sorted((out / "warc").glob("*.warc.gz"))))
        raw = w.read_bytes()
        w.write_bytes(raw[: int(len(raw) * 0.6)])

    def toml(text: str) -> Callable[[Path], None]:
        def make(root: Path) -> None:
            (root / "bad.toml").write_text(text, encoding="utf-8")
        return make

    def not_utf8(root: Path) -> None:
        (root / "bad.toml").write_bytes(b"delay = 1 # \xff\xfe\n")

    def link_to(root: Path) -> None:
        p = root / "out-link.jsonl"
        p.unlink(missing_ok=True)
        p.symlink_to(s.victim)

    def damaged(root: Path) -> None:
        out = _copy_data(s, "d-damaged")
        f = next(iter(sorted((out / "articles").rglob("*.parquet"))))
        raw = f.read_bytes()
        f.write_bytes(raw[: len(raw) // 2])

    def pages(root: Path) -> None:
        (root / "big.html").write_bytes(SAMPLE.read_bytes())
        with open(root / "big.html", "r+b") as fh:
            fh.truncate(11 * 1024 * 1024)
        page = SAMPLE.read_text(encoding="utf-8")
        i = page.index('<div class="single viewall">') + len('<div class="single viewall">')
        (root / "deep.html").write_text(page[:i] + "<div>" * 100_000 + "x" + "</div>" * 100_000 + page[i:],
                                        encoding="utf-8")
        (root / "binary.html").write_bytes(bytes(range(256)) * 10)
        (root / "empty.html").write_bytes(b"")
        (root / "gz.html").write_bytes(gzip.compress(b"<html>" + b" " * 1000))
        (root / "batch").mkdir(exist_ok=True)
        (root / "batch" / "a.html").write_bytes(SAMPLE.read_bytes())
        (root / "batch" / "b.html").write_bytes(bytes(range(256)) * 10)

    out = [
        # crawl: values
        Trial("crawl --ids ''", crawl + ["--out", fresh("c1"), "--ids", ""]),
        Trial("crawl --ids 1-99999999999999999999999", crawl + ["--out", fresh("c1"), "--ids", "1-99999999999999999999999"]),
        Trial("crawl --ids abc", crawl + ["--out", fresh("c1"), "--ids", "abc"]),
        Trial("crawl --ids 0", crawl + ["--out", fresh("c1"), "--ids", "0"]),
        Trial("crawl --ids 5-3", crawl + ["--out", fresh("c1"), "--ids", "5-3"]),
        Trial("crawl --ids 9 x 5000 digits", crawl + ["--out", fresh("c1"), "--ids", "9" * 5000]),
        Trial("crawl --since 0001-01-01", crawl + ["--out", fresh("c1"), "--since", "0001-01-01"]),
        Trial("crawl --until 9999-12-31", crawl + ["--out", fresh("c1"), "--until", "9999-12-31"]),
        Trial("crawl --since 2026-13-45", crawl + ["--out", fresh("c1"), "--since", "2026-13-45"]),
        Trial("crawl --since after --until", crawl + ["--out", fresh("c1"), "--since", "2026-02-01", "--until", "2026-01-01"]),
        Trial("crawl --delay inf", crawl + ["--out", fresh("c1"), "--delay", "inf"]),
        Trial("crawl --delay nan", crawl + ["--out", fresh("c1"), "--delay", "nan"]),
        Trial("crawl --delay -3", crawl + ["--out", fresh("c1"), "--delay", "-3"]),
        Trial("crawl --concurrency 0", crawl + ["--out", fresh("c1"), "--concurrency", "0"]),
        Trial("crawl --max-errors -1", crawl + ["--out", fresh("c1"), "--max-errors", "-1"]),
        Trial("crawl --max-pages 0", crawl + ["--out", fresh("c1"), "--max-pages", "0"]),
        Trial("crawl -s CONCURRENT_REQUESTS=abc", crawl + ["--out", fresh("c1"), "-s", "CONCURRENT_REQUESTS=abc"]),
        Trial("crawl -s DOWNLOAD_DELAY=inf", crawl + ["--out", fresh("c1"), "-s", "DOWNLOAD_DELAY=inf"]),
        Trial("crawl -s PARKCORPUS_FLUSH_ROWS=0", crawl + ["--out", fresh("c1"), "-s", "PARKCORPUS_FLUSH_ROWS=0"]),
        Trial("crawl -s PARKCORPUS_MAX_ERRORS=-1", crawl + ["--out", fresh("c1"), "-s", "PARKCORPUS_MAX_ERRORS=-1"]),
        Trial("crawl -s ROBOTSTXT_OBEY=maybe", crawl + ["--out", fresh("c1"), "-s", "ROBOTSTXT_OBEY=maybe"]),
        Trial("crawl -s NOEQUALS", crawl + ["--out", fresh("c1"), "-s", "NOEQUALS"]),
        Trial("crawl -s SCHEDULER=no.such.Scheduler", crawl + ["--out", fresh("c1"), "--ids", "1-2", "-s", "SCHEDULER=no.such.Scheduler"]),
        Trial("crawl --mode bogus", crawl + ["--out", fresh("c1"), "--mode", "bogus"]),
        Trial("crawl --mode ids without --ids", crawl + ["--out", fresh("c1"), "--mode", "ids"]),
        Trial("crawl unknown site", ["crawl", "no such site!", "--out", fresh("c1"), "--proxy", s.proxy]),
        Trial("crawl --proxy unreachable", ["crawl", host, "--out", fresh("c1"), "--proxy", "http://127.0.0.1:9"]),
        Trial("crawl --proxy not a URL", ["crawl", host, "--out", fresh("c1"), "--proxy", "::::"]),
        Trial("crawl --out /dev/null", crawl + ["--out", "/dev/null"]),
        Trial("crawl --out a file", crawl + ["--out", str(r / "afile")]),
        Trial("crawl --out missing/parent/folder", crawl + ["--out", str(r / "no" / "such" / "folder")]),
        # crawl: the dataset folder as an attacker left it
        Trial("crawl, lock is a symlink to a victim", crawl + ["--out", str(r / "d-lock-link"), "--ids", "1-3"], link_lock),
        Trial("crawl, lock is a FIFO", crawl + ["--out", str(r / "d-lock-fifo"), "--ids", "1-3"], fifo_lock),
        *[Trial(f"crawl --mode full, {k} marker is a symlink", crawl + ["--out", str(r / f"d-marker-{k}"), "--mode", "full"],
                link_marker(k)) for k in ("incomplete", "crawled", "unfetchable")],
        Trial("crawl, unfetchable marker is a FIFO", crawl + ["--out", str(r / "d-marker-fifo"), "--ids", "1-3"], fifo_marker),
        # configuration
        Trial("--config missing file", ["--config", str(r / "missing.toml"), "config"]),
        Trial("--config not TOML", ["--config", str(r / "bad.toml"), "config"], toml("delay = = 3\n")),
        Trial("--config unknown key", ["--config", str(r / "bad.toml"), "config"], toml("delayy = 3\n")),
        Trial("--config concurrency = 0", ["--config", str(r / "bad.toml"), "config"], toml("concurrency = 0\n")),
        Trial("--config delay = inf", ["--config", str(r / "bad.toml"), "config"], toml("delay = inf\n")),
        Trial("--config flush_rows = -5", ["--config", str(r / "bad.toml"), "config"], toml("flush_rows = -5\n")),
        Trial("--config delay = 'x'", ["--config", str(r / "bad.toml"), "config"], toml("delay = 'x'\n")),
        Trial("--config not UTF-8", ["--config", str(r / "bad.toml"), "config"], not_utf8),
        Trial("env PARKCORPUS_DELAY=nan", ["config"], env={"PARKCORPUS_DELAY": "nan"}),
        Trial("env PARKCORPUS_FLUSH_ROWS=0", ["config"], env={"PARKCORPUS_FLUSH_ROWS": "0"}),
        Trial("env PARKCORPUS_MAX_ERRORS=-1", ["config"], env={"PARKCORPUS_MAX_ERRORS": "-1"}),
        Trial("env PARKCORPUS_CONCURRENCY=abc", ["config"], env={"PARKCORPUS_CONCURRENCY": "abc"}),
        # export
        Trial("export --to FIFO", ["export", "--out", d, "--to", str(s.fifo)]),
        Trial("export --to symlink to a victim", ["export", "--out", d, "--to", str(r / "out-link.jsonl")], link_to),
        Trial("export --to a folder", ["export", "--out", d, "--to", str(r)]),
        Trial("export --to inside the dataset", ["export", "--out", d, "--to", str(s.data / "articles" / "x.parquet")]),
        Trial("export --until 9999-12-31", ["export", "--out", d, "--to", str(r / "e.jsonl"), "--until", "9999-12-31"]),
        Trial("export --since 0001-01-01", ["export", "--out", d, "--to", str(r / "e.jsonl"), "--since", "0001-01-01"]),
        Trial("export --since garbage", ["export", "--out", d, "--to", str(r / "e.jsonl"), "--since", "yesterday"]),
        Trial("export --to - --format parquet", ["export", "--out", d, "--to", "-", "--format", "parquet"]),
        Trial("export --site unknown", ["export", "--out", d, "--to", str(r / "e.jsonl"), "--site", "nope.example"]),
        Trial("export --out missing", ["export", "--out", str(r / "missing"), "--to", str(r / "e.jsonl")]),
        Trial("export --out a file", ["export", "--out", str(r / "afile"), "--to", str(r / "e.jsonl")]),
        # report
        Trial("report --to FIFO", ["report", "--out", d, "--to", str(s.fifo)]),
        Trial("report --to symlink to a victim", ["report", "--out", d, "--to", str(r / "out-link.jsonl")], link_to),
        Trial("report --to a folder", ["report", "--out", d, "--to", str(r)]),
        Trial("report --to inside the dataset", ["report", "--out", d, "--to", str(s.data / "r.html")]),
        Trial("report --to missing folder", ["report", "--out", d, "--to", str(r / "no" / "r.html")]),
        Trial("report --out missing", ["report", "--out", str(r / "missing"), "--to", str(r / "r.html")]),
        # extract
        Trial("extract FIFO", ["extract", str(s.fifo)]),
        Trial("extract /dev/zero", ["extract", "/dev/zero"]),
        Trial("extract 11 MB file", ["extract", str(r / "big.html")], pages),
        Trial("extract body nested 100,000 deep", ["extract", str(r / "deep.html")]),
        Trial("extract binary file", ["extract", str(r / "binary.html")]),
        Trial("extract empty file", ["extract", str(r / "empty.html")]),
        Trial("extract gzip file", ["extract", str(r / "gz.html")]),
        Trial("extract missing file", ["extract", str(r / "missing.html")]),
        Trial("extract --fetched-at garbage", ["extract", str(SAMPLE), "--fetched-at", "noon"]),
        Trial("extract --url with a folder", ["extract", str(r / "batch"), "--url", "http://x/"]),
        # the other readers
        Trial("stats --out missing", ["stats", "--out", str(r / "missing")]),
        Trial("stats --out a file", ["stats", "--out", str(r / "afile")]),
        Trial("sites --out a file", ["sites", "--out", str(r / "afile")]),
        Trial("validate --out missing", ["validate", "--out", str(r / "missing")]),
        Trial("compact --out missing", ["compact", "--out", str(r / "missing")]),
        Trial("compact --partition garbage", ["compact", "--out", d, "--partition", "../../etc"]),
        Trial("reextract --to inside the source", ["reextract", "--out", d, "--to", str(s.data / "rebuilt")]),
        Trial("reextract --to a file", ["reextract", "--out", d, "--to", str(r / "afile")]),
        Trial("reextract --out missing", ["reextract", "--out", str(r / "missing")]),
        # one damaged Parquet file: readers answer with what they can read and one warning
        Trial("stats on a damaged Parquet file", ["stats", "--out", str(r / "d-damaged")], damaged, warns="unreadable Parquet"),
        Trial("sites on a damaged Parquet file", ["sites", "--out", str(r / "d-damaged")], damaged, warns="unreadable Parquet"),
        Trial("report on a damaged Parquet file", ["report", "--out", str(r / "d-damaged"), "--to", str(r / "r2.html")], damaged,
              warns="unreadable Parquet"),
        Trial("compact with a damaged Parquet file", ["compact", "--out", str(r / "d-damaged")], damaged, warns="unreadable Parquet"),
        Trial("export from a damaged Parquet file", ["export", "--out", str(r / "d-damaged"), "--to", str(r / "e2.jsonl")], damaged),
        Trial("crawl into a dataset with a damaged Parquet file", [a for a in crawl if a != "-q"] + ["--out", str(r / "d-damaged"), "--ids", "1-3", "--no-progress"], damaged,
              warns="is damaged: its posts"),
        Trial("reextract while a crawl holds the lock", ["reextract", "--out", str(r / "d-held")], held_lock),
        Trial("reextract of a truncated WARC", ["reextract", "--out", str(r / "d-cut-warc"), "--to", str(r / "rebuilt")], cut_warc,
              warns="unreadable WARC record"),
        # cluster
        Trial("cluster plan, node not a URL", ["cluster", "plan", host, "--node", "not a url", "--proxy", s.proxy]),
        Trial("cluster plan, site unreachable", ["cluster", "plan", host, "--node", "http://127.0.0.1:9", "--proxy", "http://127.0.0.1:9"]),
        Trial("cluster plan --shard-size 0", ["cluster", "plan", host, "--node", "http://127.0.0.1:9", "--shard-size", "0"]),
    ]
    if s.device is not None:
        out.append(Trial("export --to a device node", ["export", "--out", d, "--to", str(s.device)]))
        out.append(Trial("report --to a device node", ["report", "--out", d, "--to", str(s.device)]))
    return out


# --- kill -9 and concurrency trials ---------------------------------------------------------------

#: A writer that flushes many small files, says "merging" and merges them (DatasetWriter.close):
#: killed during that merge, it must lose no row and leave no duplicate a reader sees.
MERGE_WRITER = r"""
import sys
from datetime import datetime, timedelta, timezone
from crawler.items import content_hash, empty_article
from crawler.store import DatasetWriter, ensure_dataset
out, run_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ensure_dataset(out)
w = DatasetWriter(out, run_id, flush_rows=5)
for i in range(1, n + 1):
    text = f"园区第{i}号公告（{run_id}）。" * 20  # a new version of each post per run
    w.add(empty_article(url=f"http://jinshan.021cf.cn/index.php/post/{i}.html", site="jinshan.021cf.cn", post_id=i,
                        title=f"标题{i}", text=text, content_hash=content_hash(text), template="tpure",
                        published=datetime(2026, 1 + i % 6, 1, tzinfo=timezone.utc), published_precision="day",
                        fetched_at=datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(seconds=i),
                        run_id=run_id, extractor_version="bench"))
w.flush()
print("merging", flush=True)
w.close()
print("done", flush=True)
"""

#: A compaction loop beside the readers: identical copies of every file put in place, then compacted away.
COMPACT_LOOP = r"""
import os, shutil, sys, time
from pathlib import Path
from crawler.store import compact, dataset_files
out, stop = Path(sys.argv[1]), Path(sys.argv[2])
n, errors, t0 = 0, [], time.monotonic()
while not stop.exists() and time.monotonic() - t0 < 600:
    for f in dataset_files(out) + dataset_files(out, "links"):
        tmp = out / ".tmp" / f"copy-{n}.parquet"
        try:
            shutil.copyfile(f, tmp)
        except FileNotFoundError:  # merged away by the writer meanwhile
            continue
        os.replace(tmp, f.with_name(f"part-copy-{n}-{f.name[-20:]}"))
    try:
        compact(out)
    except Exception as exc:  # a compaction that fails beside a writer is a finding too
        errors.append(f"{type(exc).__name__}: {exc}"[:160])
    n += 1
print(n, len(errors), *errors[:3], sep="\n")
"""


def _descendants(pid: int) -> list[int]:
    """Every process below pid (from /proc), children first."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat_line = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill9(proc: subprocess.Popen) -> None:
    """SIGKILL a process and everything below it at once (a cron `timeout -s KILL`, an OOM kill of the group)."""
    for pid in [proc.pid, *_descendants(proc.pid)]:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    proc.wait()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _seen(out: Path) -> tuple[set[tuple[str, int]], int]:
    """(posts a reader sees, duplicate (site, post_id, content_hash) rows a reader sees)."""
    sys.path.insert(0, str(ROOT))
    from crawler.store import load

    df = load(out, columns=["site", "post_id", "content_hash"], history=True)
    keys = list(zip(df["site"], df["post_id"], df["content_hash"]))
    return {(s, int(p)) for s, p, _ in keys}, len(keys) - len(set(keys))


def _raw_duplicates(out: Path) -> int:
    """Duplicate (site, post_id, content_hash) rows in the files themselves (after validate --repair)."""
    import pyarrow.parquet as pq

    keys = []
    for f in sorted((out / "articles").rglob("*.parquet")):
        if f.name.startswith((".", "_")):
            continue
        site = f.relative_to(out / "articles").parts[0].partition("=")[2]
        t = pq.read_table(f, columns=["post_id", "content_hash"])
        keys += [(site, p, h) for p, h in zip(t.column(0).to_pylist(), t.column(1).to_pylist())]
    return len(keys) - len(set(keys))


def kill_trials(root: Path, rounds: int, seed: int = 2026) -> list[dict]:
    """kill -9 during a crawl, an end-of-run merge and compact; then a complete run; losses and duplicates."""
    import random

    rng = random.Random(seed)
    env = _env()
    replica = subprocess.Popen([sys.executable, "-m", "crawler.replica", "--sites", "1", "--posts", "120", "--port", "0"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proxy = re.search(r"proxy: (\S+)", replica.stdout.readline()).group(1)
    host = "jinshan.021cf.cn"
    crawl = _cli() + ["crawl", host, "--proxy", proxy, "-q", "--no-progress", "-s", "DOWNLOAD_DELAY=0",
                      "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS=4", "-s", "PARKCORPUS_FLUSH_ROWS=7"]
    results = []
    try:
        ref = root / "k-reference"
        subprocess.run(crawl + ["--out", str(ref)], env=env, capture_output=True, timeout=600)
        want, _ = _seen(ref)
        for i in range(rounds):  # during a crawl
            out = root / f"k-crawl-{i}"
            p = subprocess.Popen(crawl + ["--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(1.0, 6.0))
            _kill9(p)
            r = subprocess.run(crawl + ["--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
            got, dups = _seen(out)
            results.append({"kind": "crawl", "killed_after_s": None, "rerun_rc": r.returncode,
                            "lost": len(want - got), "duplicates": dups})
        for i in range(rounds):  # during the end-of-run merge
            out = root / f"k-merge-{i}"
            p = subprocess.Popen([sys.executable, "-c", MERGE_WRITER, str(out), f"20261130T000000Z-merge{i}", "200"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if p.stdout.readline().strip() != "merging":
                raise SystemExit(f"the merge writer failed before merging (exit {p.wait()})")
            time.sleep(rng.uniform(0.0, 0.4))
            _kill9(p)
            got, dups = _seen(out)
            subprocess.run(_cli() + ["validate", "--out", str(out), "--repair"], env=env, capture_output=True)
            results.append({"kind": "merge", "lost": 200 - len(got), "duplicates": dups,
                            "raw_duplicates_after_repair": _raw_duplicates(out)})
        for i in range(rounds):  # during compact
            out = root / f"k-compact-{i}"
            subprocess.run([sys.executable, "-c", MERGE_WRITER.replace("w.close()", "w.close() if False else None"),
                            str(out), f"20261130T000000Z-compact{i}", "300"], env=env, capture_output=True)
            before, _ = _seen(out)
            p = subprocess.Popen(_cli() + ["compact", "--out", str(out)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 2.5))
            _kill9(p)
            got, dups = _seen(out)
            r = subprocess.run(_cli() + ["compact", "--out", str(out)], env=env, capture_output=True, text=True)
            after, dups2 = _seen(out)
            results.append({"kind": "compact", "lost": len(before - got) + len(before - after),
                            "duplicates": dups + dups2, "rerun_rc": r.returncode,
                            "raw_duplicates_after_compact": _raw_duplicates(out)})
    finally:
        replica.terminate()
        replica.wait(timeout=10)
    return results


def concurrency_trials(root: Path, reads: int) -> dict:
    """Readers of every kind beside a compaction loop and a crawl writing the same dataset: failures."""
    env = _env()
    replica = subprocess.Popen([sys.executable, "-m", "crawler.replica", "--sites", "1", "--posts", "120", "--port", "0"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proxy = re.search(r"proxy: (\S+)", replica.stdout.readline()).group(1)
    out, stop = root / "c-data", root / "c-stop"
    crawl = _cli() + ["crawl", "jinshan.021cf.cn", "--out", str(out), "--proxy", proxy, "-q", "--no-progress",
                      "-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "PARKCORPUS_FLUSH_ROWS=5"]
    subprocess.run(crawl, env=env, capture_output=True, timeout=600)
    kinds = {
        "load": [sys.executable, "-c", f"from crawler.store import load; assert len(load({str(out)!r})) > 0"],
        "export": _cli() + ["export", "--out", str(out), "--to", str(root / "c-e.jsonl")],
        "stats": _cli() + ["stats", "--out", str(out)],
        "sites": _cli() + ["sites", "--out", str(out)],
        "report": _cli() + ["report", "--out", str(out), "--to", str(root / "c-r.html")],
    }
    failures: dict[str, list[str]] = {k: [] for k in kinds}
    loop = subprocess.Popen([sys.executable, "-c", COMPACT_LOOP, str(out), str(stop)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    # the writer: flushes of 5 rows (new versions of the crawled posts) and an end-of-run merge, again and again
    writer = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys\nfor i in range(1000):\n    if __import__('os').path.exists({str(stop)!r}): break\n"
         f"    subprocess.run([sys.executable, '-c', {MERGE_WRITER!r}, {str(out)!r}, f'20261130T0000{{i:02d}}Z-w', '60'])"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    try:
        for i in range(reads):
            for kind, cmd in kinds.items():
                r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
                bad = r.returncode != 0 or "Traceback" in r.stdout + r.stderr
                if bad:
                    failures[kind].append((r.stderr.strip().splitlines() or [""])[-1][:160])
                elif kind == "export":
                    rows = [json.loads(x) for x in (root / "c-e.jsonl").read_text().splitlines()]
                    keys = [(x["site"], x["post_id"]) for x in rows]
                    if len(keys) != len(set(keys)):
                        failures["export"].append("a post exported twice")
    finally:
        stop.write_text("")
        said = (loop.communicate(timeout=600)[0] or "0\n0").splitlines()
        rounds, compact_errors = int(said[0]), int(said[1]) if len(said) > 1 else 0
        if compact_errors:
            failures.setdefault("compact", []).extend(said[2:] or ["compact failed"] * compact_errors)
        writer.wait(timeout=600)
        replica.terminate()
        replica.wait(timeout=10)
    return {"reads_per_kind": reads, "compactions": rounds, "writer_rc": writer.returncode,
            "seconds": round(time.monotonic() - t0, 1),
            "failures": {k: len(v) for k, v in failures.items()}, "examples": {k: v[:3] for k, v in failures.items() if v}}


def main(argv: list[str] | None = None) -> int:
    """Run the trials; print the table (or JSON) and the totals; exit 1 when a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("-k", default="", help="only trials whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--no-kill", action="store_true", help="skip the kill -9 and concurrency trials")
    ap.add_argument("--kill-rounds", type=int, default=5, help="kill -9 trials of each kind (default 5)")
    ap.add_argument("--reads", type=int, default=20, help="reads of each kind beside the writers (default 20)")
    a = ap.parse_args(argv)
    kills, concurrent = [], {}
    root = Path(tempfile.mkdtemp(prefix="parkcorpus-reliability-"))
    s = Scratch(root)
    results = []
    started = time.time()
    try:
        s.start()
        for t in trials(s):
            if a.k not in t.name:
                continue
            res = run_trial(t, root)
            res["outside_write"] = not s.intact()
            if res["outside_write"]:  # put the bait back for the next trial
                s.victim.unlink(missing_ok=True)
                s.victim.write_text("keep\n")
            results.append(res)
            if not a.json:
                flag = "  OUTSIDE WRITE" if res["outside_write"] else ""
                print(f"{res['class']:<15} rc={str(res['rc']):<4} {res['seconds']:>5}s  {t.name}{flag}\n"
                      f"{'':>15} {res['line']}", flush=True)
        if not a.no_kill and not a.k:
            kills = kill_trials(root, a.kill_rounds)
            if not a.json:
                for k in kills:
                    print("kill -9", k, flush=True)
            concurrent = concurrency_trials(root, a.reads)
            if not a.json:
                print("concurrent", concurrent, flush=True)
    finally:
        s.stop()
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
    classes = {}
    for res in results:
        classes[res["class"]] = classes.get(res["class"], 0) + 1
    totals = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                   f"{platform.system()} {platform.release()}",
        "load_1min_before": round(os.getloadavg()[0], 2),
        "euid": os.geteuid(),
        "tried": len(results),
        "one_line_errors": classes.get("one-line error", 0),
        "one_line_warnings": classes.get("one-line warning", 0),
        "tracebacks": classes.get("traceback", 0),
        "internal_errors": classes.get("internal", 0),
        "hangs": classes.get("hang", 0),
        "accepted": classes.get("accepted", 0),
        "other": classes.get("other", 0),
        "outside_writes": sum(r["outside_write"] for r in results),
        "kill9_trials": {kind: sum(1 for k in kills if k["kind"] == kind) for kind in ("crawl", "merge", "compact")},
        "kill9_rows_lost": sum(k["lost"] for k in kills),
        "kill9_duplicates": sum(k["duplicates"] + k.get("raw_duplicates_after_repair", 0)
                                + k.get("raw_duplicates_after_compact", 0) for k in kills),
        "concurrent_reads": concurrent.get("reads_per_kind", 0) * 5,
        "concurrent_compactions": concurrent.get("compactions", 0),
        "concurrent_failures": sum(concurrent.get("failures", {}).values()),
        "seconds": round(time.time() - started, 1),
    }
    if a.json:
        print(json.dumps({"totals": totals, "trials": results, "kill9": kills, "concurrent": concurrent},
                         ensure_ascii=False, indent=2))
    else:
        print("\n" + ", ".join(f"{k} {v}" for k, v in totals.items()))
    bad = (totals["tracebacks"] + totals["internal_errors"] + totals["hangs"] + totals["accepted"] + totals["outside_writes"]
           + totals["kill9_rows_lost"] + totals["kill9_duplicates"] + totals["concurrent_failures"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
