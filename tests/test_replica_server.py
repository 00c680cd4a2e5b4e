"""The replica server: proxy routing, loopback only, Z-BlogPHP routes, headers, concurrency."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

import pytest
import requests

from crawler.errors import UsageError
from crawler.replica import render, server as server_mod
from replica_helpers import page_title, shown_title
from crawler.replica.model import Network
from crawler.replica.server import ReplicaServer

NOW = datetime(2026, 11, 26, 17, 24, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def net():
    return Network(seed=11, sites=2, posts=60, now=NOW)


@pytest.fixture(scope="module")
def srv(net):
    with ReplicaServer(net) as s:
        yield s


def raw(srv, request: bytes) -> tuple[int, dict, bytes]:
    """Send raw request bytes on a fresh connection; (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def proxied(srv, url: str, **kw) -> requests.Response:
    kw.setdefault("allow_redirects", False)
    return requests.get(url, proxies={"http": srv.proxy_url, "https": srv.proxy_url}, timeout=10, **kw)


def test_absolute_uri_request_is_served_as_the_real_host(srv, net):
    host = net.hosts[0]
    pid = net.site(host).post_ids()[5]
    status, headers, body = raw(srv, f"GET http://{host}/index.php/post/{pid}.html HTTP/1.1\r\n"
                                     f"Host: {host}\r\nConnection: close\r\n\r\n".encode())
    assert status == 200
    assert shown_title(net.site(host), pid) in page_title(body)
    assert f"http://{host}/index.php/post/{pid}.html" in body.decode("utf-8")
    assert headers["content-type"] == "text/html; charset=UTF-8"
    assert int(headers["content-length"]) == len(body)
    assert headers["x-powered-by"].startswith("PHP")
    assert "server" in headers


def test_host_header_routes_direct_requests(srv, net):
    a, b = net.hosts
    pid_b = net.site(b).post_ids()[0]
    status, _, body = raw(srv, f"GET /index.php/post/{pid_b}.html HTTP/1.1\r\nHost: {b}\r\n"
                               f"Connection: close\r\n\r\n".encode())
    assert status == 200 and shown_title(net.site(b), pid_b) in page_title(body)
    # the same path on the other host is that host's post or its 404, never b's page
    status, _, body = raw(srv, f"GET /index.php/post/{pid_b}.html HTTP/1.1\r\nHost: {a}:80\r\n"
                               f"Connection: close\r\n\r\n".encode())
    assert f"http://{b}/" not in body.decode()


def test_requests_through_proxy_see_real_urls(srv, net):
    host = net.hosts[1]
    pid = net.site(host).post_ids()[-1]
    r = proxied(srv, f"http://{host}/index.php/post/{pid}.html")
    assert r.status_code == 200
    assert r.url == f"http://{host}/index.php/post/{pid}.html"
    assert srv.count(host=host, path_prefix=f"/index.php/post/{pid}.html") >= 1


def test_other_hosts_get_502_and_no_outbound_connection(net, monkeypatch):
    connects, lookups = [], []
    real_connect, real_gai = socket.socket.connect, socket.getaddrinfo

    def spy_connect(self, address):
        connects.append(address)
        return real_connect(self, address)

    def spy_gai(host, *a, **kw):
        lookups.append(host)
        return real_gai(host, *a, **kw)

    monkeypatch.setattr(socket.socket, "connect", spy_connect)
    monkeypatch.setattr(socket, "getaddrinfo", spy_gai)
    with ReplicaServer(net) as s:
        for target, host in [("http://www.jsjinshan.com/index.php/post/1.html", "www.jsjinshan.com"),
                             ("http://example.com/", "example.com"),
                             (f"http://{net.hosts[0]}:8080/", net.hosts[0]),
                             (f"https://{net.hosts[0]}/", net.hosts[0])]:
            status, _, body = raw(s, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            assert status == 502, target
            assert b"502" in body
        status, _, _ = raw(s, b"GET / HTTP/1.1\r\nHost: www.baidu.com\r\nConnection: close\r\n\r\n")
        assert status == 502
        status, _, _ = raw(s, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\nConnection: close\r\n\r\n".encode())
        assert status == 502
        status, _, _ = raw(s, b"CONNECT www.jsjinshan.com:443 HTTP/1.1\r\nHost: www.jsjinshan.com:443\r\n\r\n")
        assert status in (405, 502)
        logged = {(e["host"], e["status"]) for e in s.requests}
        assert ("www.jsjinshan.com", 502) in logged
    assert connects and all(addr[0] == "127.0.0.1" for addr in connects)
    assert all(h in ("127.0.0.1", "localhost") for h in lookups)


def test_binds_loopback_only(srv, net):
    assert srv._server.sockets[0].getsockname()[0] == "127.0.0.1"
    assert srv.proxy_url == f"http://127.0.0.1:{srv.port}"
    for host in ("0.0.0.0", "", "192.168.1.10"):
        with pytest.raises(UsageError):
            ReplicaServer(net, host=host)


def test_index_php_id_redirects_to_pseudo_static(srv, net):
    host = net.hosts[0]
    pid = net.site(host).post_ids()[3]
    r = proxied(srv, f"http://{host}/index.php?id={pid}")
    assert r.status_code == 302
    assert r.headers["Location"] == f"http://{host}/index.php/post/{pid}.html"
    missing = max(net.site(host).post_ids()) + 1000
    assert proxied(srv, f"http://{host}/index.php?id={missing}").status_code == 404


def test_404_page_and_status(srv, net):
    host = net.hosts[0]
    site = net.site(host)
    expected = render.render_404(site, NOW)
    ids = site.post_ids()
    hidden = next(i for i in range(ids[0], ids[-1]) if not site.has_post(i))
    for path in (f"/index.php/post/{hidden}.html", f"/index.php/post/{ids[-1] + 5}.html",
                 "/no/such/page", "/index.php/category-999.html", "/index.php/page_999.html"):
        r = proxied(srv, f"http://{host}{path}")
        assert r.status_code == 404, path
        assert r.content == expected, path


def test_feed_is_rss_of_the_newest_posts(srv, net):
    host = net.hosts[0]
    site = net.site(host)
    r = proxied(srv, f"http://{host}/feed.php")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(r.content)
    links = [item.findtext("link") for item in root.iter("item")]
    assert links == [site.post_url(pid) for pid in site.newest(len(links))]
    assert len(links) == min(20, site.count())


def test_list_pages_are_served(srv, net):
    host = net.hosts[0]
    site = net.site(host)
    newest = site.newest(10)
    home = proxied(srv, f"http://{host}/").text
    assert all(site.post_url(pid) in home for pid in newest)
    assert proxied(srv, f"http://{host}/index.php").text == home
    page2_ids, total = site.list_page("home", None, 2)
    page2 = proxied(srv, f"http://{host}/index.php/page_2.html")
    assert page2.status_code == 200 and all(site.post_url(p) in page2.text for p in page2_ids)
    cat_id = site.categories[0][0]
    for path, (kind, key) in {f"/index.php/category-{cat_id}.html": ("category", cat_id),
                              f"/index.php/category-{cat_id}_1.html": ("category", cat_id),
                              f"/index.php/tags-{site.tags[0][0]}.html": ("tag", site.tags[0][0]),
                              f"/index.php/author-{site.authors[0][0]}.html": ("author", site.authors[0][0]),
                              "/index.php/date-{}-{}.html".format(*site.months()[0]): ("date", site.months()[0]),
                              }.items():
        ids, _ = site.list_page(kind, key, 1)
        r = proxied(srv, f"http://{host}{path}")
        if not ids:
            continue
        assert r.status_code == 200, path
        assert all(site.post_url(p) in r.text for p in ids), path


def test_menu_pages_are_served_and_unknown_ones_are_404(srv, net):
    host = net.hosts[0]
    site = net.site(host)
    page_id, name = site.spec["nav_pages"][0]
    r = proxied(srv, f"http://{host}/index.php/{page_id}.html")
    assert r.status_code == 200 and name in page_title(r.content)
    unknown = max(pid for pid, _ in site.spec["nav_pages"]) + 1
    assert proxied(srv, f"http://{host}/index.php/{unknown}.html").status_code == 404


def test_date_header_is_the_clock_of_the_page(srv, net):
    host = net.hosts[0]
    site = net.site(host)
    pid = site.post_ids()[10]
    r = proxied(srv, f"http://{host}/index.php/post/{pid}.html")
    assert r.headers["Date"] == format_datetime(NOW, usegmt=True)
    assert parsedate_to_datetime(r.headers["Date"]) == NOW
    # the page's date is computed from that same clock
    from crawler.replica.model import format_date

    shown = format_date(site.gold(pid)["published"], NOW, site.date_style)
    assert shown.split("<")[0] in r.text


def test_keep_alive_serves_several_requests_on_one_connection(srv, net):
    host = net.hosts[0]
    ids = net.site(host).post_ids()[:3]
    req = b"".join(f"GET http://{host}/index.php/post/{p}.html HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
                   for p in ids)
    req += f"GET http://{host}/robots.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(req)
        f = sock.makefile("rb")
        statuses = []
        for _ in range(4):
            status = int(f.readline().split()[1])
            length = None
            while (line := f.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
            statuses.append(status)
    assert statuses == [200, 200, 200, 200]


def test_garbage_request_line_gets_400(srv):
    status, _, _ = raw(srv, b"HELLO\r\n\r\n")
    assert status == 400


def test_head_sends_length_without_body(srv, net):
    host = net.hosts[0]
    status, headers, body = raw(srv, f"HEAD http://{host}/feed.php HTTP/1.1\r\nHost: {host}\r\n"
                                     f"Connection: close\r\n\r\n".encode())
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_robots_default_allows_all_and_points_to_sitemap(srv, net):
    host = net.hosts[0]
    r = proxied(srv, f"http://{host}/robots.txt")
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert "User-agent: *" in lines and "Disallow:" in lines
    assert not any(line.startswith("Disallow: /") or line.startswith("Crawl-delay") for line in lines)
    assert f"Sitemap: http://{host}/sitemap.xml" in lines


def _locs(content: bytes) -> list[str]:
    return [e.text for e in ET.fromstring(content).iter() if e.tag.endswith("loc")]


def test_sitemap_lists_every_visible_post(srv, net):
    host = net.hosts[1]
    site = net.site(host)
    r = proxied(srv, f"http://{host}/sitemap.xml")
    assert r.status_code == 200
    assert sorted(_locs(r.content)) == sorted(site.post_url(p) for p in site.post_ids())


def test_large_sitemap_becomes_an_index(net, monkeypatch):
    monkeypatch.setattr(server_mod, "SITEMAP_PAGE_SIZE", 25)
    host = net.hosts[0]
    site = net.site(host)
    with ReplicaServer(net) as s:
        index = _locs(proxied(s, f"http://{host}/sitemap.xml").content)
        assert len(index) == -(-site.count() // 25)
        urls = []
        for part in index:
            r = proxied(s, part)
            assert r.status_code == 200
            urls += _locs(r.content)
        assert proxied(s, f"http://{host}/sitemap-{len(index) + 1}.xml").status_code == 404
    assert sorted(urls) == sorted(site.post_url(p) for p in site.post_ids())


def test_login_search_trap_and_static_assets(srv, net):
    host = net.hosts[0]
    assert proxied(srv, f"http://{host}/zb_system/login.php").status_code == 200
    r = proxied(srv, f"http://{host}/zb_system/cmd.php?act=search&q=abc")
    assert r.status_code == 200 and "cmd.php?act=search&amp;q=abc&amp;page=2" in r.text
    css = proxied(srv, f"http://{host}/zb_users/theme/tpure/style/style.css?v=5.0.2")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    img = proxied(srv, f"http://{host}/zb_users/upload/2024/11/a.gif")
    assert img.status_code == 200 and img.content.startswith(b"GIF89a")


def test_request_log_count_and_reset(net):
    host = net.hosts[0]
    pid = net.site(host).post_ids()[0]
    with ReplicaServer(net) as s:
        for _ in range(3):
            proxied(s, f"http://{host}/index.php/post/{pid}.html")
        proxied(s, f"http://{host}/feed.php")
        assert s.count() == 4
        assert s.count(host=host, path_prefix="/index.php/post/") == 3
        assert s.count(host=net.hosts[1]) == 0
        entry = s.requests[0]
        assert {"method", "host", "path", "status", "time"} <= set(entry)
        assert (entry["method"], entry["host"], entry["status"]) == ("GET", host, 200)
        s.reset_log()
        assert s.count() == 0 and s.requests == []


def test_concurrent_requests_are_all_answered_correctly(srv, net):
    jobs = [(host, pid) for host in net.hosts for pid in net.site(host).post_ids()[:50]]
    jobs = (jobs * 3)[:200]

    def fetch(job):
        host, pid = job
        with requests.Session() as session:  # one keep-alive connection per call
            session.proxies = {"http": srv.proxy_url}
            r = session.get(f"http://{host}/index.php/post/{pid}.html", timeout=20)
            return r.status_code, shown_title(net.site(host), pid) in page_title(r.content)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetch, jobs))
    assert results == [(200, True)] * len(jobs)


def test_stop_closes_the_port(net):
    s = ReplicaServer(net).start()
    port = s.port
    s.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_stop_ends_pending_slow_responses_cleanly(net, caplog):
    from crawler.replica.faults import Faults

    host = net.hosts[0]
    url = net.site(host).post_url(net.site(host).post_ids()[0])
    s = ReplicaServer(net, faults=Faults.parse("slow=1:30")).start()
    errors = []
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    sock.sendall(f"GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    with caplog.at_level("ERROR", logger="asyncio"):
        # wait until the server has the request (it is logged only once answered, so poll the task set)
        while not s._tasks:
            threading.Event().wait(0.01)
        s.stop()
    try:
        errors.append(sock.recv(100))
    except OSError as exc:
        errors.append(exc)
    sock.close()
    assert errors[0] == b"" or isinstance(errors[0], OSError)  # closed, never a response
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_module_entry_point_serves_until_sigterm(net):
    proc = subprocess.Popen([sys.executable, "-m", "crawler.replica", "--sites", "1", "--posts", "20",
                             "--seed", "3", "--now", "2026-11-26T17:24:00Z", "--faults", "gaps=5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("proxy: http://127.0.0.1:")
        host_line = proc.stdout.readline().strip()
        host = host_line.split()[1]
        port = int(first.rsplit(":", 1)[1])
        r = requests.get(f"http://{host}/feed.php", proxies={"http": f"http://127.0.0.1:{port}"}, timeout=10)
        assert r.status_code == 200
        assert r.headers["Date"] == format_datetime(NOW, usegmt=True)
        assert host == Network(seed=3, sites=1, posts=20).hosts[0]
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


def test_module_entry_point_rejects_a_bad_fault_spec():
    r = subprocess.run([sys.executable, "-m", "crawler.replica", "--faults", "bogus=3"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("Error: unknown fault 'bogus'")


# -- the page cache (prerender): what bench/crawl.py serves its crawls from -------------------------


def test_prerender_renders_every_page_once_and_serves_it_from_memory(monkeypatch):
    net = Network(seed=7, sites=2, posts=25, now=NOW)
    with ReplicaServer(net, cache=True) as s:
        cached = s.prerender()
        posts = [(h, pid) for h in net.hosts for pid in net.site(h).post_ids()]
        # every post and list page the crawl would reach, and not only those
        assert cached > len(posts)
        live = {(h, pid): proxied(s, net.site(h).post_url(pid)).content for h, pid in posts[:5]}

        def no_render(*_a, **_kw):
            raise AssertionError("rendered again")

        monkeypatch.setattr(render, "render_post", no_render)
        monkeypatch.setattr(render, "render_list", no_render)
        for h, pid in posts:
            r = proxied(s, net.site(h).post_url(pid))
            assert r.status_code == 200 and page_title(r.content)
        for key, body in live.items():
            assert proxied(s, net.site(key[0]).post_url(key[1])).content == body
        home = proxied(s, f"http://{net.hosts[0]}/index.php/page_2.html")
        assert home.status_code == 200
        assert proxied(s, f"http://{net.hosts[0]}/index.php/post/999999.html").status_code == 404


def test_prerender_needs_the_cache():
    with pytest.raises(UsageError, match="cache=True"):
        ReplicaServer(Network(seed=7, sites=1, posts=5, now=NOW)).prerender()


def test_the_cache_keeps_transient_faults_transient():
    from crawler.replica.faults import Faults

    net = Network(seed=5, sites=1, posts=80, now=NOW)
    faults = Faults.parse("5xx=4")
    host = net.hosts[0]
    hit = faults.plan(host, net.site(host).post_ids())["5xx"]
    with ReplicaServer(net, faults=faults, cache=True) as s:
        url = net.site(host).post_url(hit[0])
        # the fault shapes the first answer only: it is not cached, the page after it is
        assert [proxied(s, url).status_code for _ in range(3)] == [503, 200, 200]


def test_module_entry_point_prerender_needs_a_fixed_clock():
    r = subprocess.run([sys.executable, "-m", "crawler.replica", "--prerender"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("Error: --prerender needs --now")
