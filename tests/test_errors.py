"""Issue 6, point 6: every failure a user can cause gives one exact `Error: ...` line and exit code.

Each test runs the command as a user would (click's runner, or a subprocess where the failure
needs a real process: file size limit), and asserts the whole error line, the exit code and that
no traceback is printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_stats import A, article, write_dataset

from cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(args, **kw):
    """Invoke the CLI; return (exit code, last line of output, whole output)."""
    res = CliRunner().invoke(main, args, **kw)
    out = res.output
    lines = [line for line in out.strip().splitlines() if line.strip()]
    assert "Traceback" not in out
    return res.exit_code, (lines[-1] if lines else ""), out


def commands() -> set[str]:
    return set(main.list_commands(None))


def need(cmd: str):
    """Skip with a reason while a teammate's command has not landed yet."""
    if cmd not in commands():
        pytest.skip(f"`parkcorpus {cmd}` is not registered yet")


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path / "data", [article(A, 1, datetime(2026, 1, 1, tzinfo=timezone.utc))])


# --- configuration -------------------------------------------------------------------------------

def test_corrupt_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "parkcorpus.toml"
    p.write_text('out = "data"\n\ndelay = = 2\n', encoding="utf-8")
    code, line, _ = run(["config"])
    assert (code, line) == (2, f"Error: config file {p} line 3 is not valid TOML: Invalid value; fix or remove it")


def test_corrupt_config_file_given_with_option(tmp_path, dataset):
    p = tmp_path / "cron.toml"
    p.write_text("[cluster\nnodes = []\n", encoding="utf-8")
    code, line, _ = run(["--config", str(p), "stats", "--out", str(dataset)])
    assert code == 2
    assert line.startswith(f"Error: config file {p} line 1 is not valid TOML: ")
    assert line.endswith("; fix or remove it")


def test_missing_config_file(tmp_path):
    p = tmp_path / "nope.toml"
    code, line, _ = run(["--config", str(p), "config"])
    assert (code, line) == (2, f"Error: config file {p} does not exist; create it or drop --config")


def test_unknown_config_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "parkcorpus.toml"
    p.write_text("dealy = 2\n", encoding="utf-8")
    code, line, _ = run(["config"])
    assert (code, line) == (2, f"Error: unknown config key 'dealy' in {p}; did you mean 'delay'?")


def test_bad_config_value_from_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARKCORPUS_DELAY", "soon")
    code, line, _ = run(["config"])
    assert code == 2
    assert line.startswith("Error: delay = 'soon' in environment variable PARKCORPUS_DELAY is not a valid float")


# --- output folder -------------------------------------------------------------------------------

def test_missing_output_folder(tmp_path):
    out = tmp_path / "nope"
    code, line, _ = run(["stats", "--out", str(out)])
    assert (code, line) == (
        1, f"Error: output folder {out} does not exist; crawl into it first (parkcorpus demo --out {out}) or pass --out DIR"
    )


def test_output_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    code, line, _ = run(["report", "--out", str(tmp_path / "photos"), "--to", str(tmp_path / "r.html")])
    assert (code, line) == (
        1, f"Error: {tmp_path / 'photos'} is not a parkcorpus dataset (no parkcorpus.json or articles/ inside); "
           "pass --out with the folder a crawl wrote"
    )


def test_unwritable_report_destination(dataset):
    # /proc refuses new files even for root, so this holds in CI (which runs as root) too
    code, line, _ = run(["report", "--out", str(dataset), "--to", "/proc/parkcorpus-report.html"])
    assert code == 1
    assert line.startswith("Error: cannot write /proc/parkcorpus-report.html: ")
    assert line.endswith("; choose a writable place")


def test_disk_full_while_writing(dataset, tmp_path):
    # An honest disk-full: the child process gets a 64 KB file size limit (RLIMIT_FSIZE), so the
    # kernel fails the report's write with EFBIG exactly as a full disk fails it with ENOSPC.
    # Python ignores SIGXFSZ, so the write raises instead of killing the process.
    to = tmp_path / "report.html"
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))\n"
        "from cli import main\n"
        f"sys.argv = ['parkcorpus', 'report', '--out', {str(dataset)!r}, '--to', {str(to)!r}]\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1
    assert lines[-1] == f"Error: disk full while writing {to} (File too large); free some space and run again"
    assert not to.exists() and not list(tmp_path.glob(".*.tmp"))  # no half file left behind


# --- crawl options and crawl failures (`parkcorpus crawl`) ----------------------------------------

def _registered_names() -> str:
    from crawler.sites import load_registry

    return ", ".join(sorted(s.name for s in load_registry().values()))


def test_unknown_site(tmp_path):
    need("crawl")
    code, line, _ = run(["crawl", "nosuchsite", "--out", str(tmp_path / "d")])
    assert (code, line) == (
        2, f"Error: unknown site 'nosuchsite': not a registered name ({_registered_names()}) nor a valid host name"
    )
    assert not (tmp_path / "d").exists()  # nothing created for a refused request


def test_bad_host_name(tmp_path):
    need("crawl")
    code, line, _ = run(["crawl", "bad_host!.cn", "--out", str(tmp_path / "d")])
    assert (code, line) == (
        2, f"Error: unknown site 'bad_host!.cn': not a registered name ({_registered_names()}) nor a valid host name"
    )


def test_bad_id_range(tmp_path):
    need("crawl")
    code, line, _ = run(["crawl", A, "--ids", "3900-3000", "--out", str(tmp_path / "d")])
    assert (code, line) == (2, "Error: bad ID range '3900-3000': FIRST must be at least 1 and not above LAST")
    code, line, _ = run(["crawl", A, "--ids", "abc", "--out", str(tmp_path / "d")])
    assert (code, line) == (2, "Error: bad ID range 'abc': expected FIRST-LAST, e.g. 3000-3900")


def test_bad_date(tmp_path):
    need("crawl")
    code, line, _ = run(["crawl", A, "--since", "2026-13-01", "--out", str(tmp_path / "d")])
    assert (code, line) == (2, "Error: bad --since date '2026-13-01': use YYYY-MM-DD")


def test_since_after_until(tmp_path):
    need("crawl")
    code, line, _ = run(["crawl", A, "--since", "2026-03-01", "--until", "2026-01-01", "--out", str(tmp_path / "d")])
    assert (code, line) == (2, "Error: --since 2026-03-01 is after --until 2026-01-01: swap them")


def test_crawl_into_missing_output_folder(tmp_path):
    need("crawl")
    out = tmp_path / "no" / "such" / "folder"
    code, line, _ = run(["crawl", A, "--out", str(out)])
    assert (code, line) == (1, f"Error: output folder {out} does not exist and neither does its parent; create it first")


def test_crawl_into_unwritable_output_folder():
    need("crawl")
    # /proc refuses new folders even for root (CI runs as root, so chmod would not do)
    code, line, _ = run(["crawl", A, "--out", "/proc/parkcorpus-out"])
    assert code == 1
    assert line.startswith("Error: cannot create output folder /proc/parkcorpus-out: ")
    assert line.endswith("; pass another --out")


def test_crawl_into_folder_that_is_not_a_dataset(tmp_path):
    need("crawl")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    code, line, _ = run(["crawl", A, "--out", str(tmp_path / "photos")])
    assert (code, line) == (
        1, f"Error: {tmp_path / 'photos'} is not a parkcorpus dataset (no parkcorpus.json) and is not empty: "
           "pass --out a new or empty folder"
    )
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["cat.jpg"]  # left untouched


def test_validate_a_folder_that_is_not_a_dataset(tmp_path):
    # a read-only command must not advise a new folder: it names what it expected instead
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    code, line, _ = run(["validate", "--out", str(tmp_path / "photos")])
    assert (code, line) == (
        1, f"Error: {tmp_path / 'photos'} is not a parkcorpus dataset (no parkcorpus.json) and is not empty: "
           "pass --out a folder parkcorpus wrote"
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


def test_proxy_unreachable(tmp_path):
    need("crawl")
    proxy = f"http://127.0.0.1:{_closed_port()}"
    code, line, _ = run(["crawl", A, "--proxy", proxy, "--out", str(tmp_path / "d")])
    assert (code, line) == (1, f"Error: proxy {proxy} is unreachable (Connection refused); check --proxy or http_proxy")


def test_site_down(tmp_path, make_replica):
    need("crawl")
    from conftest import FAST_ARGS

    # the replica serves only its own hosts and answers 502 for any other: a site that is down
    srv = make_replica(sites=1, posts=5)
    code, line, _ = run(["crawl", "wuhu.021cf.cn", "--proxy", srv.proxy_url, "--out", str(tmp_path / "d"), *FAST_ARGS])
    assert code == 1
    assert re.fullmatch(r"Error: site down: wuhu\.021cf\.cn \(all \d+ requests failed\); check the host name and the network, or try again later", line), line


def test_locked_folder(tmp_path, make_replica):
    need("crawl")
    from crawler.lock import FolderLock, read_holder

    srv = make_replica(sites=1, posts=5)
    out = tmp_path / "d"
    out.mkdir()
    with FolderLock(out, run_id="held-by-test"):
        holder = read_holder(out)
        code, line, _ = run(["crawl", A, "--proxy", srv.proxy_url, "--out", str(out)])
    assert (code, line) == (
        1, f"Error: {out} is locked by another parkcorpus run (PID {os.getpid()}, started {holder['started']}); "
           "wait for it to finish or stop it"
    )
    assert srv.count(host=A) == 0  # refused before a single request


# --- dataset commands (`parkcorpus export`, `validate`, `compact`) --------------------------------

def test_export_bad_date(dataset, tmp_path):
    need("export")
    code, line, _ = run(["export", "--out", str(dataset), "--to", str(tmp_path / "x.jsonl"), "--since", "2024-02-30"])
    assert (code, line) == (2, "Error: bad --since date '2024-02-30': use YYYY-MM-DD")
    assert not (tmp_path / "x.jsonl").exists()


def test_export_since_after_until(dataset, tmp_path):
    need("export")
    code, line, _ = run(["export", "--out", str(dataset), "--to", str(tmp_path / "x.jsonl"),
                         "--since", "2024-03-01", "--until", "2024-01-01"])
    assert (code, line) == (2, "Error: --since 2024-03-01 is after --until 2024-01-01: swap them")


def test_export_from_missing_output_folder(tmp_path):
    need("export")
    out = tmp_path / "nope"
    code, line, _ = run(["export", "--out", str(out), "--to", str(tmp_path / "x.jsonl")])
    assert (code, line) == (
        1, f"Error: no parkcorpus dataset at {out}: crawl into it first (parkcorpus demo --out {out}) or pass --out DIR"
    )


def test_export_unknown_site(dataset, tmp_path):
    need("export")
    code, line, _ = run(["export", "--out", str(dataset), "--to", str(tmp_path / "x.jsonl"), "--site", "nosuchsite"])
    assert (code, line) == (
        2, f"Error: unknown site 'nosuchsite' in {dataset}: it holds {A} (see `parkcorpus sites`)"
    )


def test_compact_missing_output_folder(tmp_path):
    need("compact")
    out = tmp_path / "typo"
    code, line, _ = run(["compact", "--out", str(out)])
    assert (code, line) == (
        1, f"Error: no parkcorpus dataset at {out}: crawl into it first (parkcorpus demo --out {out}) or pass --out DIR"
    )
    assert not out.exists()  # a typo'd --out is not turned into an empty dataset


@pytest.fixture(scope="module")
def demo_on_full_disk(tmp_path_factory):
    """`parkcorpus demo` in a process whose files may not pass 64 KB: the crawl's writes fail like on a full disk."""
    need("demo")
    out = tmp_path_factory.mktemp("full") / "data"
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))\n"
        "from cli import main\n"
        f"sys.argv = ['parkcorpus', 'demo', '--out', {str(out)!r}, '--posts', '30']\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    return out, proc


def test_crawl_disk_full(demo_on_full_disk):
    out, proc = demo_on_full_disk
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"Error: disk full while writing {out} (File too large); free some space and run the same command again "
        "(what was written is kept)"
    )
