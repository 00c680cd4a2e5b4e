"""Issue 16: nothing parkcorpus writes lands outside its output folder or --to file, whatever symlinks
or special files sit in the dataset; bad values give one `Error:` line, never a traceback.

Each test reproduces one defect of the issue as a user (or an attacker sharing the folder) would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from crawler.errors import UnsafePathError
from crawler.lock import LOCK_NAME, FolderLock, read_holder
from crawler.safefile import check_output_target, open_state_file, write_state_file

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, env=None):
    """(exit code, whole output) of `parkcorpus ARGS`; asserts no traceback and one Error line at most."""
    res = CliRunner().invoke(main, [str(a) for a in args], env=env)
    out = res.output
    assert "Traceback" not in out, out
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, out


def error_line(out: str) -> str:
    lines = [ln for ln in out.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, out
    return lines[0]


# --- defect 1: the lock file and state files ---------------------------------------------------------


def test_lock_refuses_symlink_and_keeps_its_target(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    out = tmp_path / "d"
    out.mkdir()
    (out / LOCK_NAME).symlink_to(victim)
    with pytest.raises(UnsafePathError, match=r"\.parkcorpus\.lock is a symbolic link"):
        FolderLock(out).acquire()
    assert victim.read_text() == "keep\n"


def test_lock_refuses_fifo_without_hanging(tmp_path):
    os.mkfifo(tmp_path / LOCK_NAME)
    t0 = time.monotonic()
    with pytest.raises(UnsafePathError, match="is a FIFO, not a regular file"):
        FolderLock(tmp_path).acquire()
    assert read_holder(tmp_path) is None  # reading the holder does not hang either
    assert time.monotonic() - t0 < 5


def test_lock_refuses_hard_link_to_a_file_elsewhere(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    out = tmp_path / "d"
    out.mkdir()
    os.link(victim, out / LOCK_NAME)
    with pytest.raises(UnsafePathError, match="hard links"):
        FolderLock(out).acquire()
    assert victim.read_text() == "keep\n"


def test_lock_never_truncates_an_existing_file(tmp_path):
    old = '{"pid": null, "note": "' + "x" * 300 + '"}\n'
    (tmp_path / LOCK_NAME).write_text(old)
    with FolderLock(tmp_path, run_id="r1"):
        assert (tmp_path / LOCK_NAME).stat().st_size == len(old)
        assert read_holder(tmp_path)["pid"] == os.getpid()
    assert (tmp_path / LOCK_NAME).stat().st_size == len(old)  # release pads too
    assert read_holder(tmp_path)["pid"] is None
    with FolderLock(tmp_path, run_id="r2") as lock:
        assert lock.took_over is None  # a released lock is not a takeover


def test_crawl_with_symlinked_lock_is_one_error_and_victim_kept(tmp_path, replica, no_proxy_env):
    out = tmp_path / "d"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (out / LOCK_NAME).symlink_to(victim)
    code, text = cli("crawl", replica.network.hosts[0], "--out", out, "--proxy", replica.proxy_url,
                     "--ids", "1-3")
    assert code == 1
    assert error_line(text).startswith(f"Error: {out / LOCK_NAME} is a symbolic link")
    assert victim.read_text() == "keep\n"


def test_state_file_helpers(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    root = tmp_path / "d"
    (root / ".parkcorpus" / "incomplete").mkdir(parents=True)
    marker = root / ".parkcorpus" / "incomplete" / "jinshan.021cf.cn"
    marker.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        write_state_file(marker, "1\n", root=root)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        open_state_file(marker, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    assert victim.read_text() == "keep\n"
    marker.unlink()
    write_state_file(marker, "1\n", root=root)
    assert marker.read_text() == "1\n"
    # a symlinked folder between the root and the file is refused as well
    (root / ".parkcorpus" / "crawled").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError, match="not a folder"):
        write_state_file(root / ".parkcorpus" / "crawled" / "victim", "x", root=root)
    assert victim.read_text() == "keep\n"
    # O_TRUNC only for a file this call creates
    fd, created = open_state_file(marker, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    os.close(fd)
    assert not created and marker.read_text() == "1\n"


def test_check_output_target(tmp_path):
    ds = tmp_path / "data"
    (ds / "articles").mkdir(parents=True)
    assert check_output_target(tmp_path / "x.jsonl", ds) == (tmp_path / "x.jsonl").resolve()
    with pytest.raises(Exception, match="inside the dataset"):
        check_output_target(ds / "articles" / "x.parquet", ds)
    with pytest.raises(Exception, match="inside the dataset"):
        check_output_target(ds / "rebuilt", ds, folder=True)
    with pytest.raises(Exception, match="inside the dataset"):
        check_output_target(tmp_path, ds, folder=True)  # the source would be nested in the target


# --- defect 2: export --to / report --to / reextract --to ----------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from datetime import datetime, timezone

    from test_stats import A, article, write_dataset

    out = tmp_path_factory.mktemp("harden") / "data"
    recs = [article(A, i, datetime(2026, 1, i, tzinfo=timezone.utc)) for i in range(1, 4)]
    # site-controlled labels that matplotlib would parse as mathtext (defect 9)
    recs.append(article(A, 9, datetime(2026, 1, 9, tzinfo=timezone.utc), category="$\\frac{$", tags=("$^$", "a$b")))
    return write_dataset(out, recs)


@pytest.mark.parametrize("cmd", ["export", "report"])
def test_to_fifo_is_refused_and_kept(cmd, small, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, text = cli(cmd, "--out", small, "--to", fifo)
    assert code == 1
    assert error_line(text) == (f"Error: --to {fifo} is a FIFO, not a regular file: write to a file, or to - for stdout")
    assert fifo.is_fifo()


@pytest.mark.parametrize("cmd", ["export", "report"])
def test_to_symlink_is_refused_and_target_kept(cmd, small, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    link = tmp_path / "out.html"
    link.symlink_to(victim)
    code, text = cli(cmd, "--out", small, "--to", link)
    assert code == 1
    assert error_line(text) == f"Error: --to {link} is a symbolic link: give the real file name"
    assert link.is_symlink() and victim.read_text() == "keep\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize("cmd", ["export", "report"])
def test_to_device_node_is_refused(cmd, small, tmp_path):
    import stat as st

    dev = tmp_path / "null"
    os.mknod(dev, st.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    code, text = cli(cmd, "--out", small, "--to", dev)
    assert code == 1 and "is a character device, not a regular file" in error_line(text)
    assert st.S_ISCHR(os.lstat(dev).st_mode)


def test_export_into_the_dataset_is_refused(small):
    target = small / "articles" / "site=jinshan.021cf.cn" / "x.parquet"
    code, text = cli("export", "--out", small, "--to", target)
    assert code == 2
    assert error_line(text) == f"Error: --to {target} is inside the dataset {small}: write it outside the dataset folder"
    assert not target.exists()


def test_reextract_into_its_source_is_refused(small):
    code, text = cli("reextract", "--out", small, "--to", small / "rebuilt")
    assert code == 2 and "inside the dataset" in error_line(text)
    assert not (small / "rebuilt").exists()


def test_report_to_stdout(small, tmp_path):
    code, text = cli("report", "--out", small, "--to", "-")
    assert code == 0
    assert "<html" in text and "</html>" in text
    assert not (Path.cwd() / "-").exists()


# --- defect 9: site-controlled labels are plain text in the report --------------------------------


def test_report_renders_dollar_labels_as_text(small, tmp_path):
    from crawler.report import build_report

    info = build_report(small, to=tmp_path / "r.html")
    assert info["articles"] == 4 and {"top_tags", "category_shares"} <= set(info["plots"])


# --- defect 7: the crawl process dies with its parent -------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return True
    return state in ("Z", "X")


def test_runner_dies_when_the_cli_is_killed(make_replica, tmp_path, no_proxy_env, fast_args):
    import json

    srv = make_replica(sites=1, posts=400, faults="slow=1:0.3")  # every post slow: the crawl lasts
    out = tmp_path / "d"
    cli_proc = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "crawl", srv.network.hosts[0], "--out", str(out),
         "--proxy", srv.proxy_url, "-q", "--mode", "full", *fast_args,
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"],
        cwd=ROOT, env=no_proxy_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    child = None
    end = time.monotonic() + 60
    while child is None and time.monotonic() < end:
        try:
            child = json.loads((out / LOCK_NAME).read_text() or "{}").get("child_pid")
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    assert child, "the crawl never started"
    while srv.count(path_prefix="/index.php/post/") < 3 and time.monotonic() < end:
        time.sleep(0.1)  # the runner is fetching posts
    assert not _gone(child)
    cli_proc.send_signal(signal.SIGKILL)  # cron's `timeout -s KILL`, the OOM killer
    cli_proc.wait()
    end = time.monotonic() + 20
    while not _gone(child) and time.monotonic() < end:
        time.sleep(0.1)
    try:
        assert _gone(child), "the crawl process outlived the killed CLI"
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)


def test_orphaned_runner_exits_even_when_it_ignores_sigterm(tmp_path):
    """A runner stuck in a busy loop never reaches Scrapy's graceful stop: the watchdog ends it."""
    child_code = (
        "import signal, sys; from crawler.runner import watch_parent; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); watch_parent(grace=1.0, interval=0.1); "
        "print('ready', flush=True)\n"
        "while True: pass\n"
    )
    parent_code = (
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', sys.argv[1]], stdout=subprocess.PIPE, text=True); "
        "assert p.stdout.readline().strip() == 'ready'; print(p.pid, flush=True); import time; time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code, child_code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert not _gone(child)
    parent.kill()
    parent.wait()
    end = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < end:
        time.sleep(0.1)
    try:
        assert _gone(child), "the orphaned runner is still spinning"
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)


# --- defect 10: a crawl that could not start says so -------------------------------------------------


def test_crawl_that_cannot_start_does_not_say_run_again(replica, tmp_path, no_proxy_env):
    res = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "crawl", replica.network.hosts[0], "--out",
         str(tmp_path / "d"), "--proxy", replica.proxy_url, "--ids", "1-3", "-s", "SCHEDULER=no.such.Scheduler"],
        cwd=ROOT, env=no_proxy_env, capture_output=True, text=True, timeout=120,
    )
    text = res.stdout + res.stderr
    assert res.returncode == 1
    assert "Traceback" not in text, text
    assert error_line(text) == "Error: the crawl could not start (see the error above); nothing was fetched"
    assert "could not start: No module named 'no'" in res.stderr
    assert "run the same command again" not in text


# --- defect 7: values are range-checked in one place; one Error line each ---------------------------


@pytest.mark.parametrize("key, value, where", [
    ("delay", "inf", "toml"), ("delay", "nan", "env"), ("delay", "-3", "env"), ("concurrency", "0", "toml"),
    ("flush_rows", "0", "toml"), ("flush_rows", "-5", "env"), ("max_errors", "-1", "env"),
])
def test_config_values_are_range_checked(key, value, where, tmp_path):
    from crawler.config import ConfigError, load_config

    if where == "toml":
        (tmp_path / "parkcorpus.toml").write_text(f"{key} = {value}\n")
        with pytest.raises(ConfigError, match=rf"^{key} = .* in .*parkcorpus.toml is out of range"):
            load_config(cwd=tmp_path, env={})
    else:
        var = f"PARKCORPUS_{key.upper()}"
        with pytest.raises(ConfigError, match=rf"^{key} = '{value}' in environment variable {var} is out of range"):
            load_config(cwd=tmp_path, env={var: value})


def test_cli_range_errors_before_any_request(replica, tmp_path, no_proxy_env):
    base = ("crawl", replica.network.hosts[0], "--out", tmp_path / "d", "--proxy", replica.proxy_url)
    before = replica.served
    cases = {
        ("--delay", "inf"): "Error: delay = inf in the command line is out of range: expected a float from 0 to 3,600",
        ("--ids", "1-99999999999999999999999"): "Error: ID range '1-99999999999999999999999' spans more than 1,000,000 IDs",
        ("--ids", ""): "Error: empty ID range: expected FIRST-LAST",
        ("--since", "0001-01-01"): "Error: --since 0001-01-01 is out of range: use a day from 1990-01-01",
        ("-s", "CONCURRENT_REQUESTS=abc"): "Error: CONCURRENT_REQUESTS = 'abc' in -s CONCURRENT_REQUESTS is not a valid int",
        ("-s", "PARKCORPUS_FLUSH_ROWS=0"): "Error: flush_rows = '0' in -s PARKCORPUS_FLUSH_ROWS is out of range",
    }
    for extra, want in cases.items():
        code, text = cli(*base, *extra)
        assert code == 2, (extra, text)
        assert error_line(text).startswith(want), (extra, text)
    assert replica.served == before  # refused before anything was fetched


def test_export_until_far_future_is_one_error(small, tmp_path):
    code, text = cli("export", "--out", small, "--to", tmp_path / "x.jsonl", "--until", "9999-12-31")
    assert code == 2
    assert error_line(text) == "Error: --until 9999-12-31 is out of range: use a day from 1990-01-01 to 2100-12-31"


def test_misspelt_env_variable_warns_with_closest_name(tmp_path, caplog):
    import logging

    from crawler import config

    config._warned_env.discard("PARKCORPUS_DELAYY")
    with caplog.at_level(logging.WARNING, logger="crawler.config"):
        cfg = config.load_config(cwd=tmp_path, env={"PARKCORPUS_DELAYY": "5", "PARKCORPUS_DELAY": "2"})
    assert cfg.get("delay") == 2.0
    assert "PARKCORPUS_DELAYY is not a parkcorpus setting and is ignored; did you mean PARKCORPUS_DELAY?" in caplog.text


# --- defect 8: cluster plan probes obey the crawl's off-site guard and size limit -----------------------


class _Proxy:
    """A loopback HTTP proxy answering from a dict {url: (status, headers, body)}; logs every URL asked."""

    def __init__(self, pages):
        import http.server
        import threading

        self.pages, self.asked = pages, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                outer.asked.append(self.path)
                status, headers, body = outer.pages.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_cluster_probe_does_not_follow_off_site_redirects():
    from crawler.cluster import post_id_range

    site = "jinshan.021cf.cn"
    posts = b'<a href="http://jinshan.021cf.cn/index.php/post/12.html">x</a>'
    proxy = _Proxy({
        f"http://{site}/feed.php": (302, {"Location": "http://evil.example/feed.php"}, b""),
        f"http://{site}/": (301, {"Location": f"http://{site}/index.php/"}, b""),  # on-site: followed
        f"http://{site}/index.php/": (200, {"Content-Type": "text/html"}, posts),
        "http://evil.example/feed.php": (200, {}, b'<a href="/index.php/post/99999.html">'),
    })
    try:
        assert post_id_range(site, proxy=proxy.url, timeout=5) == (12, 12)
    finally:
        proxy.close()
    assert not [u for u in proxy.asked if "evil.example" in u]


def test_cluster_probe_caps_size_and_gzip_bombs():
    import gzip

    from crawler.cluster import ClusterError, post_id_range

    site = "jinshan.021cf.cn"
    bomb = gzip.compress(b" " * (11 * 1024 * 1024))  # ~11 KB on the wire, 11 MB inflated
    proxy = _Proxy({
        f"http://{site}/feed.php": (200, {"Content-Encoding": "gzip"}, bomb),
        f"http://{site}/": (200, {}, b"<html>" + b"x" * (11 * 1024 * 1024)),
    })
    try:
        with pytest.raises(ClusterError, match=r"feed\.php: larger than 10 MB.*/: larger than 10 MB"):
            post_id_range(site, proxy=proxy.url, timeout=5)
    finally:
        proxy.close()


# --- defect 10: extract refuses special and huge files, a deep body, and goes on past a bad file -------

SAMPLE = ROOT / "tests" / "samples" / "post-3756.html"


def test_extract_refuses_fifo_and_device(tmp_path):
    fifo = tmp_path / "page.html"
    os.mkfifo(fifo)
    code, text = cli("extract", fifo)
    assert code == 1 and error_line(text) == f"Error: {fifo} is a FIFO, not a regular file"
    code, text = cli("extract", "/dev/zero")
    assert code == 1 and error_line(text) == "Error: /dev/zero is a character device, not a regular file"


def test_extract_caps_file_size(tmp_path):
    big = tmp_path / "big.html"
    with open(big, "wb") as fh:
        fh.write(SAMPLE.read_bytes())
        fh.truncate(11 * 1024 * 1024)  # sparse: 11 MB without writing them
    code, text = cli("extract", big)
    assert code == 1
    assert error_line(text) == f"Error: {big} is larger than 10 MB (the crawl's limit for one page); not read"


def test_extract_deeply_nested_body_is_malformed(tmp_path):
    from crawler.errors import MalformedPage
    from crawler.extract import extract_html

    page = SAMPLE.read_text(encoding="utf-8")
    start = page.index('<div class="single viewall">') + len('<div class="single viewall">')
    end = page.index("</div>", start)
    deep = page[:start] + "<div>" * 100_000 + "<p>深层正文内容。</p>" + "</div>" * 100_000 + page[end:]
    with pytest.raises(MalformedPage, match="nested deeper"):
        extract_html(deep.encode(), "http://jinshan.021cf.cn/index.php/post/3756.html")
    f = tmp_path / "deep.html"
    f.write_text(deep, encoding="utf-8")
    code, text = cli("extract", f)
    assert code == 1 and "nested deeper than the HTML parser's limit" in error_line(text)


def test_extract_batch_goes_on_past_a_binary_file(tmp_path):
    (tmp_path / "a.html").write_bytes(SAMPLE.read_bytes())
    (tmp_path / "b.html").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "c.html").write_bytes(SAMPLE.read_bytes())
    res = CliRunner().invoke(main, ["extract", str(tmp_path)])
    assert "Traceback" not in res.output
    assert res.exit_code == 1
    records = [ln for ln in res.output.splitlines() if ln.startswith("{")]
    assert len(records) == 2
    assert f"Error: {tmp_path / 'b.html'}: InputError: binary file, not HTML" in res.output


def test_gzip_bomb_counts_as_too_large(tmp_path, no_proxy_env, fast_settings):
    import gzip

    from crawler.crawl import crawl

    site = "jinshan.021cf.cn"
    bomb = gzip.compress(b"<html>" + b" " * (11 * 1024 * 1024))
    proxy = _Proxy({f"http://{site}/index.php/post/1.html": (200, {"Content-Encoding": "gzip",
                                                                   "Content-Type": "text/html"}, bomb)})
    try:
        s = crawl([site], out=str(tmp_path / "d"), ids="1", proxy=proxy.url, settings=fast_settings,
                  env=no_proxy_env, progress=False)
    finally:
        proxy.close()
    assert f"http://{site}/index.php/post/1.html" in proxy.asked
    assert s["errors_by_kind"] == {"too_large": 1}


def test_traditional_page_loses_its_traditional_broker_block():
    from crawler.extract import extract_html
    from crawler.normalize import converter

    url = "http://jinshan.021cf.cn/index.php/post/3756.html"
    simplified = SAMPLE.read_text(encoding="utf-8")
    traditional = converter("s2t").convert(simplified)  # the whole page, broker block included
    assert "產業招商/廠房土地租售" in traditional
    want = extract_html(simplified.encode(), url)["text"]
    got = extract_html(traditional.encode(), url)["text"]
    assert "厂房土地租售" not in got and "微信号" not in got
    assert got == want  # the same article text, nothing else removed


@pytest.mark.parametrize("proxy", ["::::", "http://127.0.0.1:99999", "ftp://host"])
def test_proxy_must_be_an_http_url(proxy, tmp_path):
    code, text = cli("crawl", "jinshan", "--out", tmp_path / "d", "--proxy", proxy, "--ids", "1")
    assert code == 2
    assert error_line(text) == f"Error: proxy = {proxy!r} in the command line is not a URL: expected http://HOST:PORT"


def test_unexpected_exception_is_one_line_with_the_way_to_the_traceback(monkeypatch, tmp_path):
    from crawler import api

    def broken(**kwargs):
        raise ValueError("Port could not be cast to integer value as ':::'")

    monkeypatch.setattr(api, "stats", broken)
    code, text = cli("stats", "--out", tmp_path)
    assert code == 1
    assert error_line(text) == ("Error: internal error (ValueError: Port could not be cast to integer value as "
                                "':::'); run again with --debug for the traceback and report it")
    res = CliRunner().invoke(main, ["--debug", "stats", "--out", str(tmp_path)])
    assert isinstance(res.exception, ValueError)  # --debug still shows the real exception
