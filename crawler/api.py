"""The functions `cli.py` calls, and the small Python API for notebooks.

Imports are lazy so that importing this module (and running `parkcorpus --help`) stays fast.
"""

from __future__ import annotations

from typing import Any


def extract_html(html: bytes, url: str, **kwargs: Any) -> dict:
    """Extract one article record from the HTML of a post page (pure; see crawler.extract)."""
    from crawler.extract import extract_html as _extract

    return _extract(html, url, **kwargs)


def extract_files(paths, url=None, fetched_at=None, server_date=None, convert=None, swaps=None,
                  mask_phones=None, config_path=None, charset=None) -> list[dict]:
    """Extract saved pages (files or folders); [{"file", "record"} | {"file", "error"}] (see crawler.extract)."""
    from crawler.extract import extract_files as _extract_files
    from crawler.normalize import ExtractOptions

    cfg = load_config(config_path, convert=convert, swaps=swaps, mask_phones=mask_phones)
    options = ExtractOptions(convert=cfg.get("convert"), swaps=cfg.get("swaps"), mask_phones=cfg.get("mask_phones"))
    return _extract_files(paths, url=url, fetched_at=fetched_at, server_date=server_date, options=options,
                          charset=charset)


def load(out: str = "data", site=None, since=None, until=None, columns=None, history: bool = False,
         category=None, table: str = "articles", region=None, dedup: bool = False):
    """The newest version of every stored article (or its parcels/listings rows) as a pandas DataFrame.

    table="parcels" or "listings": the fact rows of the current article versions; since/until
    select by deal_date when stated, else by the post's publication day; category is for articles.
    region: a county's code or name; dedup: one post per syndicated story (the earliest).
    """
    from crawler.store import load as _load

    if table != "articles":
        from crawler.errors import UsageError
        from crawler.store import load_facts

        if category is not None or region is not None or dedup:
            raise UsageError("category, region and dedup select articles only")
        return load_facts(out, table, site=site, since=since, until=until, columns=columns, history=history)
    return _load(out, site=site, since=since, until=until, columns=columns, history=history,
                 category=category, region=region, dedup=dedup)


def load_config(config_path=None, **overrides: Any):
    """The effective Config: defaults < parkcorpus.toml (or config_path) < PARKCORPUS_* < overrides."""
    from crawler.config import load_config as _load_config

    return _load_config(config_path, overrides=overrides)


def config_info(config_path=None) -> dict:
    """What `parkcorpus config` prints: the file read and every setting with value and source."""
    cfg = load_config(config_path)
    return {"file": str(cfg.path) if cfg.path else None, "settings": cfg.describe()}


def sites(out=None, config_path=None) -> list[dict]:
    """Registered subsites with posts stored, newest post and last crawl in the dataset at out."""
    from crawler.stats import sites_overview

    return sites_overview(load_config(config_path, out=out).get("out"))


def stats(out=None, config_path=None) -> dict:
    """Corpus statistics and extraction health of the dataset at out (see crawler.stats)."""
    from crawler.stats import corpus_stats

    return corpus_stats(load_config(config_path, out=out).get("out"))


def report(out=None, to="report.html", png_dir=None, config_path=None) -> dict:
    """Write the self-contained HTML report (and PNGs) for the dataset at out; returns what was written."""
    from crawler.report import build_report

    return build_report(load_config(config_path, out=out).get("out"), to=to, png_dir=png_dir)


def _cluster_config(config_path, sites=(), nodes=(), shard_size=None, proxy=None, out=None):
    """The effective sites, nodes, shard size, proxy and out for a cluster command."""
    cfg = load_config(
        config_path,
        **{
            "sites": list(sites) or None,
            "cluster.nodes": list(nodes) or None,
            "cluster.shard_size": shard_size,
            "proxy": proxy,
            "out": out,
        },
    )
    return cfg


def cluster_plan(sites=(), nodes=(), shard_size=None, proxy=None, newest=None, config_path=None) -> list[dict]:
    """Shards for crawling sites over Scrapyd nodes (see crawler.cluster.plan), as dicts."""
    from crawler import cluster

    cfg = _cluster_config(config_path, sites, nodes, shard_size, proxy)
    shards = cluster.plan(cfg.get("sites"), cfg.get("cluster.nodes"), cfg.get("cluster.shard_size"),
                          known_sizes=newest, proxy=cfg.get("proxy") or None)
    return [s.to_dict() for s in shards]


def cluster_run(sites=(), nodes=(), out=None, shard_size=None, proxy=None, settings=None, retries=2,
                newest=None, project=None, per_site=1, config_path=None, on_event=None, use_lock=True) -> dict:
    """Plan, run the shards on Scrapyd nodes, retry failures elsewhere, validate out; the summary."""
    from crawler import cluster

    cfg = _cluster_config(config_path, sites, nodes, shard_size, proxy, out)
    node_urls = cfg.get("cluster.nodes")
    shards = cluster.plan(cfg.get("sites"), node_urls, cfg.get("cluster.shard_size"),
                          known_sizes=newest, proxy=cfg.get("proxy") or None)
    return cluster.run(shards, cfg.get("out"), node_urls, project=project, settings=settings,
                       proxy=cfg.get("proxy") or None, retries=retries, per_site=per_site, on_event=on_event,
                       use_lock=use_lock)


def cluster_status(nodes=(), project=None, config_path=None) -> list[dict]:
    """Reachability, job counts and current jobs of each Scrapyd node."""
    from crawler import cluster

    return cluster.status(_cluster_config(config_path, nodes=nodes).get("cluster.nodes"), project=project)


def crawl(sites=(), config_path=None, **kwargs: Any) -> dict:
    """Crawl subsites in a subprocess (see crawler.crawl.crawl); returns the run summary."""
    from crawler.config import check_crawl_settings, check_day_bounds
    from crawler.crawl import _parse_settings
    from crawler.crawl import crawl as _crawl

    # checked here, in the parent, so a bad value is one Error line instead of a dead crawl process
    if kwargs.get("settings"):
        kwargs["settings"] = check_crawl_settings(_parse_settings(kwargs["settings"]))
    check_day_bounds(kwargs.get("since"), "--since")
    check_day_bounds(kwargs.get("until"), "--until")
    return _crawl(list(sites) or None, config_path=config_path, **kwargs)


def demo(out: str = "data", posts: int = 150, sites: int = 2, config_path=None, **kwargs: Any) -> dict:
    """Serve the offline replica on loopback and crawl it with the real crawl code; the summary."""
    from crawler.crawl import demo as _demo

    return _demo(out=out, posts=posts, sites=sites, config_path=config_path, **kwargs)


# --- the corpus on disk (crawler.store, crawler.validate, crawler.export, crawler.archive) -------


def _out(out, config_path=None) -> str:
    """out, or the configured output folder when out is None."""
    return out if out is not None else load_config(config_path, out=out).get("out")


def validate(out=None, repair: bool = False, config_path=None):
    """Check every file of the dataset (and with repair, quarantine bad ones); a ValidationReport."""
    from crawler.validate import validate as _validate

    return _validate(_out(out, config_path), repair=repair)


def compact(out=None, keep_history: bool = False, site=None, partition=None, config_path=None) -> dict:
    """Rewrite partitions into few files, folding old versions unless keep_history; a summary."""
    from crawler.store import compact as _compact

    return _compact(_out(out, config_path), keep_history=keep_history, site=site, partition=partition)


def export(out=None, to="-", fmt=None, site=None, since=None, until=None, category=None,
           history: bool = False, config_path=None, table: str = "articles", region=None,
           dedup: bool = False) -> dict:
    """Stream the newest article versions (or parcels/listings rows) to JSON Lines, CSV or Parquet; a summary."""
    from crawler.config import check_day_bounds
    from crawler.export import export as _export

    check_day_bounds(since, "--since")
    check_day_bounds(until, "--until")
    return _export(_out(out, config_path), to, fmt=fmt, site=site, since=since, until=until,
                   category=category, history=history, table=table, region=region, dedup=dedup)


def reextract(out=None, to=None, convert=None, config_path=None, jobs=None) -> dict:
    """Rebuild articles and links from the WARC archive alone (no network) as a new run; the summary.

    jobs: extraction processes (None: the `workers` setting; 0: one per core; 1: this process).
    """
    from crawler.archive import reextract as _reextract
    from crawler.normalize import ExtractOptions

    from crawler.safefile import check_output_target

    cfg = load_config(config_path, out=out, convert=convert, workers=jobs)
    if to is not None and not str(to).startswith("s3://"):  # a rebuild nested in its source would be read as part of it
        check_output_target(to, cfg.get("out"), folder=True)
    options = ExtractOptions(convert=cfg.get("convert"), swaps=cfg.get("swaps"), mask_phones=cfg.get("mask_phones"))
    return _reextract(cfg.get("out"), options=options, to=to, jobs=cfg.get("workers"))


def changes(out=None, since=None, site=None, config_path=None) -> list[dict]:
    """What changed between stored versions of each post, field by field (crawler.changes)."""
    from crawler.changes import COLUMNS
    from crawler.changes import changes as _changes
    from crawler.changes import since_instant
    from crawler.store import load as _load

    start = since_instant(since)  # a bad date is a UsageError before anything is read
    versions = _load(_out(out, config_path), site=site, columns=list(COLUMNS), history=True)
    return _changes(versions, since=start, site=site)


def facts(out=None, site=None, jobs: int | None = 1, config_path=None) -> dict:
    """Rebuild the parcels and listings datasets from the stored articles (no network); the summary."""
    from crawler.factsrun import rebuild_facts

    return rebuild_facts(_out(out, config_path), site=site, jobs=jobs)


def list_runs(out=None, config_path=None) -> list[dict]:
    """The run manifests of the dataset, oldest first."""
    from crawler.store import list_runs as _list_runs

    return _list_runs(_out(out, config_path))


def search(query: str, out=None, site=None, since=None, until=None, doc_type=None, limit: int = 20,
           config_path=None) -> list[dict]:
    """Posts whose current title or text contains `query`, newest first: [{url, site, post_id, title,
    published, doc_type, snippet}] (crawler.search; the index under <out>/index/ is built on first use)."""
    from crawler import search as _search
    from crawler.config import check_day_bounds
    from crawler.dedup import is_local
    from crawler.errors import DatasetError, UsageError
    from crawler.items import ARTICLE_SCHEMA

    out = _out(out, config_path)
    _search.normalize_query(query)  # an empty or punctuation-only query: one Error line, nothing opened
    check_day_bounds(since, "--since")
    check_day_bounds(until, "--until")
    if int(limit) < 1:
        raise UsageError(f"--limit must be at least 1 (got {limit})")
    if doc_type and "doc_type" not in ARTICLE_SCHEMA.names:
        raise UsageError("--doc-type needs the articles' doc_type column, which this version does not write")
    if not is_local(out):
        raise DatasetError(f"search needs a local dataset: the index lives beside the data, and {out} is "
                           "remote (copy or export the dataset to a local folder first)")
    return _search.search(out, query, site=site, since=since, until=until, doc_type=doc_type, limit=int(limit))


def duplicates(out=None, site=None, min_size: int = 2, limit: int | None = None, config_path=None) -> list[dict]:
    """The syndication groups (one story reposted across subsites), biggest first: crawler.dedup.story_groups."""
    from crawler.dedup import is_local, story_groups
    from crawler.errors import DatasetError, UsageError
    from crawler.store import check_sites, ensure_dataset

    out = _out(out, config_path)
    if int(min_size) < 2:
        raise UsageError(f"--min-size must be at least 2 (got {min_size}): a group holds a post and a copy")
    if limit is not None and int(limit) < 1:
        raise UsageError(f"--limit must be at least 1 (got {limit})")
    if not is_local(out):
        raise DatasetError(f"duplicate groups are kept for local datasets only, and {out} is remote "
                           "(copy the dataset to a local folder and run `parkcorpus reextract` there)")
    ensure_dataset(out, create=False)
    check_sites(out, site)
    groups = story_groups(out, site=site, min_size=int(min_size))
    return groups if limit is None else groups[:int(limit)]
