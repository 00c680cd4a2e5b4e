"""Corpus statistics and extraction health of a parkcorpus dataset (what `stats`, `sites`, `report` show).

Everything is computed from the files alone, reading only the columns each figure needs, on the
newest version of every post (``crawler.store.load``).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from crawler.clock import SITE_TZ
from crawler.errors import DatasetError

logger = logging.getLogger(__name__)

#: A body shorter than this (characters, whitespace excluded) is flagged: the shortest real
#: one-image posts of the network still carry a caption and a sentence of ~40 characters.
SHORT_BODY_CHARS = 40

#: Bins of the body-length histogram (characters); the network's posts run from a caption to
#: ~20,000 characters for the long policy documents.
LENGTH_BINS = (0, 1, 40, 200, 500, 1000, 2000, 5000, 10000, 20000)

#: Tags shown in the top-tags list.
TOP_TAGS = 30

#: Columns the statistics need (text only for the health checks).
STAT_COLUMNS = [
    "site", "post_id", "url", "title", "text", "published", "published_precision",
    "category", "tags", "char_count", "fetched_at", "run_id",
]


def check_dataset(out: str | Path) -> Path:
    """out as a Path when it holds a parkcorpus dataset; DatasetError saying what to do otherwise."""
    from crawler.store import ARTICLES, as_path, ensure_dataset, is_dataset

    path = as_path(out)
    if not isinstance(path, Path):  # an object store: probe it and read the marker
        return ensure_dataset(path, create=False)
    if not path.exists():
        raise DatasetError(
            f"output folder {out} does not exist; crawl into it first "
            f"(parkcorpus demo --out {out}) or pass --out DIR"
        )
    if not path.is_dir():
        raise DatasetError(f"{out} is not a folder; pass --out with a parkcorpus output folder")
    if not is_dataset(path) and not (path / ARTICLES).is_dir():
        raise DatasetError(
            f"{out} is not a parkcorpus dataset (no parkcorpus.json or articles/ inside); "
            "pass --out with the folder a crawl wrote"
        )
    return path


def read_articles(out: str | Path, columns: list[str] | None = None):
    """Newest version of every stored post as a pandas DataFrame (only `columns`)."""
    from crawler.store import load

    path = check_dataset(out)
    return load(str(path), columns=columns or STAT_COLUMNS)


def read_runs(out: str | Path) -> list[dict[str, Any]]:
    """The run manifests under <out>/runs/, oldest first (crawler.store.list_runs)."""
    from crawler.store import list_runs

    return list_runs(out)


def _hosts(sites) -> list[str]:
    """Host names of a manifest's `sites` (a list of per-site rows, or of host names)."""
    return [s.get("host") if isinstance(s, dict) else s for s in (sites or []) if s]


def boilerplate_patterns() -> list[tuple[str, Any]]:
    """(name, regex) of the boilerplate lines crawler.rules knows; a body line matching one whole is a leak."""
    from crawler import rules

    return list(rules.CONTACT_LINE_PATTERNS)


def boilerplate_hits(texts, patterns) -> list[list[str]]:
    """For each text, the names of the boilerplate patterns matching one of its lines whole."""
    import re

    if not patterns:
        return [[] for _ in texts]
    # one alternation, one group per pattern: a single regex pass per line instead of one per rule
    combined = re.compile("|".join(f"({p.pattern})" for _name, p in patterns))
    starts, g = [], 1
    for _name, p in patterns:
        starts.append(g)
        g += 1 + re.compile(p.pattern).groups
    names = {start: name for start, (name, _p) in zip(starts, patterns)}
    out = []
    for t in texts:
        found: list[str] = []
        for line in (t or "").split("\n"):
            m = combined.fullmatch(line.strip())
            if m:
                name = next(names[s] for s in starts if m.group(s) is not None)
                if name not in found:
                    found.append(name)
        out.append(found)
    return out


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def traditional_left(texts) -> tuple[int, dict[str, int]]:
    """(rows whose text OpenCC t2s would change, count of each character it changes).

    Converting only the distinct characters first keeps this fast on a large corpus; a row is then
    converted whole only when it holds one of them (t2s phrase rules need a changed character).
    """
    cc = _t2s()
    seen: set[str] = set()
    for t in texts:
        if t:
            seen.update(t)
    trad = {c for c in seen if ord(c) > 0x2E80 and cc.convert(c) != c}
    rows, chars = 0, {}
    if not trad:
        return 0, {}
    for t in texts:
        if not t:
            continue
        hit = trad.intersection(t)
        if hit and cc.convert(t) != t:
            rows += 1
            for c in hit:
                chars[c] = chars.get(c, 0) + t.count(c)
    return rows, dict(sorted(chars.items(), key=lambda kv: -kv[1]))


def _len_series(df):
    if "char_count" in df and df["char_count"].notna().all():
        return df["char_count"].astype("int64")
    return df["text"].fillna("").str.replace(r"\s", "", regex=True).str.len().astype("int64")


def _empty(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The statistics of a dataset without articles (same keys as compute's)."""
    return {
        "articles": 0, "sites": [], "by_site_month": [], "categories": [],
        "tags": {"distinct": 0, "per_article_mean": 0.0, "articles_without_tags": 0, "top": []},
        "body_length": {"min": None, "p10": None, "p25": None, "median": None, "p75": None, "p90": None,
                        "max": None, "mean": None,
                        "histogram": [{"from": a, "to": b, "articles": 0}
                                      for a, b in zip(LENGTH_BINS, list(LENGTH_BINS[1:]) + [None])]},
        "date_precision": {},
        "health": {"articles": 0, "empty_bodies": 0, "short_bodies": 0, "short_threshold_chars": SHORT_BODY_CHARS,
                   "boilerplate_rows": 0, "boilerplate_patterns": {}, "boilerplate_examples": [],
                   "traditional_rows": 0, "traditional_chars": {}, "undated": 0,
                   "empty_examples": [], "short_examples": []},
        "runs": [_run_summary(r) for r in runs],
    }


def compute(df, runs: list[dict[str, Any]] | None = None, patterns=()) -> dict[str, Any]:
    """Statistics of an articles DataFrame (columns of STAT_COLUMNS); pure, for tests and reports."""
    import numpy as np
    import pandas as pd

    runs = runs or []
    n = int(len(df))
    if not n:
        return _empty(runs)
    lengths = _len_series(df)
    published = pd.to_datetime(df["published"], utc=True)
    # a month is a China month, as the partitions and every --since/--until day (crawler.clock)
    month = published.dt.tz_convert(SITE_TZ.key).dt.strftime("%Y-%m").fillna("undated")

    by_site = (
        df.assign(_n=1).groupby("site")
        .agg(articles=("_n", "size"), newest=("published", "max"), oldest=("published", "min"),
             last_fetched=("fetched_at", "max"))
        .reset_index()
    )
    sites = [
        {"site": r.site, "articles": int(r.articles), "oldest": _iso(r.oldest), "newest": _iso(r.newest),
         "last_fetched": _iso(r.last_fetched)}
        for r in by_site.itertuples()
    ]

    sm = df.assign(month=month.values).groupby(["site", "month"]).size().reset_index(name="articles")
    by_site_month = [{"site": r.site, "month": r.month, "articles": int(r.articles)} for r in sm.itertuples()]

    counts = df.assign(category=df["category"].fillna("(none)")).groupby(["site", "category"]).size()
    counts = counts.reset_index(name="articles")
    counts["share"] = counts["articles"] / counts.groupby("site")["articles"].transform("sum")
    counts = counts.sort_values(["site", "articles"], ascending=[True, False])
    cats = [{"site": r.site, "category": r.category, "articles": int(r.articles),
             "share": round(float(r.share), 4)} for r in counts.itertuples()]

    n_tags = df["tags"].map(lambda t: 0 if t is None else len(t))
    tag_counts = df["tags"].explode().dropna().value_counts()
    tags = {
        "distinct": int(tag_counts.size),
        "per_article_mean": round(float(n_tags.mean()), 2),
        "articles_without_tags": int((n_tags == 0).sum()),
        "top": [{"tag": t, "articles": int(c)} for t, c in tag_counts.head(TOP_TAGS).items()],
    }

    # bin i holds [LENGTH_BINS[i], LENGTH_BINS[i+1]); the last bin is open-ended
    idx = np.searchsorted(np.asarray(LENGTH_BINS), lengths.to_numpy(), side="right") - 1
    hist = np.bincount(idx, minlength=len(LENGTH_BINS))
    edges = list(LENGTH_BINS) + [None]
    body_length = {
        "min": int(lengths.min()),
        "p10": _q(lengths, 0.10), "p25": _q(lengths, 0.25), "median": _q(lengths, 0.5),
        "p75": _q(lengths, 0.75), "p90": _q(lengths, 0.90),
        "max": int(lengths.max()),
        "mean": round(float(lengths.mean()), 1),
        "histogram": [{"from": edges[i], "to": edges[i + 1], "articles": int(c)} for i, c in enumerate(hist)],
    }

    prec = df["published_precision"].fillna("none").value_counts()
    date_precision = {str(k): int(v) for k, v in prec.items()}

    texts = df["text"].fillna("").tolist()
    urls = df["url"].tolist()
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    short = [i for i, L in enumerate(lengths.tolist()) if 0 < L < SHORT_BODY_CHARS]
    leaks: dict[str, int] = {}
    leak_rows = []
    for i, found in enumerate(boilerplate_hits(texts, patterns)):
        if found:
            leak_rows.append({"url": urls[i], "patterns": found})
            for name in found:
                leaks[name] = leaks.get(name, 0) + 1
    trad_rows, trad_chars = traditional_left(texts)
    health = {
        "articles": n,
        "empty_bodies": len(empty),
        "short_bodies": len(short),
        "short_threshold_chars": SHORT_BODY_CHARS,
        "boilerplate_rows": len(leak_rows),
        "boilerplate_patterns": leaks,
        "boilerplate_examples": leak_rows[:10],
        "traditional_rows": trad_rows,
        "traditional_chars": dict(list(trad_chars.items())[:20]),
        "undated": int(published.isna().sum()),
        "empty_examples": [urls[i] for i in empty[:10]],
        "short_examples": [urls[i] for i in short[:10]],
    }

    return {
        "articles": n,
        "sites": sites,
        "by_site_month": by_site_month,
        "categories": cats,
        "tags": tags,
        "body_length": body_length,
        "date_precision": date_precision,
        "health": health,
        "runs": [_run_summary(r) for r in runs],
    }


def _q(series, q: float):
    return int(round(float(series.quantile(q)))) if len(series) else None


def _iso(value) -> str | None:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).isoformat()


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    """The parts of a run manifest that stats and the report show."""
    articles = run.get("articles") if isinstance(run.get("articles"), dict) else {}
    return {
        "run_id": run.get("run_id"),
        "started": run.get("started"),
        "finished": run.get("finished"),
        "mode": run.get("mode"),
        "sites": _hosts(run.get("sites")),
        "status": run.get("status"),
        "new": articles.get("new", run.get("new")),
        "changed": articles.get("changed", run.get("changed")),
        "unchanged": articles.get("unchanged", run.get("unchanged")),
        "outcomes": run.get("outcomes") or {},
    }


def corpus_stats(out: str | Path) -> dict[str, Any]:
    """Statistics and extraction health of the dataset at out, as a JSON-ready dict."""
    df = read_articles(out)
    logger.info("read %d articles from %s", len(df), out)
    runs = read_runs(out)
    result = compute(df, runs, boilerplate_patterns())
    result["health"].update(crawl_health_of(out, runs, sorted(set(df["site"])) if len(df) else []))
    result["facts"] = facts_stats(*read_facts(out))
    result["out"] = str(out)
    result.update(regions_and_duplicates(out))
    return result


def crawl_health_of(out: str | Path, runs: list[dict[str, Any]], sites: list[str]) -> dict[str, Any]:
    """missing_posts, abandoned_posts (+ the abandoned URLs), last_run, sites_not_crawled_since."""
    from crawler.clock import now
    from crawler.debt import FailedPosts
    from crawler.health import crawl_health
    from crawler.store.layout import pull_state, state_dir

    try:
        pull_state(out)
    except Exception as exc:  # noqa: BLE001 - an unreadable ledger must not hide the rest
        logger.warning("cannot read the run state under %s: %s", out, exc)
    debt = FailedPosts(state_dir(out) / "failed")
    try:
        counts = debt.counts()
        abandoned = [e.get("url") or f"{host} post {pid}" for host in debt.sites()
                     for pid, e in debt.entries(host).items() if e.get("abandoned")]
    except Exception as exc:  # noqa: BLE001 - an unreadable ledger must not hide the rest
        logger.warning("cannot read the failed posts: %s", exc)
        counts, abandoned = {}, []
    health = crawl_health(runs, counts, sites, now())
    health["abandoned_urls"] = abandoned
    return health


def regions_and_duplicates(out: str | Path, top: int = 10) -> dict[str, Any]:
    """Articles per county (the subsite's region_code) and the most syndicated stories (duplicates/)."""
    from crawler.dedup import read_duplicates

    df = read_articles(out, ["site", "post_id", "url", "title", "published", "region_code", "region_name"])
    regions = []
    if len(df):
        keyed = df.assign(region_code=df["region_code"].fillna(""), region_name=df["region_name"].fillna(""))
        g = keyed.groupby(["region_code", "region_name"]).agg(articles=("post_id", "size"),
                                                              sites=("site", lambda s: sorted(set(s))))
        for (code, name), r in g.sort_values("articles", ascending=False).iterrows():
            regions.append({"region_code": code or None, "region_name": name or None,
                            "articles": int(r.articles), "sites": r.sites})
    dups = read_duplicates(out).to_pylist()
    titles = {(r.site, int(r.post_id)): (r.title, r.url) for r in df.itertuples()} if len(df) else {}
    groups: dict[str, list] = {}
    for r in dups:
        groups.setdefault(r["dup_group"], []).append(r)
    stories = []
    for gid, members in groups.items():
        first = next((m for m in members if m["dup_of"] is None), members[0])
        title, url = titles.get((first["site"], first["post_id"]), (None, first["url"]))
        stories.append({"dup_group": gid, "title": title, "url": url, "posts": len(members),
                        "sites": sorted({m["site"] for m in members})})
    stories.sort(key=lambda x: (-x["posts"], x["dup_group"]))
    return {"regions": regions,
            "syndication": {"groups": len(groups), "posts_in_groups": len(dups),
                            "copies": len(dups) - len(groups), "top": stories[:top]}}


def sites_overview(out: str | Path) -> dict[str, Any]:
    """Registered subsites (and any other stored site) with posts stored, newest post and last crawl."""
    from crawler.sites import load_registry
    from crawler.store import ARTICLES, as_path, is_dataset

    registry = load_registry()
    path = as_path(out)
    stored: dict[str, dict[str, Any]] = {}
    last_run: dict[str, str] = {}
    have_data = path.is_dir() and (is_dataset(path) or (path / ARTICLES).is_dir())
    if have_data:
        df = read_articles(out, ["site", "post_id", "published", "fetched_at"])
        if len(df):
            g = df.groupby("site").agg(posts=("post_id", "size"), newest=("published", "max"),
                                      last_fetched=("fetched_at", "max"))
            stored = {site: {"posts": int(r.posts), "newest": _iso(r.newest), "last_fetched": _iso(r.last_fetched)}
                      for site, r in g.iterrows()}
        for run in read_runs(out):
            when = run.get("finished") or run.get("started")
            for host in _hosts(run.get("sites")):
                if when and str(when) > last_run.get(host, ""):
                    last_run[host] = str(when)
    rows = []
    hosts = list(registry) + sorted(h for h in stored if h not in registry)
    for host in hosts:
        site = registry.get(host)
        info = stored.get(host, {})
        rows.append({
            "host": host,
            "name": site.name if site else host.split(".")[0],
            "registered": site is not None,
            "title": site.title if site else "",
            "region_code": site.region_code if site else None,
            "region_name": site.region_name if site else None,
            "posts": info.get("posts", 0),
            "newest_post": info.get("newest"),
            "last_crawl": last_run.get(host) or info.get("last_fetched"),
        })
    return {"out": str(out), "dataset": have_data, "sites": rows}


def read_facts(out: str | Path):
    """(articles' site/post_id/published/doc_type, parcels, listings) DataFrames of the current versions."""
    from crawler.store import load, load_facts

    path = check_dataset(out)
    posts = load(str(path), columns=["site", "post_id", "published", "doc_type"])
    return posts, load_facts(str(path), "parcels"), load_facts(str(path), "listings")


def facts_stats(posts, parcels, listings) -> dict[str, Any]:
    """The facts section of stats and report (pure): doc types, deals per month, prices, listings by kind.

    A deal is a parcel of stage ``result``; its month is its deal_date's, else its post's publication
    month (China time). The price per m² is the stated unit price, else deal price / area.
    """
    import pandas as pd

    doc_types = posts["doc_type"].fillna("unknown").value_counts() if len(posts) else pd.Series(dtype=int)
    out: dict[str, Any] = {
        "parcels": int(len(parcels)), "listings": int(len(listings)),
        "doc_types": {str(k): int(v) for k, v in doc_types.items()},
        "deals_per_month": [], "price_m2_by_land_use": [], "listings_by_kind": {},
    }
    if len(parcels):
        deals = parcels[parcels["stage"] == "result"].copy()
        published = posts.set_index(["site", "post_id"])["published"] if len(posts) else pd.Series(dtype=object)
        pub = [published.get((s, p)) for s, p in zip(deals["site"], deals["post_id"])]
        months = []
        for d, when in zip(deals["deal_date"], pub):
            if d is not None and d == d:
                months.append(f"{d.year:04d}-{d.month:02d}")
            elif when is not None and when == when:
                months.append(pd.Timestamp(when).tz_convert(SITE_TZ).strftime("%Y-%m"))
            else:
                months.append("undated")
        deals["month"] = months
        counts = deals.groupby(["site", "month"]).size()
        out["deals_per_month"] = [{"site": s, "month": m, "deals": int(n)} for (s, m), n in counts.items()]
        price = deals["unit_price_yuan_m2"].astype("float64")
        derived = deals["deal_price_yuan"].astype("float64") / deals["area_m2"].astype("float64")
        deals["price_m2"] = price.where(price.notna(), derived)
        priced = deals[deals["price_m2"].notna() & (deals["price_m2"] > 0)]
        for use, grp in priced.groupby(priced["land_use"].fillna("unknown")):
            out["price_m2_by_land_use"].append({"land_use": str(use), "deals": int(len(grp)),
                                                "median_yuan_m2": round(float(grp["price_m2"].median()), 2)})
        out["price_m2_by_land_use"].sort(key=lambda r: -r["deals"])
    if len(listings):
        kinds = listings["kind"].fillna("unknown").value_counts()
        out["listings_by_kind"] = {str(k): int(v) for k, v in kinds.items()}
    return out


def render_text(data: dict[str, Any], width: int = 100) -> str:
    """The stats dict as readable rich tables (plain text when not on a terminal)."""
    import io

    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=False, color_system=None)

    con.print(f"Dataset {data.get('out', '')}: {data['articles']} articles in {len(data['sites'])} sites",
              soft_wrap=True)
    if not data["articles"]:
        con.print(f"No articles stored yet: run `parkcorpus crawl --out {data.get('out', 'DIR')}` first.",
                  soft_wrap=True)
        return buf.getvalue()
    t = Table(title="Sites", title_justify="left")
    for col in ("site", "articles", "oldest", "newest", "last fetched"):
        t.add_column(col, justify="right" if col == "articles" else "left")
    for r in data["sites"]:
        t.add_row(r["site"], str(r["articles"]), (r["oldest"] or "")[:10], (r["newest"] or "")[:10],
                  (r["last_fetched"] or "")[:16])
    con.print(t)

    # one row per site and year, one column per month: years of data stay on one screen
    counts = {(r["site"], r["month"]): r["articles"] for r in data["by_site_month"]}
    t = Table(title="Articles per month", title_justify="left")
    t.add_column("site")
    t.add_column("year")
    for m in range(1, 13):
        t.add_column(f"{m:02d}", justify="right")
    t.add_column("total", justify="right")
    for site in [r["site"] for r in data["sites"]]:
        years = sorted({m[:4] for (s, m) in counts if s == site and m != "undated"})
        for y in years:
            row = [counts.get((site, f"{y}-{m:02d}"), 0) for m in range(1, 13)]
            t.add_row(site, y, *[str(v) if v else "" for v in row], str(sum(row)))
        if (site, "undated") in counts:
            t.add_row(site, "undated", *[""] * 12, str(counts[(site, "undated")]))
    con.print(t)

    t = Table(title="Categories", title_justify="left")
    for col in ("site", "category", "articles", "share"):
        t.add_column(col, justify="right" if col in ("articles", "share") else "left")
    for c in data["categories"]:
        t.add_row(c["site"], c["category"], str(c["articles"]), f"{c['share']:.0%}")
    con.print(t)

    tags = data["tags"]
    con.print(
        f"Tags: {tags['distinct']} distinct, {tags['per_article_mean']} per article, "
        f"{tags['articles_without_tags']} articles without tags; top: "
        + ", ".join(f"{x['tag']} ({x['articles']})" for x in tags["top"][:15])
    )
    bl = data["body_length"]
    if data["articles"]:
        con.print(
            f"Body length (characters): min {bl['min']}, p10 {bl['p10']}, median {bl['median']}, "
            f"p90 {bl['p90']}, max {bl['max']}, mean {bl['mean']}"
        )
    con.print("Date precision: " + ", ".join(f"{k} {v}" for k, v in data["date_precision"].items()))

    if data.get("regions"):
        t = Table(title="Articles per county (the subsite's region)", title_justify="left")
        for col in ("region_code", "county", "articles", "sites"):
            t.add_column(col, justify="right" if col == "articles" else "left")
        for r in data["regions"]:
            t.add_row(r["region_code"] or "unknown", r["region_name"] or "", str(r["articles"]), ", ".join(r["sites"]))
        con.print(t)
    syn = data.get("syndication")
    if syn and syn["groups"]:
        t = Table(title=f"Top syndicated stories ({syn['groups']} stories posted more than once, "
                        f"{syn['copies']} copies)", title_justify="left")
        for col in ("posts", "title", "sites"):
            t.add_column(col, justify="right" if col == "posts" else "left")
        for r in syn["top"]:
            t.add_row(str(r["posts"]), r["title"] or r["url"] or r["dup_group"], ", ".join(r["sites"]))
        con.print(t)

    h = data["health"]
    t = Table(title="Extraction health", title_justify="left")
    t.add_column("check")
    t.add_column("articles", justify="right")
    t.add_column("examples / detail")
    t.add_row("empty bodies", str(h["empty_bodies"]), " ".join(h["empty_examples"][:2]))
    t.add_row(f"short bodies (< {h['short_threshold_chars']} chars)", str(h["short_bodies"]),
              " ".join(h["short_examples"][:2]))
    t.add_row("boilerplate line in body", str(h["boilerplate_rows"]),
              ", ".join(f"{k} {v}" for k, v in h["boilerplate_patterns"].items()))
    t.add_row("Traditional characters left", str(h["traditional_rows"]), "".join(list(h["traditional_chars"])[:20]))
    t.add_row("no publication date", str(h["undated"]), "")
    if "missing_posts" in h:
        t.add_row("posts failed, still retried", str(h["missing_posts"]), "")
        t.add_row("posts abandoned", str(h["abandoned_posts"]), " ".join(h.get("abandoned_urls", [])[:2]))
        last = h.get("last_run") or {}
        t.add_row("last run", str(last.get("status") or "-"), f"{last.get('run_id') or ''} {last.get('finished') or ''}")
    con.print(t)

    f = data.get("facts")
    if f and (f["parcels"] or f["listings"]):
        con.print(f"Facts: {f['parcels']} parcels, {f['listings']} listings; doc types: "
                  + ", ".join(f"{k} {v}" for k, v in f["doc_types"].items()), soft_wrap=True)
        t = Table(title="Land deals per month", title_justify="left")
        for col in ("site", "month", "deals"):
            t.add_column(col, justify="right" if col == "deals" else "left")
        for r in f["deals_per_month"]:
            t.add_row(r["site"], r["month"], str(r["deals"]))
        con.print(t)
        t = Table(title="Median price per m² by land use (deals)", title_justify="left")
        for col in ("land use", "deals", "median yuan/m²"):
            t.add_column(col, justify="left" if col == "land use" else "right")
        for r in f["price_m2_by_land_use"]:
            t.add_row(r["land_use"], str(r["deals"]), f"{r['median_yuan_m2']:,.0f}")
        con.print(t)
        con.print("Listings by kind: " + ", ".join(f"{k} {v}" for k, v in f["listings_by_kind"].items()))

    if data.get("runs"):
        t = Table(title="Crawl runs", title_justify="left")
        for col in ("run", "finished", "mode", "status", "new", "changed", "unchanged"):
            t.add_column(col)
        for r in data["runs"][-10:]:
            t.add_row(*[str(r.get(k) if r.get(k) is not None else "") for k in
                        ("run_id", "finished", "mode", "status", "new", "changed", "unchanged")])
        con.print(t)
    return buf.getvalue()


def render_sites_text(data: dict[str, Any], width: int = 110) -> str:
    """The sites overview as a rich table (plain text when not on a terminal)."""
    import io

    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=False, color_system=None)
    t = Table(title=f"Subsites (dataset: {data['out'] if data['dataset'] else 'none at ' + data['out']})",
              title_justify="left")
    for col in ("host", "name", "region", "posts", "newest post", "last crawl", "registered"):
        t.add_column(col, justify="right" if col == "posts" else "left")
    for r in data["sites"]:
        region = f"{r['region_code']} {r['region_name'] or ''}".strip() if r.get("region_code") else "unknown"
        t.add_row(r["host"], r["name"], region, str(r["posts"]), (r["newest_post"] or "")[:10],
                  (r["last_crawl"] or "")[:16], "yes" if r["registered"] else "no")
    con.print(t)
    return buf.getvalue()
