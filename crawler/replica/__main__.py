"""Run the replica on loopback: ``python -m crawler.replica --sites 2 --posts 150 --port 0``.

Prints ``proxy: http://127.0.0.1:PORT`` and the host names, then serves until Ctrl-C or SIGTERM.
argparse rather than click: only cli.py imports click, and this entry point must start fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime, timezone

from crawler.errors import ParkcorpusError

EXAMPLE = """example:
  python -m crawler.replica --sites 2 --posts 150 --faults 5xx=7,robots
  python -m crawler.replica --sites 3 --theme laian.021cf.cn=default --charset songjiang.021cf.cn=big5
  http_proxy=http://127.0.0.1:PORT curl http://jinshan.021cf.cn/index.php/post/3756.html
"""


def _parse_now(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m crawler.replica``."""
    p = argparse.ArgumentParser(prog="python -m crawler.replica", epilog=EXAMPLE,
                                description="Serve the offline replica of the 021cf.cn Z-BlogPHP network "
                                            "as an HTTP forward proxy on loopback.",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sites", type=int, default=2, help="number of subsites (default 2)")
    p.add_argument("--posts", type=int, default=150, help="visible posts per subsite (default 150)")
    p.add_argument("--seed", type=int, default=2026, help="generator seed (default 2026)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free port)")
    p.add_argument("--now", type=_parse_now, default=None,
                   help="fix the server clock (ISO, UTC unless an offset is given); default: real time")
    p.add_argument("--syndicate", type=float, default=0.0, metavar="RATE",
                   help="share of posts that are syndicated copies of another subsite's story (e.g. 0.12)")
    p.add_argument("--prerender", action="store_true",
                   help="render every page reachable from each subsite's home page once, before serving, "
                        "and serve them as rendered (for benchmarks: the crawl then pays no rendering "
                        "on the shared cores; needs --now, the clock the pages are rendered at)")
    p.add_argument("--faults", default="", help="fault spec, e.g. 5xx=7,429=10,slow=20:2.0,gaps,robots")
    p.add_argument("--theme", action="append", default=[], metavar="HOST=THEME",
                   help="render a subsite's posts with another theme: default (Z-BlogPHP's) or news (repeatable)")
    p.add_argument("--charset", action="append", default=[], metavar="HOST=CHARSET",
                   help="serve a subsite's posts in gbk, big5 or shift_jis, named only in the HTTP header (repeatable)")
    return p


def _pairs(values: list[str], option: str) -> dict[str, str]:
    """{host: value} from HOST=VALUE arguments."""
    out = {}
    for v in values:
        host, sep, value = v.partition("=")
        if not sep or not host or not value:
            raise ValueError(f"{option} takes HOST=VALUE, got {v!r}")
        out[host.strip().lower()] = value.strip().lower()
    return out


def main(argv: list[str] | None = None) -> int:
    """Start the replica, print the proxy URL and hosts, serve until interrupted."""
    args = build_parser().parse_args(argv)
    from crawler.replica.faults import Faults
    from crawler.replica.model import Network
    from crawler.replica.server import ReplicaServer

    try:
        faults = Faults.parse(args.faults)
        from crawler.replica.offtemplate import CHARSETS, THEMES

        themes, charsets = _pairs(args.theme, "--theme"), _pairs(args.charset, "--charset")
        bad = [v for v in themes.values() if v not in THEMES and v != "tpure"]
        bad += [v for v in charsets.values() if v not in CHARSETS]
        if bad:
            raise ValueError(f"unknown theme/charset {bad[0]!r}: themes {', '.join(THEMES)}; "
                             f"charsets {', '.join(CHARSETS)}")
        network = Network(seed=args.seed, sites=args.sites, posts=args.posts, now=args.now,
                          themes=themes, charsets=charsets)
        if args.syndicate:
            from crawler.replica.syndication import Syndication

            Syndication(args.syndicate).attach(network)
        if args.prerender and args.now is None:
            raise ValueError("--prerender needs --now: cached pages keep the dates they were rendered with")
        server = ReplicaServer(network, port=args.port, faults=faults, log=False, cache=args.prerender)
        cached = server.prerender() if args.prerender else None
        server.start()
    except (ParkcorpusError, ValueError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"proxy: {server.proxy_url}")
    for host in network.hosts:
        site = network.site(host)
        extra = "".join(f", {k} {v}" for k, v in (("theme", site.theme), ("charset", site.charset))
                        if v not in ("tpure", "utf-8"))
        print(f"host: {host} ({site.count()} posts{extra})")
    if faults:
        print(f"faults: {faults.spec()}")
    if cached is not None:
        print(f"prerendered: {cached} pages")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
