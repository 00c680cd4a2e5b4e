"""The `parkcorpus` command line. The only module that imports click.

Each command parses its options, makes one `crawler.api` call and prints the result.
Heavy libraries (scrapy, pyarrow, pandas) are imported lazily inside `crawler.api`
so that `parkcorpus --help` is instant.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys

import click

from crawler import __version__
from crawler import errors
from crawler.errors import DISK_FULL_ERRNOS


class ParkcorpusClickError(click.ClickException):
    """A ClickException that keeps the exit code of the library error it wraps."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code



def handle_errors(fn):
    """Turn library errors into one `Error: ...` line and an exit code (no traceback unless --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = bool((ctx.find_root().obj or {}).get("debug"))
        try:
            return fn(*args, **kwargs)
        except errors.ParkcorpusError as exc:
            if debug:
                raise
            raise ParkcorpusClickError(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise ParkcorpusClickError("interrupted", 1) from None
        except OSError as exc:
            if debug:
                raise
            name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            if exc.errno in DISK_FULL_ERRNOS:
                raise ParkcorpusClickError(
                    f"disk full while writing{name} ({exc.strerror}); free some space and run again", 1
                ) from None
            raise ParkcorpusClickError(f"{exc.strerror or exc}:{name}".rstrip(":"), 1) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: still one line for cron, with the way to the traceback
            if debug:
                raise
            raise ParkcorpusClickError(
                f"internal error ({type(exc).__name__}: {str(exc)[:200]}); "
                "run again with --debug for the traceback and report it", 1
            ) from None

    return wrapper


_OUT_HELP = "Dataset folder or s3://bucket/prefix (default: `out` from the config, i.e. ./data)."


def out_option(default: str | None = None, help: str = _OUT_HELP, folder: bool = True):
    """The shared `--out` option (a dataset folder; default from the config)."""
    kwargs = {"type": click.Path(file_okay=False)} if folder else {}
    return click.option("--out", default=default, show_default=default is not None, help=help, **kwargs)


def json_option(help: str = "Print the result as JSON."):
    """The shared `--json` flag (passed to the command as `as_json`)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def jobs_option():
    """The shared `--jobs N` option of commands that extract pages (reextract, facts): worker processes."""
    return click.option("--jobs", "-j", type=click.IntRange(0, 256), default=None,
                        help="Extraction processes: 0 one per core, 1 in this process "
                             "(default: the `workers` setting, 0).")


def echo_json(obj) -> None:
    """Print obj as indented JSON (UTF-8, dates as ISO strings)."""
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parkcorpus")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Settings file (default: ./parkcorpus.toml when present). See `parkcorpus config`.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Only errors in the log output.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also append log messages to this file.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, config_path, verbose: int, quiet: int, log_file) -> None:
    """Crawl the 中国产业园区招商网 network into a clean Parquet corpus.

    \b
    Example:
        parkcorpus demo            # crawl the bundled offline replica into ./data
        parkcorpus crawl jinshan.021cf.cn --out data
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    # Global options every command may read: the config file path (loaded lazily by crawler.api,
    # so a broken file never breaks --help), the log verbosity (-1 quiet, 0 default, 1 info, 2 debug)
    # and a log file.
    ctx.obj["config"] = config_path
    ctx.obj["verbosity"] = verbose - quiet
    ctx.obj["log_file"] = log_file
    _setup_logging(verbose - quiet, log_file)


def _setup_logging(verbosity: int, log_file) -> None:
    """stderr logging at the level -v/-q ask for, plus --log-file when given."""
    import logging

    class _Stderr(logging.StreamHandler):
        # Resolve sys.stderr at emit time: click's test runner and pytest swap it between calls.
        def emit(self, record):
            self.stream = sys.stderr
            super().emit(record)

    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(verbosity, 2)), logging.DEBUG
    )
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_parkcorpus", False)]:
        root.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [_Stderr()]
    handlers[0].setLevel(level)
    if log_file:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            raise click.BadParameter(f"cannot open {log_file}: {exc.strerror}", param_hint="--log-file")
        handlers[1].setLevel(min(level, logging.INFO))
    for h in handlers:
        h.setFormatter(fmt)
        h._parkcorpus = True
        root.addHandler(h)
    root.setLevel(min(h.level for h in handlers))


@main.command("config")
@json_option("Print the settings as JSON.")
@click.pass_context
@handle_errors
def config_cmd(ctx: click.Context, as_json: bool) -> None:
    """Print the effective configuration and where each value came from.

    Values come from defaults, then parkcorpus.toml (or --config FILE), then
    PARKCORPUS_* environment variables, then command-line options.

    \b
    Example:
        parkcorpus config
        PARKCORPUS_DELAY=2 parkcorpus --config cron.toml config --json
    """
    from crawler import api

    info = api.config_info(ctx.obj.get("config"))
    if as_json:
        echo_json(info)
        return
    click.echo(f"config file: {info['file'] or '(none: defaults and environment only)'}")
    width = max(len(r["key"]) for r in info["settings"])
    for r in info["settings"]:
        click.echo(f"{r['key']:<{width}}  {json.dumps(r['value'], ensure_ascii=False):<28}  {r['source']}")


@main.command("sites")
@out_option()
@json_option("Print the table as JSON.")
@click.pass_context
@handle_errors
def sites_cmd(ctx: click.Context, out, as_json: bool) -> None:
    """List the registered subsites with posts stored, newest post and last crawl.

    Sites found in the dataset but not in the registry are listed too.

    \b
    Example:
        parkcorpus sites
        parkcorpus sites --out data --json
    """
    from crawler import api

    data = api.sites(out=out, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(data)
    else:
        from crawler.stats import render_sites_text

        click.echo(render_sites_text(data), nl=False)


@main.command("stats")
@out_option()
@json_option("Print the statistics as JSON.")
@click.pass_context
@handle_errors
def stats_cmd(ctx: click.Context, out, as_json: bool) -> None:
    """Corpus statistics and extraction health of a dataset.

    Per site and month counts, categories, tags, body-length distribution, date
    precision, and health checks: empty or very short bodies, boilerplate lines
    left in bodies, Traditional characters left.

    \b
    Example:
        parkcorpus stats --out data
        parkcorpus stats --json | jq .health
    """
    from crawler import api

    data = api.stats(out=out, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(data)
    else:
        from crawler.stats import render_text

        click.echo(render_text(data), nl=False)


@main.command("changes")
@out_option()
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only versions fetched on or after this China day.")
@click.option("--site", default=None, help="Only this site (host name).")
@json_option("Print the changes as JSON (one object per new version).")
@click.pass_context
@handle_errors
def changes_cmd(ctx: click.Context, out, since, site, as_json: bool) -> None:
    """List what changed between stored versions of each post, field by field.

    One entry per new version of a post (its first version is not a change): the fields that
    changed, old and new values, and for the text the characters added and removed and the
    changed lines, so an edit that only moved a date or a price shows as exactly that.

    \b
    Example:
        parkcorpus changes --out data --since 2026-11-20
        parkcorpus changes --site jinshan.021cf.cn --json | jq '.[].fields'
    """
    from crawler import api

    found = api.changes(out=out, since=since, site=site, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(found)
        return
    for e in found:
        click.echo(f"{e['site']} post {e['post_id']}  {e['to'].get('fetched_at')}  changed: {', '.join(e['fields'])}")
        for name, ch in e["changes"].items():
            if name == "text":
                click.echo(f"  text: +{ch['chars_added']} -{ch['chars_removed']} characters")
                for line in ch.get("lines", [])[:6]:
                    click.echo(f"    {line}")
            else:
                click.echo(f"  {name}: {ch.get('old')!r} -> {ch.get('new')!r}")
    click.echo(f"{len(found)} changed versions")


@main.command("report")
@out_option()
@click.option("--to", "to", default="report.html", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="HTML file to write (self-contained: plots embedded, no external resources), or - for stdout.")
@click.option("--png", "png_dir", default=None, type=click.Path(file_okay=False),
              help="Also write each plot as a PNG into this folder.")
@json_option("Print what was written as JSON.")
@click.pass_context
@handle_errors
def report_cmd(ctx: click.Context, out, to, png_dir, as_json: bool) -> None:
    """Write an HTML report with plots of a dataset.

    Articles per month per site, category shares, body-length histogram, top
    tags, the related-link graph, crawl history and the extraction health table,
    in one HTML file that opens offline in any browser.

    \b
    Example:
        parkcorpus report --out data --to report.html
        parkcorpus report --png plots/   # also one PNG per plot
    """
    from crawler import api

    info = api.report(out=out, to=to, png_dir=png_dir, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(info)
        return
    click.echo(f"Wrote {info['html']} ({info['bytes'] // 1024} KB, {len(info['plots'])} plots, "
               f"{info['articles']} articles)", err=(to == "-"))
    if info["pngs"]:
        click.echo(f"Wrote {len(info['pngs'])} PNG files to {png_dir}", err=(to == "-"))


# --- extract (one saved page -> JSON) ---------------------------------------------------------


def _iso_option(ctx, param, value):
    """Parse an ISO 8601 date-time option (naive means UTC); bad values are usage errors (exit 2)."""
    if value is None:
        return None
    from datetime import datetime, timezone

    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time, e.g. 2026-11-26T17:24:00Z") from None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


@main.command("extract")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--url", default=None, help="URL the page was fetched from (default: its canonical link).")
@click.option("--fetched-at", callback=_iso_option, metavar="ISO", help="Fetch time (default: the file's modification time).")
@click.option("--server-date", callback=_iso_option, metavar="ISO", help="The response's HTTP Date; relative dates count from it.")
@click.option("--convert", type=click.Choice(["t2s", "s2t", "t2tw", "none"]), default=None, help="OpenCC conversion (default t2s).")
@click.option("--no-swaps", "swaps", flag_value=False, default=None, help="Keep ad-law character swaps such as 蕞 for 最.")
@click.option("--mask-phones", "mask_phones", flag_value=True, default=None, help="Mask phone numbers left in the text.")
@click.option("--charset", default=None, metavar="NAME",
              help="Charset the pages were served with (the HTTP header's; default: BOM, <meta>, then detection).")
@click.pass_context
@handle_errors
def extract_cmd(ctx, files, url, fetched_at, server_date, convert, swaps, mask_phones, charset) -> None:
    """Extract the article record of saved post pages as JSON.

    One file prints indented JSON; several files or a folder print one JSON
    object per line (pages that are not articles are reported on stderr, exit 1).

    \b
    Example:
        parkcorpus extract post-3756.html --url http://jinshan.021cf.cn/index.php/post/3756.html
        parkcorpus extract saved-pages/ --fetched-at 2026-11-26T17:24:00Z > articles.jsonl
    """
    from crawler import api

    results = api.extract_files(files, url=url, fetched_at=fetched_at, server_date=server_date, convert=convert,
                                swaps=swaps, mask_phones=mask_phones, config_path=ctx.obj.get("config"),
                                charset=charset)
    single = len(results) == 1 and "record" in results[0]
    failed = 0
    for r in results:
        if "error" in r:
            failed += 1
            click.echo(f"Error: {r['file']}: {r['error']}", err=True)
        elif single:
            echo_json(r["record"])
        else:
            click.echo(json.dumps(r["record"], ensure_ascii=False, default=str))
    if failed:
        ctx.exit(1)


# --- cluster (Scrapyd sharding) -------------------------------------------------------------------


def _cluster_pairs(values, what: str, param: str, convert=str) -> dict:
    """NAME=VALUE options as a dict; BadParameter naming the option otherwise."""
    out = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected {what}, got {v!r}", param_hint=param)
        try:
            out[name.strip()] = convert(value.strip())
        except ValueError:
            raise click.BadParameter(f"expected {what}, got {v!r}", param_hint=param) from None
    return out


def _cluster_newest(value: str):
    """--newest SITE=ID or SITE=OLDEST-NEWEST."""
    low, sep, high = value.partition("-")
    return (int(low), int(high)) if sep else int(low)


_node_option = click.option(
    "--node", "nodes", multiple=True, metavar="URL",
    help="Scrapyd node URL, repeatable (default: cluster.nodes in parkcorpus.toml).",
)
_shard_option = click.option(
    "--shard-size", type=click.IntRange(min=1), default=None,
    help="Post IDs per shard when a subsite is split (default: cluster.shard_size).",
)
_newest_option = click.option(
    "--newest", multiple=True, metavar="SITE=ID",
    help="Newest post ID of a site (or SITE=OLDEST-NEWEST) instead of asking its feed.php.",
)
_proxy_option = click.option("--proxy", default=None, metavar="URL", help="HTTP proxy for the feed look-up and the crawls.")


@main.group("cluster")
def cluster_group() -> None:
    """Shard a crawl over Scrapyd nodes: plan the shards, run them, watch the nodes.

    Each node runs Scrapyd in a folder whose scrapy.cfg says
    `[settings] parkcorpus = crawler.settings`, with parkcorpus pip-installed;
    every shard writes into the same --out folder (shared by all nodes).

    \b
    Example:
        parkcorpus cluster plan jinshan.021cf.cn laian.021cf.cn --node http://10.0.0.5:6800
        parkcorpus cluster run --node http://10.0.0.5:6800 --node http://10.0.0.6:6800 --out /shared/data
        parkcorpus cluster status --node http://10.0.0.5:6800
    """


@cluster_group.command("plan")
@click.argument("sites", nargs=-1)
@_node_option
@_shard_option
@_newest_option
@_proxy_option
@json_option("Print the shards as JSON.")
@click.pass_context
@handle_errors
def cluster_plan_cmd(ctx, sites, nodes, shard_size, newest, proxy, as_json) -> None:
    """Show how SITES would be split into shards and spread over the nodes.

    A subsite becomes one shard; a subsite with more post IDs than --shard-size
    is split into post-ID ranges. The newest post ID comes from the site's feed.php
    unless --newest gives it.

    \b
    Example:
        parkcorpus cluster plan jinshan.021cf.cn --node http://127.0.0.1:6800 --shard-size 1000
        parkcorpus cluster plan laian.021cf.cn --node 127.0.0.1:6800 --newest laian.021cf.cn=1414 --json
    """
    from crawler import api

    shards = api.cluster_plan(
        sites, nodes, shard_size, proxy=proxy,
        newest=_cluster_pairs(newest, "SITE=ID or SITE=A-B", "--newest", _cluster_newest),
        config_path=ctx.obj.get("config"),
    )
    if as_json:
        echo_json(shards)
        return
    for s in shards:
        click.echo(f"{s['index']:>4}  {s['name']:<40} mode={s['mode']:<5} -> {s['node']}")
    click.echo(f"{len(shards)} shards")


@cluster_group.command("run")
@click.argument("sites", nargs=-1)
@_node_option
@out_option(help="Shared output folder or s3://bucket/prefix every node writes into (default: config out).",
            folder=False)
@_shard_option
@_newest_option
@_proxy_option
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Scrapy setting for every shard job.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True, help="Retries of a failed shard, on another node.")
@click.option("--per-site", type=click.IntRange(min=1), default=1, show_default=True,
              help="Shards of one subsite running at once (each keeps its own per-host delay).")
@click.option("--project", default=None, help="Scrapyd project name (default: parkcorpus, or the node's only project).")
@click.option("--no-lock", "no_lock", is_flag=True,
              help="Do not lock --out for the run (only when other writers write disjoint files).")
@json_option("Print the run summary as JSON.")
@click.pass_context
@handle_errors
def cluster_run_cmd(ctx, sites, nodes, out, shard_size, newest, proxy, settings, retries, per_site, project,
                    no_lock, as_json) -> None:
    """Crawl SITES as shards on Scrapyd nodes, retry failed shards elsewhere, validate the result.

    Exit code 1 when a shard failed on every attempt, no node is reachable, or the
    merged dataset does not validate.

    \b
    Example:
        parkcorpus cluster run jinshan.021cf.cn laian.021cf.cn --node http://10.0.0.5:6800 \\
            --node http://10.0.0.6:6800 --out /shared/data --shard-size 2000
        parkcorpus cluster run jinshan --node http://10.0.0.5:6800 --out s3://park-lab/corpus
    """
    from crawler import api

    def progress(kind: str, info: dict) -> None:
        detail = " ".join(f"{k}={v}" for k, v in info.items() if k not in ("node",))
        click.echo(f"[{info.get('node', '')}] {kind} {detail}", err=True)

    try:
        summary = api.cluster_run(
            sites, nodes, out=out, shard_size=shard_size, proxy=proxy,
            settings=_cluster_pairs(settings, "NAME=VALUE", "-s"), retries=retries,
            newest=_cluster_pairs(newest, "SITE=ID or SITE=A-B", "--newest", _cluster_newest),
            project=project, per_site=per_site, config_path=ctx.obj.get("config"), on_event=progress,
            use_lock=not no_lock,
        )
    except errors.ClusterError as exc:
        if as_json and getattr(exc, "summary", None):
            echo_json(exc.summary)
        raise
    if as_json:
        echo_json(summary)
    else:
        for s in summary["shards"]:
            nodes_used = ", ".join(f"{a['node']}:{a['state']}" for a in s["attempts"])
            click.echo(f"{s['name']:<40} {s['status']:<6} {nodes_used}")
        v = summary.get("validation", {})
        click.echo(f"{len(summary['shards'])} shards, {summary['retried']} retried; "
                   f"validate: {'ok' if v.get('ok') else 'FAILED'}")
    if not summary["ok"]:
        raise ParkcorpusClickError("the merged dataset does not validate; run `parkcorpus validate`", 1)


@cluster_group.command("status")
@_node_option
@click.option("--project", default=None, help="Only jobs of this Scrapyd project.")
@json_option("Print the node states as JSON.")
@click.pass_context
@handle_errors
def cluster_status_cmd(ctx, nodes, project, as_json) -> None:
    """Show whether each Scrapyd node is up, its job counts and running jobs.

    Exit code 1 when a node is unreachable.

    \b
    Example:
        parkcorpus cluster status --node http://127.0.0.1:6800 --node http://127.0.0.1:6801
    """
    from crawler import api

    rows = api.cluster_status(nodes, project=project, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(rows)
    else:
        for r in rows:
            if not r["reachable"]:
                click.echo(f"{r['node']}  DOWN  {r['error']}")
                continue
            click.echo(f"{r['node']}  up  pending={r['pending']} running={r['running']} finished={r['finished']}")
            for j in r["jobs"]:
                click.echo(f"    {j['state']:<8} {j['id']}  pid={j['pid']}")
    down = [r for r in rows if not r["reachable"]]
    if down:
        raise ParkcorpusClickError(down[0]["error"] if len(down) == 1 else f"{len(down)} of {len(rows)} nodes unreachable", 1)


def _format_summary(s: dict) -> str:
    """The human-readable crawl summary (--json prints the dict itself)."""
    o = s.get("outcomes", {})
    a = s.get("articles", {})
    lines = [
        f"run {s.get('run_id')}: {s.get('status')} in {s.get('duration_s')} s, "
        f"{s.get('pages_fetched', 0)} pages fetched",
        f"articles: {a.get('new', 0)} new, {a.get('changed', 0)} changed, {a.get('unchanged', 0)} unchanged",
        "outcomes: " + ", ".join(f"{k} {v}" for k, v in o.items() if v) if any(o.values()) else "outcomes: none",
    ]
    for site in s.get("sites", []):
        lines.append(f"  {site['host']:<24} {site.get('mode') or '-':<12} pages {site['pages_fetched']:>6}  "
                     f"new {site['articles_new']:>5}  changed {site['articles_changed']:>4}  "
                     f"errors {site['errors']:>4}  {site['status']}")
    if s.get("errors_by_kind"):
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in s["errors_by_kind"].items()))
    f = s.get("facts") or {}
    if any(f.values()):
        lines.append(f"facts: {f.get('parcels', 0)} parcels, {f.get('listings', 0)} listings, "
                     f"{f.get('warnings', 0)} unreadable tables")
    for url in s.get("malformed_urls", [])[:20]:
        lines.append(f"  malformed, not written: {url}")
    if s.get("retried") or s.get("revisited"):
        lines.append(f"retried {s.get('retried', 0)} posts earlier runs left failed ({s.get('recovered', 0)} recovered), "
                     f"re-checked {s.get('revisited', 0)} stored posts for edits")
    for url in s.get("failed_urls", [])[:20]:
        lines.append(f"  failed, retried first by the next run: {url}")
    for url in s.get("abandoned_urls", [])[:20]:
        lines.append(f"  abandoned after repeated failures: {url}")
    files = s.get("output_files", [])
    lines.append(f"{len(files)} files written under {s.get('out')}")
    return "\n".join(lines)


def _verbosity(ctx, verbose: int, quiet: int) -> int:
    return (ctx.obj or {}).get("verbosity", 0) + verbose - quiet


@main.command("crawl")
@click.argument("sites", nargs=-1)
@click.option("--all", "all_sites", is_flag=True, help="Crawl every registered subsite (see `parkcorpus sites`).")
@out_option()
@click.option("--mode", type=click.Choice(["auto", "full", "incremental", "ids", "sitemap"]), default=None,
              help="full: all list pages; incremental: feed + newest pages until known posts; ids: --ids range; "
                   "sitemap: the site's sitemap. Default auto: incremental for sites already in the dataset.")
@click.option("--full", "full_flag", is_flag=True, help="Shorthand for --mode full.")
@click.option("--ids", default=None, metavar="FIRST-LAST", help="Crawl these post IDs (implies --mode ids), e.g. 3000-3900.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only posts published on or after this day (UTC+8).")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only posts published on or before this day (UTC+8).")
@click.option("--max-pages", type=click.IntRange(min=1), default=None, help="Follow at most N pages of each list.")
@click.option("--refresh", is_flag=True, help="Re-fetch stored posts; write only those whose text changed.")
@click.option("--proxy", default=None, metavar="URL", help="HTTP proxy for every request (default: $http_proxy).")
@click.option("--delay", type=float, default=None, help="Seconds between requests to one host (default 1).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Parallel requests per host (default 2).")
@click.option("--autothrottle/--no-autothrottle", default=None, help="Adapt the delay to server latency (default on).")
@click.option("--max-errors", type=click.IntRange(min=0), default=None, help="Stop and exit 1 after more than N errors (0: no limit).")
@click.option("--max-failed", default=None, metavar="N|P%", help="Posts that may remain failed before the run exits 3 (default 0).")
@click.option("--revisit-days", type=click.IntRange(min=0, max=3650), default=None, metavar="N",
              help="Incremental runs re-fetch posts published in the last N days, for edits (default 7; 0: off).")
@click.option("--revisit-sample", type=click.IntRange(min=0), default=None, metavar="K",
              help="Also re-fetch the K stored posts checked longest ago (default 0).")
@click.option("--no-archive", "archive", flag_value=False, default=None, help="Do not keep raw responses in <out>/warc/.")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Any Scrapy or PARKCORPUS_* setting.")
@click.option("--progress/--no-progress", default=None, help="Progress display (default: on a terminal only).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Only errors.")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, help="Append the crawl log (INFO and up) to this file.")
@click.option("--no-lock", "no_lock", is_flag=True,
              help="Take no dataset lock (only for jobs that write disjoint files, e.g. cluster shards).")
@json_option("Print the run summary as JSON (for cron).")
@click.pass_context
@handle_errors
def crawl_cmd(ctx, sites, all_sites, out, mode, full_flag, ids, since, until, max_pages, refresh, proxy,
              delay, concurrency, autothrottle, max_errors, max_failed, revisit_days, revisit_sample, archive,
              settings, progress, verbose, quiet, log_file, no_lock, as_json) -> None:
    """Crawl subsites of the network into the Parquet dataset (default: jinshan.021cf.cn).

    SITES are host names or short names from `parkcorpus sites`; an unregistered host that runs
    Z-BlogPHP is crawled with a warning. The dataset is the crawl state: a second run fetches only
    what is new. Exit code 0 on success, 3 when posts remain failed (beyond --max-failed; the next
    runs retry them first), 1 when a site is down, errors exceed --max-errors or the run was
    interrupted, 2 on bad usage. One run per --out folder at a time (locked).

    \b
    Example:
        parkcorpus crawl                               # jinshan.021cf.cn into ./data
        parkcorpus crawl laian.021cf.cn --since 2026-01-01
        parkcorpus crawl jinshan --ids 3000-3900 --json
        parkcorpus crawl --all --out /srv/corpus -q --json --log-file crawl.log
        parkcorpus crawl --all --out s3://park-lab/corpus     # AWS_* variables: docs/storage.md
    """
    from crawler import api

    if full_flag:
        if mode not in (None, "full"):
            raise click.BadParameter("--full contradicts --mode " + mode, param_hint="--full")
        mode = "full"
    with _summary_on_error(as_json):
        summary = api.crawl(
            sites, config_path=ctx.obj.get("config"), all_sites=all_sites, out=out, mode=mode, ids=ids,
            since=since, until=until, max_pages=max_pages, refresh=refresh, proxy=proxy, delay=delay,
            concurrency=concurrency, autothrottle=autothrottle, max_errors=max_errors, archive=archive,
            max_failed=max_failed, revisit_days=revisit_days, revisit_sample=revisit_sample,
            settings=list(settings), progress=progress, verbosity=_verbosity(ctx, verbose, quiet),
            log_file=log_file or ctx.obj.get("log_file"), use_lock=not no_lock,
            on_warning=lambda msg: _verbosity(ctx, verbose, quiet) >= 0 and click.echo(f"Warning: {msg}", err=True),
        )
    if as_json:
        echo_json(summary)
    elif _verbosity(ctx, verbose, quiet) >= 0:
        click.echo(_format_summary(summary))
    _exit_like(summary, "the crawl failed")


@contextlib.contextmanager
def _summary_on_error(as_json: bool):
    """A run that failed before crawling (locked, proxy down, unwritable) still prints its summary."""
    try:
        yield
    except errors.ParkcorpusError as exc:
        if as_json and isinstance(getattr(exc, "summary", None), dict):
            echo_json(exc.summary)
        raise


def _exit_like(summary: dict, what: str) -> None:
    """Exit with the summary's exit code: 1 failed/interrupted, 3 posts left failed, else 0."""
    code = int(summary.get("exit_code") or 0)
    if code == 0:
        return
    if summary.get("status") == "partial":
        n = summary.get("failed_posts", len(summary.get("failed_urls") or []))
        raise ParkcorpusClickError(f"{n} posts remain failed (listed in failed_urls; the next run "
                                   "retries them first)", code)
    raise ParkcorpusClickError(summary.get("error") or what, code)


@main.command("demo")
@out_option(default="data", help="Dataset folder to write.")
@click.option("--posts", type=click.IntRange(min=1, max=100_000), default=150, show_default=True, help="Posts per replica subsite.")
@click.option("--sites", "n_sites", type=click.IntRange(min=1, max=6), default=2, show_default=True, help="Replica subsites to crawl.")
@click.option("--progress/--no-progress", default=None, help="Progress display (default: on a terminal only).")
@click.option("--max-failed", default=None, metavar="N|P%", help="Posts that may remain failed before exit 3 (default 0).")
@json_option("Print the run summary as JSON.")
@click.pass_context
@handle_errors
def demo_cmd(ctx, out, posts, n_sites, progress, max_failed, as_json) -> None:
    """Crawl the bundled offline replica of the network into ./data.

    The replica runs on a free loopback port and answers as an HTTP proxy for the real host
    names; the crawl uses the same spider, pipelines and settings as `parkcorpus crawl`, with only
    the politeness delays relaxed (robots.txt is still obeyed).

    \b
    Example:
        parkcorpus demo
        parkcorpus demo --out /tmp/demo --posts 50 --sites 3 --json
    """
    from crawler import api

    with _summary_on_error(as_json):
        summary = api.demo(out=out, posts=posts, sites=n_sites, config_path=ctx.obj.get("config"),
                           progress=progress, verbosity=(ctx.obj or {}).get("verbosity", 0),
                           max_failed=max_failed)
    if as_json:
        echo_json(summary)
    else:
        d = summary["demo"]
        click.echo(f"Crawled the replica into {summary['out']} in {summary.get('duration_s')} s "
                   f"({summary['pages_fetched']} pages):")
        for host, n in d["rows_per_site"].items():
            click.echo(f"  {host:<24} {n:>6} articles (of {d['generated_per_site'].get(host, '?')} generated)")
        click.echo(f"  {len(summary.get('output_files', []))} files, e.g. "
                   + ", ".join(summary.get("output_files", [])[:2]))
        if d.get("sample_title"):
            click.echo(f"  sample title: {d['sample_title']}")
        click.echo("Open it with:")
        for tool, line in d["open_with"].items():
            click.echo(f"  {tool + ':':<8} {line}")
        missing = [tool for tool in d["open_with"] if tool in ("duckdb", "polars") and not _importable(tool)]
        if missing:
            click.echo(f"  ({' and '.join(missing)} not installed: pip install -e '.[analysis]')")
    _exit_like(summary, "the demo crawl failed")


def _importable(module: str) -> bool:
    """Whether a module can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --- the corpus on disk: validate, compact, export, reextract ----------------------------------


@main.command("validate")
@out_option()
@click.option("--repair", is_flag=True,
              help="Move bad files to <out>/quarantine/, delete temporary files, fold duplicate rows, "
                   "and list the posts the next crawl fetches again. Not while a crawl writes.")
@json_option("Print the findings as JSON.")
@click.pass_context
@handle_errors
def validate_cmd(ctx: click.Context, out, repair: bool, as_json: bool) -> None:
    """Check every file of a dataset: footer, schema, partition, duplicates, leftovers.

    Exits 1 naming each bad file. Temporary files left by a killed run and
    bodies with known boilerplate are warnings (exit 0).

    \b
    Example:
        parkcorpus validate --out data
        parkcorpus validate --out data --repair && parkcorpus crawl --out data
    """
    from crawler import api

    report = api.validate(out=out, repair=repair, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(report.to_dict())
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        raise errors.DatasetError(
            f"{len(report.bad_files)} bad files in {report.out}: {', '.join(report.bad_files)}; "
            "run `parkcorpus validate --repair`"
        )


@main.command("compact")
@out_option()
@click.option("--keep-history", is_flag=True, help="Keep old versions of changed articles (only merge files).")
@click.option("--site", "sites", multiple=True, metavar="HOST", help="Only this site's partitions (repeatable).")
@click.option("--partition", default=None, metavar="site=H/year=Y/month=M",
              help="Only this partition (or a prefix of it), e.g. to run several compactions in parallel.")
@json_option("Print the summary as JSON.")
@click.pass_context
@handle_errors
def compact_cmd(ctx: click.Context, out, keep_history: bool, sites, partition, as_json: bool) -> None:
    """Rewrite each partition into few files and fold old article versions.

    Safe while notebooks read the dataset: each partition is swapped in one
    atomic step. Without --keep-history only the newest version of each post stays.

    \b
    Example:
        parkcorpus compact --out data
        parkcorpus compact --site jinshan.021cf.cn --keep-history
    """
    from crawler import api

    s = api.compact(out=out, keep_history=keep_history, site=list(sites) or None, partition=partition,
                    config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(s)
        return
    click.echo(f"Compacted {s['partitions']} partitions: {s['files_before']} -> {s['files_after']} files, "
               f"{s['rows_before']} -> {s['rows_after']} rows ({s['versions_folded']} old versions folded, "
               f"{s['duplicates_removed']} duplicates removed)")
    click.echo(f"Links: {s['link_files_before']} -> {s['link_files_after']} files, "
               f"{s['link_rows_removed']} rows removed")


@main.command("export")
@click.option("--to", "to", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write, or - for stdout (jsonl/csv).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="Output format (default: from the --to suffix, else jsonl).")
@click.option("--site", "sites", multiple=True, metavar="HOST", help="Only this site (repeatable).")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only posts published on or after this day (UTC).")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only posts published on or before this day (UTC).")
@click.option("--category", "categories", multiple=True, help="Only this category name (repeatable).")
@click.option("--history", is_flag=True, help="Every stored version, not only the newest per post.")
@click.option("--table", "table", type=click.Choice(["articles", "parcels", "listings"]), default="articles",
              show_default=True, help="The dataset to export: articles, or the land parcels / property listings "
                                      "of the current article versions (--since/--until: deal date, else published).")
@click.option("--region", "regions", multiple=True, metavar="CODE|NAME",
              help="Only subsites of this county: a GB/T 2260 code (310116, 310000) or a name (金山区) (repeatable).")
@click.option("--dedup", is_flag=True, help="One post per syndicated story (the earliest), see duplicates/.")
@out_option()
@click.pass_context
@handle_errors
def export_cmd(ctx: click.Context, to, fmt, sites, since, until, categories, history: bool, table, regions,
               dedup: bool, out) -> None:
    """Export articles (or parcels, listings) as JSON Lines, CSV or one Parquet file.

    Streams batch by batch, so any corpus size fits in memory. CSV cells of
    list columns (tags, related) hold JSON.

    \b
    Example:
        parkcorpus export --to corpus.jsonl
        parkcorpus export --to jinshan-2024.csv --site jinshan.021cf.cn --since 2024-01-01 --until 2024-12-31
        parkcorpus export --table parcels --to deals.csv
        parkcorpus export --to shanghai.jsonl --region 310000 --dedup
    """
    from crawler import api

    s = api.export(out=out, to=to, fmt=fmt, site=list(sites) or None, since=since, until=until,
                   category=list(categories) or None, history=history, config_path=ctx.obj.get("config"),
                   table=table, region=list(regions) or None, dedup=dedup)
    click.echo(f"Exported {s['rows']} {table} to {s['to']} ({s['format']})", err=(to == "-"))


@main.command("search")
@click.argument("query")
@out_option()
@click.option("--site", "sites", multiple=True, metavar="HOST", help="Only this site (repeatable).")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only posts published on or after this day (China time).")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only posts published on or before this day (China time).")
@click.option("--doc-type", "doc_types", multiple=True, metavar="TYPE", help="Only this doc_type (repeatable).")
@click.option("--limit", default=20, show_default=True, type=int, help="At most this many results.")
@json_option("Print the results as JSON.")
@click.pass_context
@handle_errors
def search_cmd(ctx: click.Context, query, out, sites, since, until, doc_types, limit: int, as_json: bool) -> None:
    """Find the posts whose title or text contains QUERY, newest first.

    Matches the phrase exactly after the text's normalisation (Traditional ->
    Simplified, full-width -> half-width). The index under <out>/index/ is
    updated by every crawl and built on first use.

    \b
    Example:
        parkcorpus search 枫泾镇
        parkcorpus search "上海中晟环保科技有限公司" --site jinshan.021cf.cn --since 2026-01-01 --json
    """
    from crawler import api

    hits = api.search(query, out=out, site=list(sites) or None, since=since, until=until,
                      doc_type=list(doc_types) or None, limit=limit, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json([{**h, "published": h["published"].isoformat() if h["published"] else None} for h in hits])
        return
    from crawler.clock import SITE_TZ

    for h in hits:
        day = h["published"].astimezone(SITE_TZ).strftime("%Y-%m-%d") if h["published"] else "undated   "
        click.echo(f"{day}  {h['site']}/{h['post_id']}  {h['title']}")
        click.echo(f"    {h['snippet']}")
        click.echo(f"    {h['url']}")
    click.echo(f"{len(hits)} result{'s' if len(hits) != 1 else ''} for {query!r}", err=True)


@main.command("duplicates")
@out_option()
@click.option("--site", "sites", multiple=True, metavar="HOST", help="Only groups with a post on this site (repeatable).")
@click.option("--min-size", default=2, show_default=True, type=int, help="Only groups of at least this many posts.")
@click.option("--limit", default=20, show_default=True, type=int, help="At most this many groups.")
@json_option("Print the groups as JSON.")
@click.pass_context
@handle_errors
def duplicates_cmd(ctx: click.Context, out, sites, min_size: int, limit: int, as_json: bool) -> None:
    """List the stories reposted across subsites, biggest group first.

    Each crawl groups near-identical posts (MinHash, then exact Jaccard and a
    check that their numbers agree) into <out>/duplicates/. A group is listed
    with its first post (the earliest) and the copies, with how much of the
    first post's text each shares.

    \b
    Example:
        parkcorpus duplicates
        parkcorpus duplicates --site laian.021cf.cn --min-size 3 --json
    """
    from crawler import api
    from crawler.clock import SITE_TZ

    groups = api.duplicates(out=out, site=list(sites) or None, min_size=min_size, limit=limit,
                            config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(groups)
        return

    def day(post):
        return post["published"].astimezone(SITE_TZ).strftime("%Y-%m-%d") if post["published"] else "undated   "

    for g in groups:
        first = g["first"]
        click.echo(f"{g['size']} posts on {len(g['sites'])} site{'s' if len(g['sites']) != 1 else ''}: "
                   f"{first['title'] or first['url']}")
        click.echo(f"    {day(first)}  first   {first['url']}")
        for c in g["copies"]:
            click.echo(f"    {day(c)}  {c['similarity']:.2f}    {c['url']}")
    click.echo(f"{len(groups)} group{'s' if len(groups) != 1 else ''} listed", err=True)


@main.command("reextract")
@out_option()
@click.option("--to", "to", default=None, type=click.Path(file_okay=False),
              help="Write into this dataset folder instead of --out (a fresh rebuild).")
@click.option("--convert", type=click.Choice(["t2s", "s2t", "t2tw", "none"]), default=None,
              help="OpenCC conversion (default: from the config, t2s).")
@jobs_option()
@json_option("Print the run summary as JSON.")
@click.pass_context
@handle_errors
def reextract_cmd(ctx: click.Context, out, to, convert, jobs, as_json: bool) -> None:
    """Rebuild articles and links from the raw WARC archive, with no network.

    Applies the current extraction rules to every archived response under
    <out>/warc/ as a new run: articles whose text changes get a new version.

    \b
    Example:
        parkcorpus reextract --out data
        parkcorpus reextract --out data --to rebuilt --convert none
        parkcorpus reextract --out data --jobs 2
    """
    from crawler import api

    s = api.reextract(out=out, to=to, convert=convert, config_path=ctx.obj.get("config"), jobs=jobs)
    if as_json:
        echo_json(s)
        return
    a = s["articles"]
    click.echo(f"Re-extracted {s['responses']} archived responses from {len(s['warc_files'])} WARC files "
               f"into {s['out']} (run {s['run_id']}): {a['new']} new, {a['changed']} changed, "
               f"{a['unchanged']} unchanged, {s['not_article']} not articles"
               + (f", {s['failed']} failed (see --json failed_urls)" if s.get("failed") else ""))


@main.command("facts")
@out_option()
@click.option("--site", "sites", multiple=True, metavar="HOST", help="Only this site (repeatable).")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes (0: every core).")
@json_option("Print the run summary as JSON.")
@click.pass_context
@handle_errors
def facts_cmd(ctx: click.Context, out, sites, jobs: int, as_json: bool) -> None:
    """Rebuild the parcels and listings datasets from the stored articles.

    Reads each article's stored text and tables (no network, no HTML) and
    replaces <out>/parcels/ and <out>/listings/ with the facts of the current
    versions, as a run of kind facts.

    \b
    Example:
        parkcorpus facts --out data
        parkcorpus facts --out data --site jinshan.021cf.cn --jobs 2 --json
    """
    from crawler import api

    s = api.facts(out=out, site=list(sites) or None, jobs=jobs, config_path=ctx.obj.get("config"))
    if as_json:
        echo_json(s)
        return
    click.echo(f"Derived facts of {s['articles']} articles in {len(s['by_site'])} sites (run {s['run_id']}): "
               f"{s['parcels']} parcels, {s['listings']} listings, {s['warnings']} unreadable tables")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
