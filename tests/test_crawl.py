"""End-to-end crawls of the replica through its proxy (each crawl runs in a subprocess)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pyarrow.dataset as ds

from crawler.crawl import crawl


def rows(out, columns=None):
    """Every stored article row as dicts (hive partitions included)."""
    path = out / "articles"
    if not path.is_dir():
        return []
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table(columns=columns).to_pylist()


#: politeness off for the loopback replica (same values as conftest.FAST)
FAST = {
    "DOWNLOAD_DELAY": 0, "DOWNLOAD_DELAY_JITTER": 0, "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "PARKCORPUS_RETRY_BACKOFF": 0,
}


def run(srv, out, *sites, **kw):
    """crawl() through the replica with politeness off."""
    settings = dict(FAST, **kw.pop("settings", {}))
    return crawl(list(sites) or list(srv.network.hosts), out=str(out), proxy=srv.proxy_url,
                 settings=settings, env={}, progress=False, **kw)


def post_requests(srv, host=None):
    """(host, post_id) of every post request the replica saw."""
    out = []
    for r in srv.requests:
        if r["path"].startswith("/index.php/post/") and (host is None or r["host"] == host):
            out.append((r["host"], int(r["path"].split("/")[-1].split(".")[0])))
    return out


def test_full_crawl_every_post_once_with_exact_metadata(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=2, posts=30)
    net = srv.network
    summary = run(srv, tmp_path)
    assert summary["status"] == "ok", summary["error"]
    got = rows(tmp_path)
    keys = Counter((r["site"], r["post_id"]) for r in got)
    expected = {(h, pid) for h in net.hosts for pid in net.site(h).post_ids()}
    assert set(keys) == expected
    assert max(keys.values()) == 1
    assert summary["outcomes"]["written"] == len(expected)
    assert summary["articles"]["new"] == len(expected)
    assert sum(summary["outcomes"].values()) == summary["posts_requested"] == len(expected)
    for r in got:
        gold = net.site(r["site"]).gold(r["post_id"])
        for col in ("url", "title", "category", "category_url", "tags", "prev_url", "next_url"):
            assert r[col] == gold[col], (r["url"], col)
        # relative dates give the day; feed pubDates (newest 20) give the second
        tolerance = timedelta(seconds=60) if r["published_precision"] in ("second", "minute") else timedelta(days=1)
        assert abs(r["published"] - gold["published"]) <= tolerance, r["url"]
        assert r["run_id"] == summary["run_id"]
    assert summary["output_files"] and all(f.endswith((".parquet", ".warc.gz")) for f in summary["output_files"])


def test_incremental_fetches_feed_and_first_page_then_only_new_posts(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=2, posts=25)
    net = srv.network
    assert run(srv, tmp_path)["status"] == "ok"

    srv.reset_log()
    second = run(srv, tmp_path, revisit_days=0)  # no re-check of recent posts (tests/test_trust.py)
    assert second["status"] == "ok"
    assert second["outcomes"]["written"] == 0 and second["articles"]["new"] == 0
    for host in net.hosts:
        paths = {r["path"] for r in srv.requests if r["host"] == host} - {"/robots.txt"}
        assert paths == {"/feed.php", "/"}, (host, paths)
    assert {s["mode"] for s in second["sites"]} == {"incremental"}

    host = net.hosts[0]
    new_ids = net.site(host).publish(3)
    srv.reset_log()
    third = run(srv, tmp_path, revisit_days=0)
    assert third["status"] == "ok"
    assert sorted(post_requests(srv)) == sorted((host, pid) for pid in new_ids)
    assert third["outcomes"]["written"] == 3 and third["articles"]["new"] == 3
    stored = Counter((r["site"], r["post_id"]) for r in rows(tmp_path, ["site", "post_id"]))
    assert all(stored[(host, pid)] == 1 for pid in new_ids) and max(stored.values()) == 1


def test_transient_5xx_still_full_coverage(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=1, posts=40, faults="5xx=7")
    host = srv.network.hosts[0]
    ids = srv.network.site(host).post_ids()
    planned = srv.faults.plan(host, ids)["5xx"]
    assert planned, "the fault plan must hit some posts for this test to mean anything"
    summary = run(srv, tmp_path)
    assert summary["status"] == "ok"
    assert {r["post_id"] for r in rows(tmp_path, ["post_id"])} == set(ids)
    assert summary["retries"] >= len(planned)
    assert summary["outcomes"]["failed"] == 0


def test_robots_disallow_is_obeyed(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=1, posts=40, faults="robots=5:0,offsite")
    host = srv.network.hosts[0]
    ids = srv.network.site(host).post_ids()
    banned = set(srv.faults.plan(host, ids)["robots"])
    assert banned
    summary = run(srv, tmp_path)
    requested = {r["path"] for r in srv.requests}
    assert not any(f"/index.php/post/{pid}.html" == p for pid in banned for p in requested)
    assert not any(p.startswith(("/index.php/tags-", "/zb_system/")) for p in requested)
    assert summary["outcomes"]["robots"] == len(banned)
    assert {r["post_id"] for r in rows(tmp_path, ["post_id"])} == set(ids) - banned


def test_no_offsite_request_even_through_redirects(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=1, posts=40, faults="offsite,offredirect=5,redirect=6")
    host = srv.network.hosts[0]
    ids = srv.network.site(host).post_ids()
    off = set(srv.faults.plan(host, ids)["offredirect"])
    assert off
    summary = run(srv, tmp_path)
    hosts = {r["host"] for r in srv.requests}
    assert hosts == {host}
    assert summary["offsite_blocked"] >= len(off)
    # each off-site redirect ends as a failed post; everything else is written
    assert summary["outcomes"]["failed"] == len(off)
    assert {r["post_id"] for r in rows(tmp_path, ["post_id"])} == set(ids) - off
    assert not any(p.startswith(("/index.php/tags-", "/zb_system/")) for p in {r["path"] for r in srv.requests})


def test_outcomes_cover_every_requested_post(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=1, posts=40, faults="gaps=6,cut=7")
    host = srv.network.hosts[0]
    ids = srv.network.site(host).post_ids()
    plan = srv.faults.plan(host, ids)
    gaps, cut = set(plan["gaps"]), set(plan["cut"]) - set(plan["gaps"])
    summary = run(srv, tmp_path)
    o = summary["outcomes"]
    assert o["gone_404"] == len(gaps)
    assert o["not_article"] == len(cut)
    assert sorted(summary["malformed_urls"]) == sorted(f"http://{host}/index.php/post/{p}.html" for p in cut)
    assert o["written"] == len(ids) - len(gaps) - len(cut)
    assert sum(o.values()) == summary["posts_requested"]
    assert summary["errors"] == 0  # a 404 gap is an outcome, not an error


def test_ids_mode_and_since(make_replica, tmp_path, no_proxy_env):
    srv = make_replica(sites=1, posts=30)
    host = srv.network.hosts[0]
    site = srv.network.site(host)
    ids = site.post_ids()
    lo, hi = ids[5], ids[5] + 20
    summary = run(srv, tmp_path, ids=f"{lo}-{hi}")
    assert summary["mode"] == "ids"
    wanted = {p for p in ids if lo <= p <= hi}
    assert {r["post_id"] for r in rows(tmp_path, ["post_id"])} == wanted
    assert summary["outcomes"]["gone_404"] == (hi - lo + 1) - len(wanted)  # sparse ids: gaps are 404s

    out2 = tmp_path / "since"
    out2.mkdir()
    cut = site.gold(ids[len(ids) // 2])["published"] + timedelta(days=3)
    since = (cut + timedelta(hours=8)).strftime("%Y-%m-%d")
    summary = run(srv, out2, since=since)
    got = {r["post_id"] for r in rows(out2, ["post_id"])}
    from crawler.clock import parse_day

    start = parse_day(since, "--since")
    assert got == {p for p in ids if site.gold(p)["published"] >= start}
