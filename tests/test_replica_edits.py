"""The replica edits posts over time (crawler.replica.edits) and keeps chosen posts down for a run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import re

import pytest
import requests

from crawler.changes import text_diff
from crawler.errors import UsageError
from crawler.extract import extract_html
from crawler.items import record_hash
from crawler.replica.edits import ADDED_PARAGRAPH, KINDS, Edit, Edits, eligible
from crawler.replica.faults import Faults
from crawler.replica.model import Network
from crawler.replica.server import ReplicaServer

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)  # night 1, 02:00 China time
T1 = T0 + timedelta(days=1)
EDIT_AT = T0 + timedelta(hours=12)


def make_net():
    net = Network(seed=11, sites=2, posts=120, now=T0)
    edits = Edits.pick(net, KINDS, at=EDIT_AT).attach(net)
    return net, edits


def get(srv, url, **kw):
    kw.setdefault("allow_redirects", False)
    return requests.get(url, proxies={"http": srv.proxy_url}, timeout=10, **kw)


def extracted(srv, net, host, pid) -> dict:
    r = get(srv, net.site(host).post_url(pid))
    assert r.status_code == 200
    return extract_html(r.content, r.url if r.url.startswith("http://" + host) else net.site(host).post_url(pid),
                        fetched_at=net.now())


def test_pick_chooses_one_fitting_post_per_kind_deterministically():
    net, edits = make_net()
    assert len(edits) == len(KINDS)
    assert sorted(e.kind for e in edits) == sorted(KINDS)
    assert len({(e.host, e.post_id) for e in edits}) == len(KINDS)  # distinct posts
    for e in edits:
        assert eligible(net.site(e.host).post(e.post_id, edited=False), e.kind)
    again = Edits.pick(Network(seed=11, sites=2, posts=120, now=T0), KINDS, at=EDIT_AT)
    assert [(e.host, e.post_id, e.kind) for e in again] == [(e.host, e.post_id, e.kind) for e in edits]
    relative = Edits.pick(Network(seed=11, sites=2, posts=120, now=T0), ["title", "price"],
                          at=[timedelta(hours=12), timedelta(days=3)])
    assert sorted(e.at for e in relative) == [EDIT_AT, T0 + timedelta(days=3)]
    with pytest.raises(ValueError):
        Edit("h", 1, "bogus", T0)


def test_gold_versions_follow_the_clock():
    net, edits = make_net()
    by_kind = {e.kind: e for e in edits}
    for kind, e in by_kind.items():
        site = net.site(e.host)
        before, after = site.gold(e.post_id, at=EDIT_AT - timedelta(seconds=1)), site.gold(e.post_id, at=EDIT_AT)
        assert site.gold(e.post_id) == before  # the clock (T0) is before the edit
        changed = {k for k in before if before[k] != after[k]}
        expected = {"title": {"title"}, "body": {"text", "paragraphs"}, "tags": {"tags", "tag_ids"},
                    "date": {"text", "paragraphs"}, "price": {"text", "paragraphs"},
                    "published": {"published"}}[kind]
        assert changed == expected, kind
        versions = edits.versions(net, e.host, e.post_id)
        assert [v[0] for v in versions] == [None, EDIT_AT] and versions[1][1] == after
    body = by_kind["body"]
    assert ADDED_PARAGRAPH in net.site(body.host).gold(body.post_id, at=T1)["paragraphs"]
    pub = by_kind["published"]
    assert (net.site(pub.host).gold(pub.post_id, at=T1)["published"]
            == net.site(pub.host).gold(pub.post_id, at=T0)["published"] - timedelta(days=1))
    # price and date edits change digits inside one line and nothing around them
    for kind in ("price", "date"):
        e = by_kind[kind]
        old, new = (net.site(e.host).gold(e.post_id, at=t)["text"] for t in (T0, T1))
        t = text_diff(old, new)
        assert t["lines_removed"] == t["lines_added"] == 1, kind
        assert t["fragments"] and all(re.fullmatch(r"[\d.]*", f["old"] + f["new"]) for f in t["fragments"]), t


def test_the_server_serves_the_edited_posts_and_extraction_sees_each_edit():
    net, edits = make_net()
    by_kind = {e.kind: e for e in edits}
    site0 = net.site(net.hosts[0])
    untouched = [p for p in site0.post_ids() if (site0.host, p) not in edits.edited()][:5]
    with ReplicaServer(net) as srv:
        night1 = {(e.host, e.post_id): extracted(srv, net, e.host, e.post_id) for e in edits}
        plain1 = {p: extracted(srv, net, site0.host, p) for p in untouched}
        net.set_now(T1)
        night2 = {(e.host, e.post_id): extracted(srv, net, e.host, e.post_id) for e in edits}
        plain2 = {p: extracted(srv, net, site0.host, p) for p in untouched}
        feed = get(srv, f"http://{site0.host}/feed.php").text
    for kind, e in by_kind.items():
        key = (e.host, e.post_id)
        gold = net.site(e.host).gold(e.post_id, at=T1)
        if kind == "published":
            assert record_hash(night1[key]) == record_hash(night2[key])
            assert night2[key]["published"] != night1[key]["published"]
            continue
        assert record_hash(night1[key]) != record_hash(night2[key]), kind
        if kind == "title":
            assert night2[key]["title"] == gold["title"] and night2[key]["text"] == night1[key]["text"]
        elif kind == "tags":
            assert night2[key]["tags"] == gold["tags"] and night2[key]["title"] == night1[key]["title"]
        else:
            new_lines = set(gold["text"].split("\n")) - set(net.site(e.host).gold(e.post_id, at=T0)["text"].split("\n"))
            assert new_lines and all(line in night2[key]["text"] for line in new_lines), kind
    # posts nobody edited extract the same on both nights
    for p in untouched:
        assert record_hash(plain1[p]) == record_hash(plain2[p])
    # the feed shows edited titles too (when an edited post is among the newest)
    for e in edits:
        if e.host == site0.host and e.post_id in site0.newest(20) and e.kind == "title":
            assert net.site(e.host).gold(e.post_id)["title"] in feed


# -- a post down for the whole run ---------------------------------------------------------------

def test_down_posts_answer_503_to_every_request_until_a_new_server():
    net = Network(seed=11, sites=2, posts=120, now=T0)
    faults = Faults.parse("down=6,5xx=7")
    assert faults.down == 6 and Faults.parse(faults.spec()) == faults
    host = net.hosts[1]
    ids = net.site(host).post_ids()
    down = faults.plan(host, ids)["down"]
    assert down and 120 / 6 * 0.5 < len(down) < 120 / 6 * 1.5
    up = [p for p in ids if not faults.kinds(host, p)][:3]
    with ReplicaServer(net, faults=faults) as srv:
        for pid in down[:3]:
            statuses = [get(srv, net.site(host).post_url(pid)).status_code for _ in range(4)]
            assert statuses == [503] * 4
        assert all(get(srv, net.site(host).post_url(p)).status_code == 200 for p in up)
        assert srv.faulted("down") == {net.site(host).post_url(p) for p in down[:3]}
        # list pages and the feed still list the down posts
        assert get(srv, f"http://{host}/feed.php").status_code == 200
    healthy = faults.without("down")
    assert healthy.down == 0 and healthy.err5xx == 7
    with ReplicaServer(net, faults=healthy) as srv:
        assert all(get(srv, net.site(host).post_url(p)).status_code in (200, 503) for p in down[:3])
        assert all(get(srv, net.site(host).post_url(p)).status_code == 200 for p in down[:3])
    with pytest.raises(UsageError):
        faults.without("bogus")
