"""Unattended crawls that can be trusted: failed posts are a debt, edits become versions, every
run prints a summary (issue: no silent gaps, every edit kept, every run accounted for)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pyarrow.dataset as ds
import pytest

from crawler.api import stats
from crawler.crawl import crawl
from crawler.debt import FailedPosts
from crawler.replica.edits import Edit, Edits
from crawler.replica.faults import Faults
from crawler.replica.model import Network
from crawler.replica.server import ReplicaServer

FAST = {
    "DOWNLOAD_DELAY": 0, "DOWNLOAD_DELAY_JITTER": 0, "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "PARKCORPUS_RETRY_BACKOFF": 0,
}
T0 = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)  # night 1, 02:00 China time
T1 = T0 + timedelta(days=1)


def run(srv, out, **kw):
    settings = dict(FAST, **kw.pop("settings", {}))
    return crawl(list(srv.network.hosts), out=str(out), proxy=srv.proxy_url, settings=settings,
                 env={}, progress=False, **kw)


def rows(out, columns=("site", "post_id", "title", "record_hash")):
    t = ds.dataset(str(out / "articles"), format="parquet", partitioning="hive").to_table(columns=list(columns))
    return t.to_pylist()


def post_requests(srv):
    return [r for r in srv.requests if "/post/" in r["path"] or "id=" in r["path"]]


def test_failed_posts_are_a_debt_the_next_run_pays(tmp_path, no_proxy_env):
    net = Network(seed=7, sites=1, posts=60, now=T0)
    host = net.hosts[0]
    ids = net.site(host).post_ids()
    faults = Faults.parse("down=10")
    down = faults.plan(host, ids)["down"]
    assert down
    with ReplicaServer(net, faults=faults) as srv:
        night1 = run(srv, tmp_path)
    assert night1["status"] == "partial" and night1["exit_code"] == 3
    assert sorted(night1["failed_urls"]) == sorted(net.site(host).post_url(p) for p in down)
    assert sorted(FailedPosts(tmp_path / ".parkcorpus" / "failed").entries(host)) == sorted(down)
    manifest = json.loads((tmp_path / "runs" / f"{night1['run_id']}.json").read_text())
    assert manifest["status"] == "partial" and manifest["schema_version"] == 1
    health = stats(out=str(tmp_path))["health"]
    assert health["missing_posts"] == len(down) and health["abandoned_posts"] == 0
    assert health["last_run"]["run_id"] == night1["run_id"] and health["last_run"]["status"] == "partial"
    assert health["sites_not_crawled_since"] == {host: (datetime.now(timezone.utc) - datetime.fromisoformat(
        night1["finished"])).days}

    net.set_now(T1)
    with ReplicaServer(net, faults=faults.without("down")) as srv:
        night2 = run(srv, tmp_path, revisit_days=0)
        requested = post_requests(srv)
    assert night2["status"] == "ok" and night2["exit_code"] == 0
    assert night2["sites"][0]["mode"] == "incremental"
    assert night2["retried"] == len(down) and night2["recovered"] == len(down)
    # only the debt was fetched (nothing new was published)
    assert len(requested) == len(down)
    assert sorted({r["post_id"] for r in rows(tmp_path)}) == ids
    assert FailedPosts(tmp_path / ".parkcorpus" / "failed").entries(host) == {}
    assert stats(out=str(tmp_path))["health"]["missing_posts"] == 0


def test_failed_posts_are_abandoned_after_repeated_failures_and_listed(tmp_path, no_proxy_env):
    net = Network(seed=7, sites=1, posts=30, now=T0)
    host = net.hosts[0]
    faults = Faults.parse("down=10")
    down = faults.plan(host, net.site(host).post_ids())["down"]
    debt = FailedPosts(tmp_path / ".parkcorpus" / "failed", max_runs=7)
    for night in range(6):  # six earlier failing runs, recorded as the crawl records them
        for pid in down:
            debt.add_failed(host, pid, T0 - timedelta(days=30 - night), run_id=f"old{night}")
    debt.save()
    with ReplicaServer(net, faults=faults) as srv:
        s = run(srv, tmp_path)
    assert sorted(s["abandoned_urls"]) == sorted(net.site(host).post_url(p) for p in down)
    health = stats(out=str(tmp_path))["health"]
    assert health["abandoned_posts"] == len(down) and health["missing_posts"] == 0
    assert sorted(health["abandoned_urls"]) == sorted(s["abandoned_urls"])


def test_revisit_sample_rechecks_the_oldest_checked_posts(tmp_path, no_proxy_env):
    net = Network(seed=7, sites=1, posts=30, now=T0)
    host = net.hosts[0]
    with ReplicaServer(net) as srv:
        run(srv, tmp_path)
        seen = []
        for night in range(3):
            net.set_now(T0 + timedelta(days=night + 1))
            srv.reset_log()
            s = run(srv, tmp_path, revisit_days=0, revisit_sample=5)
            got = {int(r["path"].rsplit("/", 1)[1].split(".")[0]) for r in post_requests(srv)}
            assert s["revisited"] == 5 and len(got) == 5 and s["articles"]["unchanged"] == 5
            seen.append(got)
    # each night re-checks posts not re-checked before, so the sweep covers the site in turn
    assert len(set().union(*seen)) == 15


def test_max_failed_tolerates_a_few_failed_posts(tmp_path, no_proxy_env):
    net = Network(seed=7, sites=1, posts=60, now=T0)
    with ReplicaServer(net, faults=Faults.parse("down=10")) as srv:
        s = run(srv, tmp_path, max_failed="50%")
    assert s["status"] == "partial" and s["exit_code"] == 0 and s["max_failed"] == "50%"


def test_edits_become_versions_and_changes_lists_them(tmp_path, no_proxy_env):
    from crawler.api import changes, load

    net = Network(seed=7, sites=1, posts=60, now=T0)
    host = net.hosts[0]
    site = net.site(host)
    net.set_now(T0 - timedelta(days=3))
    site.publish(2)  # posts of this week: inside the 7-day revisit window on night 2
    net.set_now(T0)
    ids = site.post_ids()
    recent = [p for p in ids if site.meta(p)["published"] > T0 - timedelta(days=5)]
    old = [p for p in ids if site.meta(p)["published"] < T0 - timedelta(days=30)]
    assert len(recent) >= 2 and old
    edit_at = T0 + timedelta(hours=6)
    edits = Edits([Edit(host, recent[-1], "title", edit_at), Edit(host, recent[0], "body", edit_at),
                   Edit(host, old[0], "title", edit_at)]).attach(net)
    with ReplicaServer(net) as srv:
        run(srv, tmp_path)
        before = Counter((r["site"], r["post_id"]) for r in rows(tmp_path))
        assert set(before.values()) == {1}

        net.set_now(T1)  # the edits are visible now
        night2 = run(srv, tmp_path)  # default: incremental with a 7-day revisit window
        assert night2["sites"][0]["mode"] == "incremental" and night2["revisited"] >= 2
        after = Counter((r["site"], r["post_id"]) for r in rows(tmp_path))
        # the recent edits (title only, and body) are new versions; the old edit is not seen yet
        assert after[(host, recent[-1])] == 2 and after[(host, recent[0])] == 2
        assert after[(host, old[0])] == 1
        assert sum(after.values()) == len(ids) + 2  # no unchanged post got a new row

        refresh = run(srv, tmp_path, refresh=True)
        assert refresh["articles"]["changed"] == 1
        after = Counter((r["site"], r["post_id"]) for r in rows(tmp_path))
        assert after[(host, old[0])] == 2 and sum(after.values()) == len(ids) + 3

    current = load(tmp_path)
    for pid in (recent[-1], old[0]):
        assert current[current.post_id == pid].title.item() == site.gold(pid, at=T1)["title"]
    found = changes(tmp_path)
    by_post = {e["post_id"]: e for e in found}
    assert set(by_post) == {recent[-1], recent[0], old[0]}
    assert by_post[recent[-1]]["fields"] == ["title"] and by_post[old[0]]["fields"] == ["title"]
    assert "text" in by_post[recent[0]]["fields"]
    assert by_post[recent[0]]["changes"]["text"]["chars_added"] > 0
    assert edits and changes(tmp_path, since="2099-01-01") == []


def test_an_edit_seen_in_the_feed_is_refetched_whatever_its_age(tmp_path, no_proxy_env):
    net = Network(seed=7, sites=1, posts=30, now=T0)
    host = net.hosts[0]
    site = net.site(host)
    in_feed = site.newest(20)
    old = [p for p in in_feed if site.meta(p)["published"] < T0 - timedelta(days=30)]
    assert old
    Edits([Edit(host, old[0], "body", T0 + timedelta(hours=1))]).attach(net)
    with ReplicaServer(net) as srv:
        run(srv, tmp_path)
        net.set_now(T1)
        srv.reset_log()
        s = run(srv, tmp_path, revisit_days=0)
        assert [r["path"] for r in post_requests(srv)] == [f"/index.php/post/{old[0]}.html"]
    assert s["articles"]["changed"] == 1 and s["revisited"] == 1
    assert Counter(r["post_id"] for r in rows(tmp_path))[old[0]] == 2


def test_current_sql_and_polars_match_load_after_edits(tmp_path, no_proxy_env):
    duckdb = pytest.importorskip("duckdb")
    from crawler.api import load

    net = Network(seed=7, sites=1, posts=30, now=T0)
    host = net.hosts[0]
    pid = net.site(host).post_ids()[-1]
    Edits([Edit(host, pid, "title", T0 + timedelta(hours=1))]).attach(net)
    with ReplicaServer(net) as srv:
        run(srv, tmp_path)
        net.set_now(T1)
        run(srv, tmp_path, refresh=True)
    assert (tmp_path / "current.sql").is_file()
    con = duckdb.connect()
    con.execute((tmp_path / "current.sql").read_text(encoding="utf-8"))
    got = con.sql(f"select post_id, title from current_articles('{tmp_path}') order by post_id").fetchall()
    want = load(tmp_path, columns=["post_id", "title"]).sort_values("post_id")
    assert got == list(zip(want.post_id.tolist(), want.title.tolist()))
    assert len(rows(tmp_path)) == len(got) + 1


# -- every run is accounted for: --json on the failures cron hits ----------------------------------

def cli(*args, timeout=120):
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=os.path.dirname(os.path.dirname(__file__)))


def test_json_summary_for_a_locked_folder(make_replica, tmp_path):
    from crawler.lock import FolderLock

    srv = make_replica(sites=1, posts=5)
    cli("crawl", "jinshan", "--out", tmp_path, "--proxy", srv.proxy_url, "--json")
    with FolderLock(tmp_path, run_id="other"):
        r = cli("crawl", "jinshan", "--out", tmp_path, "--proxy", srv.proxy_url, "--json")
    s = json.loads(r.stdout)
    assert r.returncode == 1 and s["status"] == "failed" and s["exit_code"] == 1
    assert "lock" in s["error"].lower() and s["schema_version"] == 1
    assert (tmp_path / "runs" / f"{s['run_id']}.json").is_file()


def test_json_summary_for_an_unreachable_proxy(tmp_path):
    (tmp_path / "data").mkdir()
    r = cli("crawl", "jinshan", "--out", tmp_path / "data", "--proxy", "http://127.0.0.1:9", "--json")
    s = json.loads(r.stdout)
    assert r.returncode == 1 and s["status"] == "failed" and "proxy" in s["error"]


def test_json_summary_for_an_unusable_folder(make_replica, tmp_path):
    srv = make_replica(sites=1, posts=5)
    r = cli("crawl", "jinshan", "--out", tmp_path / "no" / "such", "--proxy", srv.proxy_url, "--json")
    s = json.loads(r.stdout)
    assert r.returncode == 1 and s["status"] == "failed" and "does not exist" in s["error"]
    assert not (tmp_path / "no").exists()


def test_json_summary_on_sigint(make_replica, tmp_path):
    srv = make_replica(sites=1, posts=200)
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "crawl", "jinshan", "--out", str(tmp_path),
                             "--proxy", srv.proxy_url, "--json", "-s", "DOWNLOAD_DELAY=0.2",
                             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    deadline = time.time() + 60
    while time.time() < deadline and srv.count(path_prefix="/index.php/post/") < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=90)
    s = json.loads(out)
    assert proc.returncode == 1 and s["status"] == "interrupted" and s["exit_code"] == 1
    assert (tmp_path / "runs" / f"{s['run_id']}.json").is_file()


def test_rows_from_before_record_hash_are_not_all_changed(tmp_path, no_proxy_env):
    import pyarrow.parquet as pq

    net = Network(seed=7, sites=1, posts=20, now=T0)
    with ReplicaServer(net) as srv:
        first = run(srv, tmp_path)
        # the dataset as an older parkcorpus wrote it: no record_hash column
        for f in (tmp_path / "articles").rglob("*.parquet"):
            t = pq.read_table(f)
            pq.write_table(t.drop_columns(["record_hash"]), f)
        from crawler.api import load

        assert load(tmp_path, history=True, columns=["post_id", "record_hash"]).record_hash.isna().all()
        s = run(srv, tmp_path, refresh=True)
    assert s["articles"]["unchanged"] == first["articles"]["new"] and s["articles"]["changed"] == 0
    assert len(load(tmp_path, history=True, columns=["post_id"])) == first["articles"]["new"]


def test_checkpoint_writes_failures_and_keeps_settlements_for_the_end(tmp_path):
    folder = tmp_path / "failed"
    debt = FailedPosts(folder)
    debt.add_failed("a.cn", 1, T0, run_id="r")
    debt.add_failed("a.cn", 2, T0, run_id="r")
    debt.save()
    debt = FailedPosts(folder)
    debt.recovered("a.cn", 1)          # stored this run: settled only once the run ends
    debt.add_failed("a.cn", 3, T0, run_id="r2")
    debt.recovered("a.cn", 2)          # settled, then failed again: the failure wins
    debt.add_failed("a.cn", 2, T0, run_id="r2")
    debt.checkpoint()
    on_disk = FailedPosts(folder).entries("a.cn")
    assert sorted(on_disk) == [1, 2, 3]  # a kill now keeps every post that is not surely stored
    assert on_disk[2]["runs"] == 2
    debt.save()
    final = FailedPosts(folder).entries("a.cn")
    assert sorted(final) == [2, 3] and final[2]["runs"] == 2
    assert debt.entries("a.cn") == final


def test_a_run_killed_midway_keeps_the_posts_that_failed_in_it(tmp_path):
    net = Network(seed=7, sites=1, posts=80, now=T0)
    host = net.hosts[0]
    faults = Faults.parse("down=6,slow=1:0.05")
    down = set(faults.plan(host, net.site(host).post_ids())["down"])
    settings = dict(FAST, CONCURRENT_REQUESTS=2, CONCURRENT_REQUESTS_PER_DOMAIN=2,
                    PARKCORPUS_PROGRESS_INTERVAL=0.05)
    from crawl_helpers import wait_progress
    from test_crawl_kill import wait_dead

    with ReplicaServer(net, faults=faults) as srv:
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
        cmd = [sys.executable, "-c", "from cli import main; main()", "crawl", host, "--out", str(tmp_path),
               "--proxy", srv.proxy_url, "-q"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            p = wait_progress(str(tmp_path / ".parkcorpus" / "progress-*.json"),
                              lambda p: p["outcomes"].get("failed", 0) >= 1, proc)
            os.kill(p["pid"], signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        wait_dead(p["pid"])
    assert p["posts_done"] < len(net.site(host).post_ids()), "the kill must interrupt the crawl"
    kept = set(FailedPosts(tmp_path / ".parkcorpus" / "failed").entries(host))
    assert kept and kept <= down
