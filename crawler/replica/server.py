"""The replica's HTTP server: a loopback-only forward proxy for the replica's host names.

It answers requests with an absolute URI (``GET http://jinshan.021cf.cn/index.php/post/3756.html``,
what a client configured with ``http_proxy`` sends) and direct requests routed by the Host
header, so a crawl through it sees the real URLs. Any other host gets 502 and no outbound
connection is ever made. Pages are rendered per request by `crawler.replica.render` from the
`Network` model (nothing is stored per post), and `Faults` decide which post URLs misbehave.

One asyncio event loop in a background thread serves every connection (HTTP/1.1 keep-alive);
slow responses sleep without blocking the others.
"""

from __future__ import annotations

import asyncio
import http
import random
import re
import socket
import struct
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import parse_qs, quote, urlsplit

from crawler import sites
from crawler.errors import UsageError
from crawler.replica.faults import OFFSITE_HOSTS, Faults, offsite_links

# Only these addresses may be bound: the replica must never be reachable from the network.
LOOPBACK = ("127.0.0.1", "::1", "localhost")

# Headers every response carries, as a Z-BlogPHP 1.7 host on nginx + PHP-FPM sends them.
BASE_HEADERS = (("Server", "nginx"), ("X-Powered-By", "PHP/7.4.33"))
HTML_TYPE = "text/html; charset=UTF-8"
# Z-BlogPHP's feed.php sends `header("Content-type:text/xml; Charset=utf-8")`.
FEED_TYPE = "text/xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

# Z-BlogPHP pseudo-static routes ("rewrite" mode with index.php in the path), as the
# samples link them: list pages take an optional "_P" page suffix.
#: Links in a rendered page (href attributes, and the <link>/<loc> URLs of feeds and sitemaps).
_LINK_RE = re.compile(rb'(?:href="|<link>|<loc>)(http://[^"<\s]+|/[^"<\s]*)')

ROUTES = (
    ("post", sites.POST_PATH_RE),  # the crawler's URL grammar: both sides agree on what a post URL is
    ("home", re.compile(r"^/index\.php/page_(\d+)\.html$")),
    ("category", re.compile(r"^/index\.php/category-(\d+)(?:_(\d+))?\.html$")),
    ("tag", re.compile(r"^/index\.php/tags-(\d+)(?:_(\d+))?\.html$")),
    ("date", re.compile(r"^/index\.php/date-(\d{4}-\d{1,2})(?:_(\d+))?\.html$")),
    ("author", re.compile(r"^/index\.php/author-(\d+)(?:_(\d+))?\.html$")),
    # single pages such as "联系我们" (navbar-page-2 links /index.php/2.html)
    ("page", re.compile(r"^/index\.php/(\d+)\.html$")),
)

# Static files the pages reference (theme CSS/JS, images, uploads): tiny 200 responses so a
# browser or an over-eager crawler gets an answer without the replica storing anything.
STATIC_PREFIXES = ("/zb_users/", "/zb_system/script/", "/zb_system/image/", "/zb_system/css/")
STATIC_TYPES = {
    ".css": ("text/css", b"/* replica */\n"),
    ".js": ("application/javascript", b"/* replica */\n"),
    ".svg": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'),
    ".gif": ("image/gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
             b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff\xd9"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff\xd9"),
    ".ico": ("image/x-icon", b"\x00\x00\x01\x00"),
    ".woff2": ("font/woff2", b""),
}

# URLs per sitemap file; above this /sitemap.xml becomes a sitemap index of /sitemap-N.xml.
SITEMAP_PAGE_SIZE = 2000

# Request-line and header limits: enough for any crawler, small enough that a broken client
# cannot make the server buffer much.
MAX_LINE = 16384
MAX_HEADERS = 100


@dataclass
class Response:
    """One answer of the replica, with the fault (if any) that shaped it."""

    status: int
    body: bytes = b""
    content_type: str | None = HTML_TYPE
    headers: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    delay: float = 0.0
    action: str | None = None  # "reset" | "truncate" | "close"


class ReplicaServer:
    """Serve a replica `Network` on loopback as an HTTP forward proxy, in a background thread."""

    def __init__(self, network, host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None,
                 log: bool = True, cache: bool = False):
        if host not in LOOPBACK:
            raise UsageError(f"the replica binds loopback only (127.0.0.1 or ::1), not {host!r}")
        self.network = network
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.faults = faults if faults is not None else Faults()
        self.log_enabled = log
        self.served = 0
        self._log: list[dict] = []
        self._fault_log: list[dict] = []
        self._lock = threading.Lock()
        # per-URL request counts, kept only for URLs selected for a transient fault
        self._attempts: dict[tuple[str, str], int] = {}
        self._rng = random.Random(getattr(network, "seed", 0))
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set = set()
        self._tasks: set = set()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._hosts = {h.lower() for h in network.hosts}
        # cache=True: each page is served as first rendered (see prerender); None: rendered per request
        self._cache: dict[tuple[str, str], Response] | None = {} if cache else None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "ReplicaServer":
        """Bind the loopback port and start serving in a daemon thread; returns self."""
        if self._thread is not None:
            return self
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="replica-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        """Close the listening socket and every open connection, then join the thread."""
        if self._thread is None:
            return
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> "ReplicaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def proxy_url(self) -> str:
        """The URL to use as http_proxy / Scrapy `proxy` meta: http://127.0.0.1:PORT."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- request log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[dict]:
        """A copy of the request log: dicts with method, host, path, url, status, faults, time."""
        with self._lock:
            return list(self._log)

    @property
    def fault_log(self) -> list[dict]:
        """Every fault injected so far: dicts with kind, host, path, url, status, time."""
        with self._lock:
            return list(self._fault_log)

    def faulted(self, kind: str) -> set[str]:
        """The URLs (without query) that met fault `kind` (a Faults spec key) at least once."""
        return {e["url"].split("?")[0] for e in self.fault_log if e["kind"] == kind}

    def reset_log(self) -> None:
        """Forget the request and fault logs (per-URL fault counters are kept)."""
        with self._lock:
            self._log.clear()
            self._fault_log.clear()

    def count(self, host: str | None = None, path_prefix: str | None = None) -> int:
        """How many logged requests match a host and/or a path prefix."""
        with self._lock:
            return sum(1 for e in self._log
                       if (host is None or e["host"] == host)
                       and (path_prefix is None or e["path"].startswith(path_prefix)))

    # -- event loop ------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve_conn, self.host, self.port, limit=MAX_LINE, backlog=512))
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # surfaced to the caller of start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        # handlers still sleeping (slow fault) or reading would outlive the loop otherwise
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, target, version, headers = request
                # one clock reading per request: the Date header and the page's relative dates agree
                now = self._now()
                resp, host, path = self._dispatch(method, target, headers, now)
                if resp.delay:
                    await asyncio.sleep(resp.delay)
                keep = _keep_alive(version, headers) and resp.action is None
                self._record(method, host, path, resp)
                if resp.action == "reset":
                    _abort_with_rst(writer)
                    return
                head, body = self._serialize(resp, keep, method, now)
                if resp.action == "truncate":
                    # the head promises the whole body; half of it arrives, then EOF
                    writer.write(head + body[: len(body) // 2])
                    await writer.drain()
                    break
                writer.write(head + body)
                await writer.drain()
                if not keep:
                    break
        except _BadRequest:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # stop(): end quietly, or asyncio's stream callback logs the cancellation as an error
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.close()

    def _serialize(self, resp: Response, keep: bool, method: str, now: datetime) -> tuple[bytes, bytes]:
        lines = [f"HTTP/1.1 {resp.status} {_reason(resp.status)}",
                 f"Date: {format_datetime(now, usegmt=True)}"]
        lines += [f"{k}: {v}" for k, v in BASE_HEADERS]
        if resp.content_type:
            lines.append(f"Content-Type: {resp.content_type}")
        lines += [f"{k}: {v}" for k, v in resp.headers]
        lines.append(f"Content-Length: {len(resp.body)}")
        lines.append("Connection: keep-alive" if keep else "Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head, (b"" if method == "HEAD" else resp.body)

    def _record(self, method: str, host: str, path: str, resp: Response) -> None:
        with self._lock:
            self.served += 1
            if not self.log_enabled:
                return
            # status 0: the connection was reset, no response at all
            entry = {"method": method, "host": host, "path": path, "url": f"http://{host}{path}",
                     "status": 0 if resp.action == "reset" else resp.status,
                     "faults": tuple(resp.faults), "time": time.time()}
            self._log.append(entry)
            for kind in resp.faults:
                self._fault_log.append({"kind": kind, "host": host, "path": path,
                                        "url": entry["url"], "status": entry["status"], "time": entry["time"]})

    def _now(self) -> datetime:
        now = self.network.now
        now = now() if callable(now) else now
        if now is None:
            return datetime.now(timezone.utc)
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    # -- routing ---------------------------------------------------------------------------

    def _dispatch(self, method: str, target: str, headers: dict, now: datetime) -> tuple[Response, str, str]:
        """Work out host and path from an absolute URI or the Host header, then route."""
        if method == "CONNECT":
            # no TLS tunnels: the replica serves plain http only and never connects anywhere
            return (Response(405, _proxy_error(405, target), headers=[("Allow", "GET, HEAD, POST")], action="close"),
                    target.split(":")[0].lower(), "")
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            host = (parts.hostname or "").lower()
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            default_port = 443 if parts.scheme == "https" else 80
            try:
                port = parts.port or default_port
            except ValueError:
                port = -1
            if parts.scheme != "http" or port != 80 or host not in self._hosts:
                return Response(502, _proxy_error(502, target)), host, path
        else:
            host_header = headers.get("host", "")
            host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
            host = host.lower()
            path = target if target.startswith("/") else "/" + target
            if host not in self._hosts:
                return Response(502, _proxy_error(502, f"http://{host_header}{path}")), host, path
        if method not in ("GET", "HEAD", "POST"):
            return Response(405, b"", headers=[("Allow", "GET, HEAD, POST")]), host, path
        try:
            return self._cached_route(host, path, now), host, path
        except Exception as exc:  # a render bug must show up as a 500 in tests, not a hung socket
            return Response(500, f"replica error: {type(exc).__name__}: {exc}".encode(), TEXT_TYPE), host, path

    def _cached_route(self, host: str, path: str, now: datetime) -> Response:
        """_route, through the page cache when there is one.

        Only a plain answer is kept (status 200 or 404, no fault, no delay): a URL that a fault
        shapes is routed again on every request, so transient faults still come and go.
        """
        if self._cache is None:
            return self._route(host, path, now)
        key = (host, path)
        resp = self._cache.get(key)
        if resp is None:
            resp = self._route(host, path, now)
            if resp.status in (200, 404) and not resp.faults and not resp.delay and resp.action is None:
                self._cache[key] = resp
        return resp

    def prerender(self) -> int:
        """Render, into the page cache, every page reachable from each subsite's home page and feed.

        Walks the links of the rendered pages (same host, not static files) without HTTP, so a
        benchmark's crawl then costs the replica only its serving, not its rendering: on a real
        network the server's CPU is not the crawler's. Returns the number of pages cached.
        Needs cache=True; the network must not change afterwards (publish, edits, set_now), or
        the cache serves the pages as they were.
        """
        if self._cache is None:
            raise UsageError("prerender needs a replica started with cache=True")
        now = self._now()
        for host in sorted(self._hosts):
            seen = {"/", "/feed.php", "/robots.txt", "/sitemap.xml"}
            todo = sorted(seen)
            while todo:
                path = todo.pop()
                resp = self._cached_route(host, path, now)
                if resp.status != 200:
                    continue
                for m in _LINK_RE.finditer(resp.body):
                    url = m.group(1).decode("latin-1").replace("&amp;", "&")
                    if url.startswith("/"):
                        url = f"http://{host}{url}"
                    parts = urlsplit(url)
                    if (parts.hostname or "").lower() != host or parts.scheme != "http":
                        continue
                    link = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                    if link not in seen and not link.startswith(STATIC_PREFIXES):
                        seen.add(link)
                        todo.append(link)
        return len(self._cache)

    def _route(self, host: str, path: str, now: datetime) -> Response:
        site = self.network.site(host)
        bare, _, query = path.partition("?")
        args = parse_qs(query)
        if bare in ("/", "/index.php"):
            if "id" in args:
                return self._by_id(site, host, args["id"][0], now)
            return self._list(site, host, "home", None, 1, now)
        if bare == "/feed.php":
            return Response(200, _render().render_feed(site, now), FEED_TYPE)
        if bare == "/robots.txt":
            return Response(200, self._robots(site, host).encode(), TEXT_TYPE)
        if bare == "/sitemap.xml":
            return Response(200, self._sitemap(site, host, None), XML_TYPE)
        m = re.match(r"^/sitemap-(\d+)\.xml$", bare)
        if m:
            body = self._sitemap(site, host, int(m.group(1)))
            return Response(200, body, XML_TYPE) if body else self._not_found(site, now)
        if bare == "/zb_system/login.php":
            return Response(200, _login_page(host), HTML_TYPE)
        if bare == "/zb_system/cmd.php":
            if args.get("act", [""])[0] == "search":
                return Response(200, _search_page(host, args.get("q", [""])[0], _int(args.get("page", ["1"])[0])))
            return Response(302, headers=[("Location", f"http://{host}/")])
        if bare.startswith(STATIC_PREFIXES) or bare == "/favicon.ico":
            ext = bare[bare.rfind("."):].lower() if "." in bare.rsplit("/", 1)[-1] else ""
            if ext in STATIC_TYPES:
                ctype, body = STATIC_TYPES[ext]
                return Response(200, body, ctype)
            return self._not_found(site, now)
        for kind, pattern in ROUTES:
            m = pattern.match(bare)
            if not m:
                continue
            if kind == "post":
                return self._post(site, host, int(m.group(1)), path, args, now)
            if kind == "home":
                return self._list(site, host, "home", None, int(m.group(1)), now)
            if kind == "page":
                return self._single_page(site, host, int(m.group(1)), now)
            key = m.group(1) if kind == "date" else int(m.group(1))
            return self._list(site, host, kind, key, int(m.group(2) or 1), now)
        return self._not_found(site, now)

    def _by_id(self, site, host: str, raw: str, now: datetime) -> Response:
        pid = _int(raw)
        if pid is None or not _visible(site, pid):
            return self._not_found(site, now)
        return Response(302, headers=[("Location", sites.post_url(host, pid))])

    def _post(self, site, host: str, pid: int, path: str, args: dict, now: datetime) -> Response:
        f = self.faults
        if not _visible(site, pid):
            return self._not_found(site, now)
        if f.selected("down", host, pid):
            return Response(503, _error_page(503), faults=["down"])
        if f.selected("gaps", host, pid):
            resp = self._not_found(site, now)
            resp.faults.append("gaps")
            return resp
        url = sites.post_url(host, pid)
        hop = args.get("hop", [None])[0]
        if f.selected("offredirect", host, pid):
            return Response(301, headers=[("Location", sites.post_url(OFFSITE_HOSTS[0], pid))],
                            faults=["offredirect"])
        if f.selected("loop", host, pid):
            target = url if "loop" in args else url + "?loop=1"
            return Response(302, headers=[("Location", target)], faults=["loop"])
        if f.selected("redirect", host, pid) and hop != "2":
            # a post that moved twice: 301 to the first hop, 302 to the final URL
            if hop == "1":
                return Response(302, headers=[("Location", url + "?hop=2")], faults=["redirect"])
            return Response(301, headers=[("Location", url + "?hop=1")], faults=["redirect"])
        delay = f.slow_delay if f.selected("slow", host, pid) else 0.0
        kind = None
        if any(f.selected(k, host, pid) for k in ("reset", "5xx", "429", "truncate")):
            key = (host, path)
            with self._lock:
                attempt = self._attempts.get(key, 0)
                self._attempts[key] = attempt + 1
            kind = f.transient(host, pid, attempt)
        slow = ["slow"] if delay else []
        if kind == "reset":
            return Response(0, faults=slow + ["reset"], action="reset", delay=delay)
        if kind in ("5xx", "429"):
            status = 503 if kind == "5xx" else 429
            return Response(status, _error_page(status), headers=[("Retry-After", "1")],
                            faults=slow + [kind], delay=delay)
        if site.theme != "tpure" or site.charset != "utf-8":
            from crawler.replica.offtemplate import render_site_post

            page, ctype = render_site_post(site, pid, now, self._rng)
            resp = Response(200, page, content_type=ctype, faults=slow, delay=delay)
        else:
            page = _render().render_post(site, pid, now, self._rng)
            if isinstance(page, tuple):  # (html, related links shown)
                page = page[0]
            resp = Response(200, page, faults=slow, delay=delay)
        if kind == "truncate":
            resp.faults.append("truncate")
            resp.action = "truncate"
            return resp
        if f.selected("offsite", host, pid):
            resp.body = _inject_links(resp.body, offsite_links(host, pid))
            resp.faults.append("offsite")
        if f.selected("malformed", host, pid):
            resp.body = _malform(resp.body)
            resp.faults.append("malformed")
        if f.selected("cut", host, pid):
            resp.body = _cut(resp.body)
            resp.faults.append("cut")
        if f.selected("gbk-utf8", host, pid):
            # labelled GBK, bytes stay UTF-8
            resp.body = _relabel_meta(resp.body, "gbk")
            resp.content_type = "text/html; charset=GBK"
            resp.faults.append("gbk-utf8")
        elif f.selected("utf8-gbk", host, pid):
            # labels stay UTF-8, bytes become GBK (characters GBK lacks as numeric references)
            resp.body = resp.body.decode("utf-8").encode("gbk", errors="xmlcharrefreplace")
            resp.faults.append("utf8-gbk")
        return resp

    def _list(self, site, host: str, kind: str, key, page: int, now: datetime) -> Response:
        try:
            body = _render().render_list(site, kind, key, page, now)
        except (LookupError, ValueError):
            return self._not_found(site, now)
        if body is None:
            return self._not_found(site, now)
        resp = Response(200, body)
        if self.faults.rate("offsite") and self.faults.selected("offsite", host, page):
            resp.body = _inject_links(body, offsite_links(host, page))
            resp.faults.append("offsite")
        return resp

    def _single_page(self, site, host: str, page_id: int, now: datetime) -> Response:
        render_page = getattr(_render(), "render_page", None)
        if render_page is None:
            return self._not_found(site, now)
        try:
            body = render_page(site, page_id, now)
        except (LookupError, ValueError):
            return self._not_found(site, now)
        return Response(200, body) if body else self._not_found(site, now)

    def _not_found(self, site, now: datetime) -> Response:
        return Response(404, _render().render_404(site, now))

    def _robots(self, site, host: str) -> str:
        lines = ["User-agent: *"]
        f = self.faults
        if f.rate("robots"):
            lines += ["Disallow: /index.php/tags-", "Disallow: /zb_system/"]
            lines += [f"Disallow: /index.php/post/{pid}.html"
                      for pid in site.post_ids() if f.selected("robots", host, pid)]
            lines.append(f"Crawl-delay: {f.robots_crawl_delay:g}")
        else:
            lines.append("Disallow:")
        lines += ["", f"Sitemap: http://{host}/sitemap.xml", ""]
        return "\n".join(lines)

    def _sitemap(self, site, host: str, part: int | None) -> bytes | None:
        ids = site.post_ids()
        head = '<?xml version="1.0" encoding="UTF-8"?>\n'
        ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        if part is None and len(ids) > SITEMAP_PAGE_SIZE:
            parts = (len(ids) + SITEMAP_PAGE_SIZE - 1) // SITEMAP_PAGE_SIZE
            locs = "".join(f"<sitemap><loc>http://{host}/sitemap-{i}.xml</loc></sitemap>\n" for i in range(1, parts + 1))
            return f"{head}<sitemapindex {ns}>\n{locs}</sitemapindex>\n".encode()
        if part is not None:
            if part < 1 or len(ids) <= SITEMAP_PAGE_SIZE:
                return None
            # newest first, like the list pages
            chunk = list(reversed(ids))[(part - 1) * SITEMAP_PAGE_SIZE: part * SITEMAP_PAGE_SIZE]
            if not chunk:
                return None
        else:
            chunk = list(reversed(ids))
        locs = "".join(f"<url><loc>http://{host}/index.php/post/{pid}.html</loc></url>\n" for pid in chunk)
        return f"{head}<urlset {ns}>\n{locs}</urlset>\n".encode()


# -- helpers ---------------------------------------------------------------------------------

def _render():
    # imported lazily so that this module (and `Faults`) load without the content generator
    from crawler.replica import render

    return render


def _visible(site, pid: int) -> bool:
    has = getattr(site, "has_post", None)
    if has is not None:
        return bool(has(pid))
    ids = site.post_ids()
    i = bisect_left(ids, pid)
    return i < len(ids) and ids[i] == pid


def _int(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _BadRequest(Exception):
    """The request line is not `METHOD TARGET HTTP/x.y`."""


async def _read_request(reader: asyncio.StreamReader):
    """Read one request head (and discard any body); None at a clean end of connection."""
    line = await reader.readline()
    while line in (b"\r\n", b"\n"):  # tolerate blank lines between keep-alive requests
        line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _BadRequest()
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = _int(headers.get("content-length", "0")) or 0
    if length > 0:
        await reader.readexactly(length)
    return parts[0].upper(), parts[1], parts[2].upper(), headers


def _keep_alive(version: str, headers: dict) -> bool:
    conn = (headers.get("connection") or headers.get("proxy-connection") or "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # linger on with timeout 0: close() sends RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _proxy_error(status: int, target: str) -> bytes:
    # what a squid/nginx forward proxy shows when it will not fetch the URL
    return (f"<html><head><title>{status} {_reason(status)}</title></head><body>"
            f"<center><h1>{status} {_reason(status)}</h1></center>"
            f"<p>The replica proxy serves only the replica's own host names; it will not fetch "
            f"{_escape(target)}.</p><hr><center>nginx</center></body></html>").encode()


def _error_page(status: int) -> bytes:
    return (f"<html><head><title>{status} {_reason(status)}</title></head><body>"
            f"<center><h1>{status} {_reason(status)}</h1></center><hr><center>nginx</center></body></html>").encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _login_page(host: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="generator" content="Z-BlogPHP 1.7.5">
<title>中国产业园区招商网 - 登录</title></head>
<body class="login"><div class="bg"><div id="wrapper"><div class="logo"><img src="http://{host}/zb_system/image/admin/none.gif" title="Z-BlogPHP" alt="Z-BlogPHP"></div>
<div class="login"><form method="post" action="http://{host}/zb_system/cmd.php?act=verify">
<dl><dt>用户名</dt><dd class="username"><input type="text" id="edtUserName" name="edtUserName" size="20" tabindex="1"></dd>
<dt>密码</dt><dd class="password"><input type="password" id="edtPassWord" name="edtPassWord" size="20" tabindex="2"></dd></dl>
<dl><dd class="submit"><input id="btnPost" name="btnPost" type="submit" value="登录" class="button" tabindex="4"></dd></dl>
</form></div></div></div></body></html>
""".encode()


def _search_page(host: str, q: str, page: int | None) -> bytes:
    # a crawl trap: every result page links to a "next" page and to other queries, forever
    page = page or 1
    qq = quote(q)
    nxt = f"http://{host}/zb_system/cmd.php?act=search&amp;q={qq}&amp;page={page + 1}"
    other = f"http://{host}/zb_system/cmd.php?act=search&amp;q={qq}{page}"
    return f"""<!DOCTYPE html>
<html xml:lang="zh-Hans" lang="zh-Hans"><head><meta charset="utf-8">
<title>搜索：{_escape(q)} - 中国产业园区招商网</title></head>
<body class="search"><div class="wrapper"><div class="main"><div class="content listcon">
<div class="block"><h1>搜索：{_escape(q)}</h1><p>共找到 0 条结果</p></div>
<div class="pagebar"><span class="now-page">{page}</span><a href="{nxt}">下页</a> <a href="{other}">相关搜索</a></div>
</div></div></div></body></html>
""".encode()


_BODY_CLOSE = re.compile(rb"</body>", re.I)


def _inject_links(html: bytes, links: list[tuple[str, str]]) -> bytes:
    """Add a "friend links" block of off-site and trap links just before </body>."""
    # outside .single, so the article's gold text is unchanged
    items = "".join(f'<a href="{_escape(url)}" target="_blank">{anchor}</a> ' for url, anchor in links)
    block = f'<div class="friendlink"><span>友情链接：</span>{items}</div>\n'.encode()
    m = None
    for m in _BODY_CLOSE.finditer(html):
        pass
    if m is None:
        return html + block
    return html[: m.start()] + block + html[m.start():]


_P_CLOSE = re.compile(rb"</p>")
_SINGLE_OPEN = re.compile(rb'<div class="single[^"]*"[^>]*>')


def _body_span(html: bytes) -> tuple[int, int] | None:
    """Byte offsets of the post body's start and of the first </div> after it."""
    m = _SINGLE_OPEN.search(html)
    if m is None:
        return None
    end = html.find(b"</div>", m.end())
    return m.end(), (end if end > 0 else len(html))


def _malform(html: bytes) -> bytes:
    """Tag soup that browsers (and lxml) recover from: stray end tags, unclosed <p> and <b>."""
    # stray end tags right after <body>: nothing is open that they could close
    html = re.sub(rb"(<body[^>]*>)", rb"\1</div></span>", html, count=1)
    span = _body_span(html)
    if span is None:
        return html
    start, end = span
    count = 0

    def drop_every_other(match):
        nonlocal count
        count += 1
        return b"" if count % 2 else match.group(0)

    # an omitted </p> is implied by the next <p>; the <b> is never closed; </font> closes nothing
    body = _P_CLOSE.sub(drop_every_other, html[start:end])
    # inside the first paragraph (<p> or tpure's <div>-with-<br /> bodies), else at the start
    m = re.search(rb"<(?:p|div)(?:\s[^>]*)?>", body)
    at = m.end() if m else 0
    body = body[:at] + b"</font><b>" + body[at:]
    return html[:start] + body + html[end:]


def _cut(html: bytes) -> bytes:
    """The page cut off in the middle of the post body (on a character boundary)."""
    span = _body_span(html)
    mid = (span[0] + span[1]) // 2 if span else len(html) // 2
    return html[:mid].decode("utf-8", errors="ignore").encode("utf-8")


_META_CHARSET = re.compile(rb'<meta\s+charset="[^"]*"\s*/?>', re.I)


def _relabel_meta(html: bytes, charset: str) -> bytes:
    tag = f'<meta charset="{charset}">'.encode()
    new, n = _META_CHARSET.subn(tag, html, count=1)
    if n:
        return new
    return html.replace(b"<head>", b"<head>" + tag, 1)
