"""Each fault mode of the replica does what it says, for exactly the posts it selects."""

from __future__ import annotations

import random
import socket
import time
from datetime import datetime, timezone

import lxml.html
import pytest
import requests

from crawler.errors import UsageError
from crawler.replica import render
from replica_helpers import page_title, shown_title
from crawler.replica.faults import OFFSITE_HOSTS, SPEC_KEYS, Faults
from crawler.replica.model import Network
from crawler.replica.server import ReplicaServer

NOW = datetime(2026, 11, 26, 17, 24, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def net():
    return Network(seed=5, sites=2, posts=80, now=NOW)


def serve(net, spec: str) -> ReplicaServer:
    return ReplicaServer(net, faults=Faults.parse(spec))


def get(srv, url, **kw):
    kw.setdefault("allow_redirects", False)
    return requests.get(url, proxies={"http": srv.proxy_url}, timeout=10, **kw)


def affected(net, faults: Faults, kind: str, host=None) -> tuple[str, list[int], list[int]]:
    """(host, ids selected for kind, ids not selected for any fault) on one site."""
    host = host or net.hosts[0]
    ids = net.site(host).post_ids()
    hit = faults.plan(host, ids)[kind]
    clean = [i for i in ids if not faults.kinds(host, i)]
    assert hit and clean, "the network is too small for this fault rate"
    return host, hit, clean


def raw_get(srv, host, path) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(f"GET http://{host}{path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


# -- the spec and the selection ------------------------------------------------------------

def test_spec_round_trip_and_defaults():
    spec = "5xx=7,429=10,slow=20:2.5,truncate=15,reset=30,gaps,redirect=10,loop=50,robots,offsite," \
           "malformed=25,gbk-utf8=40,utf8-gbk=45"
    f = Faults.parse(spec)
    assert (f.err5xx, f.err429, f.slow, f.slow_delay, f.truncate, f.reset) == (7, 10, 20, 2.5, 15, 30)
    assert f.gaps == SPEC_KEYS["gaps"][1] and f.robots == SPEC_KEYS["robots"][1] and f.offsite == 1
    assert (f.malformed, f.gbk_utf8, f.utf8_gbk, f.redirect, f.loop) == (25, 40, 45, 10, 50)
    assert Faults.parse(f.spec()) == f
    assert Faults.parse("5xx=7:3").err5xx_times == 3
    assert not Faults.parse("") and not Faults() and Faults.parse("none") == Faults()
    assert bool(f)


@pytest.mark.parametrize("spec", ["bogus=3", "5xx=x", "5xx=-1", "gaps=3:2", "slow=2:-1"])
def test_bad_specs_are_usage_errors(spec):
    with pytest.raises(UsageError):
        Faults.parse(spec)


def test_selection_is_deterministic_and_about_one_in_n():
    f = Faults.parse("5xx=7,gaps=10")
    ids = range(1000, 4000)
    plan = f.plan("jinshan.021cf.cn", ids)
    assert plan == Faults.parse("5xx=7,gaps=10").plan("jinshan.021cf.cn", ids)
    assert 3000 / 7 * 0.7 < len(plan["5xx"]) < 3000 / 7 * 1.3
    assert 3000 / 10 * 0.7 < len(plan["gaps"]) < 3000 / 10 * 1.3
    # kinds are chosen independently, and per host
    assert plan["5xx"] != plan["gaps"]
    assert plan["5xx"] != f.plan("laian.021cf.cn", ids)["5xx"]
    assert Faults.parse("offsite").plan("x", ids)["offsite"] == list(ids)


# -- transient faults ------------------------------------------------------------------------

def test_5xx_on_first_request_only(net):
    f = Faults.parse("5xx=4")
    host, hit, clean = affected(net, f, "5xx")
    with ReplicaServer(net, faults=f) as s:
        for pid in hit[:3]:
            url = f"http://{host}/index.php/post/{pid}.html"
            assert get(s, url).status_code == 503
            assert get(s, url).status_code == 200
            assert get(s, url).status_code == 200
        assert get(s, f"http://{host}/index.php/post/{clean[0]}.html").status_code == 200
        assert s.faulted("5xx") == {f"http://{host}/index.php/post/{p}.html" for p in hit[:3]}


def test_5xx_times_parameter(net):
    f = Faults.parse("5xx=4:2")
    host, hit, _ = affected(net, f, "5xx")
    with ReplicaServer(net, faults=f) as s:
        url = f"http://{host}/index.php/post/{hit[0]}.html"
        assert [get(s, url).status_code for _ in range(3)] == [503, 503, 200]


def test_429_with_retry_after(net):
    f = Faults.parse("429=4")
    host, hit, _ = affected(net, f, "429")
    with ReplicaServer(net, faults=f) as s:
        url = f"http://{host}/index.php/post/{hit[0]}.html"
        r = get(s, url)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        assert get(s, url).status_code == 200


def test_slow_response_waits_at_least_the_delay(net):
    f = Faults.parse("slow=1:0.3")
    host = net.hosts[0]
    pid = net.site(host).post_ids()[0]
    with ReplicaServer(net, faults=f) as s:
        t0 = time.monotonic()
        r = get(s, f"http://{host}/index.php/post/{pid}.html")
        assert r.status_code == 200
        assert time.monotonic() - t0 >= 0.25  # a lower bound only: a sleep never ends early
        assert s.faulted("slow") == {f"http://{host}/index.php/post/{pid}.html"}


def test_truncate_sends_less_than_content_length_then_closes(net):
    f = Faults.parse("truncate=4")
    host, hit, _ = affected(net, f, "truncate")
    with ReplicaServer(net, faults=f) as s:
        path = f"/index.php/post/{hit[0]}.html"
        data = raw_get(s, host, path)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        assert 0 < len(body) < length
        # the fault is transient: the next request of the URL gets a whole page (related links vary)
        r = get(s, f"http://{host}{path}")
        assert r.status_code == 200 and len(r.content) == int(r.headers["Content-Length"])
        assert s.faulted("truncate") == {f"http://{host}{path}"}


def test_reset_aborts_the_connection_then_recovers(net):
    f = Faults.parse("reset=4")
    host, hit, _ = affected(net, f, "reset")
    with ReplicaServer(net, faults=f) as s:
        url = f"http://{host}/index.php/post/{hit[0]}.html"
        with pytest.raises(requests.exceptions.ConnectionError):
            get(s, url)
        assert get(s, url).status_code == 200
        assert [e["status"] for e in s.requests] == [0, 200]


def test_truncate_times_zero_means_every_request():
    f = Faults.parse("truncate=1:0")
    assert all(f.transient("h", 1, attempt) == "truncate" for attempt in range(5))


# -- permanent faults ------------------------------------------------------------------------

def test_gaps_are_listed_but_answer_404(net):
    f = Faults.parse("gaps=3")
    host = net.hosts[0]
    site = net.site(host)
    newest = site.newest(20)
    gaps = [p for p in newest if f.selected("gaps", host, p)]
    assert gaps
    with ReplicaServer(net, faults=f) as s:
        feed = get(s, f"http://{host}/feed.php").text
        for pid in gaps:
            assert site.post_url(pid) in feed
            r = get(s, site.post_url(pid))
            assert r.status_code == 404 and r.content == render.render_404(site, NOW)
        ok = [p for p in newest if p not in gaps]
        assert all(get(s, site.post_url(p)).status_code == 200 for p in ok)
        assert s.faulted("gaps") == {site.post_url(p) for p in gaps}


def test_redirect_chain_301_302_then_page(net):
    f = Faults.parse("redirect=4")
    host, hit, _ = affected(net, f, "redirect")
    site = net.site(host)
    with ReplicaServer(net, faults=f) as s:
        url = site.post_url(hit[0])
        r1 = get(s, url)
        assert r1.status_code == 301
        r2 = get(s, r1.headers["Location"])
        assert r2.status_code == 302
        r3 = get(s, r2.headers["Location"])
        assert r3.status_code == 200 and shown_title(site, hit[0]) in page_title(r3.content)
        assert len({url, r1.headers["Location"], r2.headers["Location"]}) == 3
        followed = get(s, url, allow_redirects=True)
        assert followed.status_code == 200 and [h.status_code for h in followed.history] == [301, 302]


def test_redirect_loop(net):
    f = Faults.parse("loop=4")
    host, hit, _ = affected(net, f, "loop")
    url = net.site(host).post_url(hit[0])
    with ReplicaServer(net, faults=f) as s:
        b = get(s, url)
        assert b.status_code == 302 and b.headers["Location"] != url
        back = get(s, b.headers["Location"])
        assert back.status_code == 302 and back.headers["Location"] == url
        with pytest.raises(requests.exceptions.TooManyRedirects):
            get(s, url, allow_redirects=True)


def test_offsite_redirect_leads_to_a_host_the_proxy_refuses(net):
    f = Faults.parse("offredirect=4")
    host, hit, _ = affected(net, f, "offredirect")
    with ReplicaServer(net, faults=f) as s:
        r = get(s, net.site(host).post_url(hit[0]))
        assert r.status_code == 301
        assert r.headers["Location"].startswith(f"http://{OFFSITE_HOSTS[0]}/")
        assert get(s, r.headers["Location"]).status_code == 502


def test_robots_rules(net):
    f = Faults.parse("robots=5")
    host = net.hosts[1]
    site = net.site(host)
    with ReplicaServer(net, faults=f) as s:
        lines = get(s, f"http://{host}/robots.txt").text.splitlines()
    assert "Disallow: /index.php/tags-" in lines
    assert "Crawl-delay: 1" in lines
    posts = sorted(int(line.split("/post/")[1].split(".")[0]) for line in lines if "/post/" in line)
    assert posts and posts == f.plan(host, site.post_ids())["robots"]
    assert "Crawl-delay: 3" in _robots_lines(net, "robots=5:3")


def _robots_lines(net, spec):
    with serve(net, spec) as s:
        return get(s, f"http://{net.hosts[0]}/robots.txt").text.splitlines()


def test_offsite_and_trap_links_injected_in_posts_and_lists(net):
    f = Faults.parse("offsite")
    host = net.hosts[0]
    site = net.site(host)
    pid = site.post_ids()[0]
    with ReplicaServer(net, faults=f) as s:
        for url in (site.post_url(pid), f"http://{host}/", f"http://{host}/index.php/page_2.html"):
            doc = lxml.html.fromstring(get(s, url).content)
            hrefs = doc.xpath("//a/@href")
            assert any(h.startswith(f"http://{OFFSITE_HOSTS[0]}/index.php/post/") for h in hrefs), url
            assert any("cmd.php?act=search" in h for h in hrefs), url
    # the article body is untouched: the links sit outside .single
    with ReplicaServer(net) as clean:
        plain = lxml.html.fromstring(get(clean, site.post_url(pid)).content)
    injected = lxml.html.fromstring(_fetch(net, f, site.post_url(pid)))
    assert _single_text(injected) == _single_text(plain)


def _fetch(net, faults, url) -> bytes:
    with ReplicaServer(net, faults=faults) as s:
        return get(s, url).content


def _single_text(doc) -> str:
    return "".join(doc.xpath('//div[contains(@class, "single")]')[0].itertext())


def test_malformed_markup_keeps_the_text(net):
    f = Faults.parse("malformed=3")
    host, hit, _ = affected(net, f, "malformed")
    site = net.site(host)
    pid = hit[0]
    bad = _fetch(net, f, site.post_url(pid))
    good = render.render_post(site, pid, NOW, random.Random(0))[0]
    if good.count(b"</p>") > 1:
        assert bad.count(b"</p>") < good.count(b"</p>")
    assert b"</div></span>" in bad.split(b"<body", 1)[1][:200]
    assert bad.count(b"</font><b>") == 1 and good.count(b"</font><b>") == 0
    assert bad != good
    assert _single_text(lxml.html.fromstring(bad)).split() == _single_text(lxml.html.fromstring(good)).split()


def test_cut_page_ends_inside_the_body(net):
    f = Faults.parse("cut=3")
    host, hit, _ = affected(net, f, "cut")
    site = net.site(host)
    with ReplicaServer(net, faults=f) as s:
        r = get(s, site.post_url(hit[0]))
    assert r.status_code == 200 and len(r.content) == int(r.headers["Content-Length"])
    assert b"</html>" not in r.content and b'class="single' in r.content
    full = render.render_post(site, hit[0], NOW, random.Random(0))[0]
    assert full.startswith(r.content.split(b'class="single', 1)[0])


def test_gbk_label_on_utf8_bytes(net):
    f = Faults.parse("gbk-utf8=3")
    host, hit, _ = affected(net, f, "gbk-utf8")
    site = net.site(host)
    with ReplicaServer(net, faults=f) as s:
        r = get(s, site.post_url(hit[0]))
    assert r.headers["Content-Type"].lower() == "text/html; charset=gbk"
    assert b'<meta charset="gbk">' in r.content
    title = shown_title(site, hit[0])
    assert title in page_title(r.content.decode("utf-8"))
    assert title not in r.content.decode("gbk", errors="replace")


def test_gbk_bytes_labelled_utf8(net):
    f = Faults.parse("utf8-gbk=3")
    host, hit, _ = affected(net, f, "utf8-gbk")
    site = net.site(host)
    with ReplicaServer(net, faults=f) as s:
        r = get(s, site.post_url(hit[0]))
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert b'<meta charset="utf-8">' in r.content.lower()
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")
    assert shown_title(site, hit[0]) in page_title(r.content.decode("gbk"))


def test_fault_log_is_the_same_for_the_same_requests(net):
    f = Faults.parse("5xx=5,gaps=6,redirect=7,malformed=4")
    host = net.hosts[0]
    urls = [net.site(host).post_url(p) for p in net.site(host).post_ids()[:40]]
    logs = []
    for _ in range(2):
        with ReplicaServer(net, faults=f) as s:
            for url in urls:
                get(s, url)
            logs.append([(e["kind"], e["url"], e["status"]) for e in s.fault_log])
    assert logs[0] == logs[1] and logs[0]
    kinds = {k for k, _, _ in logs[0]}
    assert kinds <= {"5xx", "gaps", "redirect", "malformed"} and len(kinds) >= 3
