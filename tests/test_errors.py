"""Issue 6, point 6: every failure a user can cause gives one exact `Error: ...` line and exit code.

Each test runs the command as a user would (click's runner, or a subprocess where the failure
needs a real process: file size limit), and asserts the whole error line, the exit code and that
no traceback is printed.
"""

from __future__ import annotations

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
        1, f"Error: {tmp_path / 'photos'} is not a parkcorpus dataset (no articles/ or runs/ inside); "
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


# --- crawl options (crawl teammate's command) ------------------------------------------------------

def test_unknown_site():
    need("crawl")
    code, line, _ = run(["crawl", "nosuchsite", "--out", "/nonexistent-never-created"])
    assert code == 2
    assert line.startswith("Error: unknown site 'nosuchsite': not a registered name (")
    assert line.endswith(") nor a valid host name")


def test_bad_host_name():
    need("crawl")
    code, line, _ = run(["crawl", "jin shan.021cf.cn", "--out", "/nonexistent-never-created"])
    assert code == 2
    assert line.startswith("Error: unknown site 'jin shan.021cf.cn': not a registered name (")


def test_bad_id_range(tmp_path):
    need("crawl")
    code, line, _ = run(["crawl", A, "--ids", "3900-3000", "--out", str(tmp_path / "d")])
    assert (code, line) == (2, "Error: bad ID range '3900-3000': FIRST must be at least 1 and not above LAST")
    code, line, _ = run(["crawl", A, "--ids", "abc", "--out", str(tmp_path / "d")])
    assert (code, line) == (2, "Error: bad ID range 'abc': expected FIRST-LAST, e.g. 3000-3900")


def test_bad_date(tmp_path):
    need("crawl")
    code, line, _ = run(["crawl", A, "--since", "2026-13-01", "--out", str(tmp_path / "d")])
    assert (code, line) == (2, "Error: bad date '2026-13-01' for --since: expected YYYY-MM-DD")
