"""`parkcorpus report`: one self-contained HTML file with the plots a researcher looks at first.

The figures come from `crawler.stats` (the same numbers `parkcorpus stats` prints), the links
dataset and the run manifests. Images are embedded as base64 PNGs and the CSS is inline, so the
file opens anywhere, offline, and can be mailed as is. matplotlib runs on the Agg backend.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import re
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crawler import stats as corpus
from crawler.errors import DISK_FULL_ERRNOS, DatasetError
from crawler.safefile import check_output_target, open_state_file

logger = logging.getLogger(__name__)

#: errno values meaning the disk, a quota or the file size limit ran out (cli.py says "disk full")

#: Preferred CJK fonts (Debian fonts-noto-cjk, then common desktop fonts); the first one
#: matplotlib finds is used so category and tag names render instead of empty boxes.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC",
)
#: How many bars the top-N plots show.
TOP_N = 20
#: Categories shown per site in the shares plot before the rest is folded into "其他".
MAX_CATEGORIES = 8
#: Runs shown in the crawl-history plot and table (the latest ones).
MAX_RUNS = 60
#: Sites stacked in the articles-per-month plot; smaller ones are folded into one "other" bar part.
MAX_SITES = 8
LINK_COLUMNS = ["src_site", "src_post_id", "src_url", "dst_url", "dst_site", "dst_post_id", "kind"]


#: File names of CJK fonts (Noto/Source Han CJK, WenQuanYi, SimHei, YaHei, PingFang), for the
#: system scan when matplotlib's cached font list has none of CJK_FONTS.
_CJK_FONT_FILE = re.compile(r"cjk|wqy|wenquanyi|sourcehansans|simhei|msyh|pingfang", re.I)


def cjk_font() -> str | None:
    """The name of an installed CJK font matplotlib can use, or None (labels may then show boxes)."""
    from matplotlib import font_manager

    def known() -> str | None:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)

    found = known()
    if found is None:
        # matplotlib caches its font list the first time it runs: a CJK font installed after that
        # (apt-get install fonts-noto-cjk) is on the system but not in the list, so add it
        for path in font_manager.findSystemFonts():
            if _CJK_FONT_FILE.search(os.path.basename(path)):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a font file FreeType cannot read
                    continue
        found = known()
    return found


def _setup_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    plt.rcParams.update({
        "font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
        "axes.unicode_minus": False,  # CJK fonts lack U+2212
        # titles, tags and categories are site-controlled: "$^$" must print as text, not mathtext
        "text.parse_math": False,
        "figure.dpi": 100,
        "savefig.dpi": 110,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
    })
    return plt


def read_links(out: str | Path):
    """Link rows (related/prev/next/inline) of the links dataset under <out>/links/ as a DataFrame."""
    import pandas as pd

    from crawler.store import LINKS, read_snapshot

    table = read_snapshot(out, lambda d: None if d is None else d.to_table(columns=LINK_COLUMNS), LINKS)
    if table is None:
        return pd.DataFrame(columns=LINK_COLUMNS)
    return table.to_pandas()


def link_graph(links, articles) -> dict[str, Any]:
    """Related-link graph figures: in-degree distribution and the most linked posts."""
    import pandas as pd

    rel = links[links["kind"] == "related"].dropna(subset=["dst_post_id"])
    # related links are drawn at random per page view, so count each (source, target) pair once
    rel = rel.drop_duplicates(["src_site", "src_post_id", "dst_site", "dst_post_id"])
    rel = rel.assign(dst_site=rel["dst_site"].fillna(rel["src_site"]))
    indeg = rel.groupby(["dst_site", "dst_post_id"]).size()
    outdeg = rel.groupby(["src_site", "src_post_id"]).size()
    titles = {}
    if len(articles):
        titles = {(s, int(p)): t for s, p, t in zip(articles["site"], articles["post_id"], articles["title"])}
    # the distribution is over the stored posts: a linked post outside the dataset (older than
    # --since, not crawled yet) has no row to count, and a stored post nobody links to counts as 0
    degree = {key: 0 for key in titles}
    for (s, p), n in indeg.items():
        if (s, int(p)) in degree:
            degree[(s, int(p))] = int(n)
    in_counts = pd.Series(list(degree.values()), dtype="int64").value_counts().sort_index()
    top = indeg.sort_values(ascending=False).head(TOP_N)
    return {
        "edges": int(len(rel)),
        "sources": int(outdeg.size),
        "in_degree": {int(k): int(v) for k, v in in_counts.items()},
        "out_degree_mean": round(float(outdeg.mean()), 2) if len(outdeg) else 0.0,
        "most_linked": [
            {"site": s, "post_id": int(p), "links_in": int(n), "title": titles.get((s, int(p)))}
            for (s, p), n in top.items()
        ],
    }


def _month_range(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' from first to last, inclusive."""
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _plots(data: dict[str, Any], graph: dict[str, Any], plt) -> dict[str, tuple[str, bytes]]:
    """name -> (title, PNG bytes) for every plot that has data to show."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    plots: dict[str, tuple[str, bytes]] = {}
    sites = [s["site"] for s in data["sites"]]

    # articles per month per site: stacked bars over every month from the first to the last, so
    # a month without posts shows as a gap; beyond MAX_SITES the smallest sites are folded together
    dated = [r for r in data["by_site_month"] if r["month"] != "undated"]
    if dated:
        first, last = min(r["month"] for r in dated), max(r["month"] for r in dated)
        months = _month_range(first, last)
        totals: dict[str, int] = {}
        for r in dated:
            totals[r["site"]] = totals.get(r["site"], 0) + r["articles"]
        shown = sorted(totals, key=lambda h: -totals[h])[:MAX_SITES]
        other = f"other {len(totals) - len(shown)} sites" if len(totals) > len(shown) else None
        counts: dict[tuple[str, str], int] = {}
        for r in dated:
            key = (r["site"] if r["site"] in shown else other, r["month"])
            counts[key] = counts.get(key, 0) + r["articles"]
        fig, ax = plt.subplots(figsize=(11, 4.2))
        x = np.arange(len(months))
        bottom = np.zeros(len(months))
        for site in shown + ([other] if other else []):
            ys = np.array([counts.get((site, m), 0) for m in months], dtype=float)
            ax.bar(x, ys, 0.85, bottom=bottom, label=site)
            bottom += ys
        step = max(1, -(-len(months) // 24))
        ax.set_xticks(x[::step], months[::step], rotation=45, ha="right")
        ax.set_xlim(-0.75, len(months) - 0.25)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("articles")
        ax.set_title("Articles per month (by publication date)")
        ax.legend(frameon=False, fontsize=9)
        plots["articles_per_month"] = ("Articles per month", _png(fig))
        plt.close(fig)

    # category shares per site: one 100% bar per site
    if data["categories"]:
        fig, ax = plt.subplots(figsize=(11, 0.8 + 0.7 * len(sites)))
        cmap = plt.get_cmap("tab20")
        colours: dict[str, Any] = {}
        for row, site in enumerate(sites):
            cats = [c for c in data["categories"] if c["site"] == site]
            shown, rest = cats[:MAX_CATEGORIES], sum(c["share"] for c in cats[MAX_CATEGORIES:])
            left = 0.0
            parts = [(c["category"], c["share"]) for c in shown] + ([("其他", rest)] if rest else [])
            for name, share in parts:
                colour = colours.setdefault(name, cmap(len(colours) % 20))
                ax.barh(row, share, left=left, color=colour, edgecolor="white",
                        label=name if name not in ax.get_legend_handles_labels()[1] else None)
                if share >= 0.07:
                    ax.text(left + share / 2, row, f"{name}\n{share:.0%}", ha="center", va="center", fontsize=8)
                left += share
        ax.set_yticks(range(len(sites)), sites)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_title("Category shares per site")
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=6, fontsize=9)
        plots["category_shares"] = ("Category shares per site", _png(fig))
        plt.close(fig)

    # body-length histogram (bins of crawler.stats.LENGTH_BINS)
    if data["articles"]:
        hist = data["body_length"]["histogram"]
        labels = [f"{h['from']}–{h['to'] - 1}" if h["to"] else f"≥{h['from']}" for h in hist]
        labels[0] = "empty"
        fig, ax = plt.subplots(figsize=(11, 4))
        ax.bar(range(len(hist)), [h["articles"] for h in hist], color="#4c72b0")
        ax.set_xticks(range(len(hist)), labels, rotation=30, ha="right")
        ax.set_xlabel("body length (characters, whitespace excluded)")
        ax.set_ylabel("articles")
        bl = data["body_length"]
        ax.set_title(f"Body length (median {bl['median']}, p10 {bl['p10']}, p90 {bl['p90']})")
        plots["body_length"] = ("Body length", _png(fig))
        plt.close(fig)

    # top tags
    top = data["tags"]["top"][:TOP_N]
    if top:
        fig, ax = plt.subplots(figsize=(11, 0.8 + 0.32 * len(top)))
        ax.barh([t["tag"] for t in top], [t["articles"] for t in top], color="#55a868")
        ax.invert_yaxis()
        ax.set_xlabel("articles")
        ax.set_title(f"Top {len(top)} tags ({data['tags']['distinct']} distinct)")
        plots["top_tags"] = ("Top tags", _png(fig))
        plt.close(fig)

    # related-link graph
    if graph["edges"]:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 1.4]})
        deg = graph["in_degree"]
        a1.bar(list(deg), list(deg.values()), color="#8172b2")
        a1.set_xlabel("related links pointing at a post (in-degree)")
        a1.set_ylabel("posts")
        a1.set_title("Related-link in-degree")
        ml = graph["most_linked"][:12]
        names = [f"{(m['title'] or '')[:18]} ({m['site'].split('.')[0]}/{m['post_id']})" for m in ml]
        a2.barh(names, [m["links_in"] for m in ml], color="#c44e52")
        a2.invert_yaxis()
        a2.set_xlabel("distinct posts linking to it")
        a2.set_title("Most linked posts")
        fig.tight_layout()
        plots["link_graph"] = ("Related-link graph", _png(fig))
        plt.close(fig)

    # crawl history: new / changed / unchanged articles per run, and what happened to the other posts
    all_runs = [r for r in data.get("runs", []) if any(r.get(k) is not None for k in ("new", "changed", "unchanged"))]
    # a nightly cron makes hundreds of runs: the plot shows the latest MAX_RUNS
    runs = all_runs[-MAX_RUNS:]
    if runs:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.3, 1]})
        x = np.arange(len(runs))
        labels = [str(r.get("finished") or r.get("started") or r.get("run_id") or "")[:16].replace("T", " ")
                  for r in runs]
        if len({lab[:4] for lab in labels}) == 1 and all(lab[4:5] == "-" for lab in labels):
            labels = [lab[5:] for lab in labels]  # one year: "MM-DD HH:MM" is enough
        # a lone run stays a slim bar instead of filling the whole plot
        xlim = (-0.75, max(len(runs), 4) - 0.25)
        bottom = np.zeros(len(runs))
        for key, colour in (("new", "#4c72b0"), ("changed", "#dd8452"), ("unchanged", "#cccccc")):
            ys = np.array([r.get(key) or 0 for r in runs], dtype=float)
            ax.bar(x, ys, 0.6, bottom=bottom, label=key, color=colour)
            bottom += ys
        ax.set_xlim(*xlim)
        step = max(1, -(-len(runs) // 16))  # at most ~16 run labels (a cluster run writes one per shard)
        ax.set_xticks(x[::step], labels[::step], rotation=30, ha="right")
        ax.set_ylabel("articles")
        shown = f"last {len(runs)} of {len(all_runs)} runs" if len(all_runs) > len(runs) else \
            f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
        ax.set_title(f"Crawl history ({shown})")
        ax.legend(frameon=False, fontsize=9)
        # outcomes other than "written"/"unchanged": the posts a run could not store
        kinds = sorted({k for r in runs for k, v in (r.get("outcomes") or {}).items()
                        if v and k not in ("written", "unchanged")})
        bottom = np.zeros(len(runs))
        cmap = plt.get_cmap("Set2")
        for i, kind in enumerate(kinds):
            ys = np.array([(r.get("outcomes") or {}).get(kind, 0) for r in runs], dtype=float)
            ax2.bar(x, ys, 0.6, bottom=bottom, label=kind, color=cmap(i % 8))
            bottom += ys
        ax2.set_xlim(*xlim)
        step2 = max(1, -(-len(runs) // 8))  # the narrower panel takes fewer labels
        ax2.set_xticks(x[::step2], labels[::step2], rotation=30, ha="right")
        ax2.set_title("Posts not stored, by outcome")
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        if kinds:
            ax2.legend(frameon=False, fontsize=9)
        else:
            ax2.text(0.5, 0.5, "every requested post was stored", transform=ax2.transAxes,
                     ha="center", va="center", color="#666")
        fig.tight_layout()
        plots["crawl_history"] = ("Crawl history", _png(fig))
        plt.close(fig)
    return plots


_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
max-width:1180px;margin:24px auto;padding:0 16px;color:#222;background:#fff}
h1{font-size:26px;margin-bottom:4px} h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.meta{color:#666;font-size:14px} img{max-width:100%;height:auto;display:block;margin:8px 0}
table{border-collapse:collapse;font-size:14px;margin:8px 0} td,th{border:1px solid #ddd;padding:4px 10px;text-align:left}
th{background:#f4f4f4} td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:12px;flex-wrap:wrap} .card{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:130px}
.card b{display:block;font-size:22px} .bad{color:#b00020;font-weight:bold} .empty{color:#888;font-style:italic}
"""


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{html.escape(str(v))}</td>' if i in numeric else f"<td>{html.escape(str(v if v is not None else ''))}</td>"
            for i, v in enumerate(r)
        ) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(title: str, png: bytes) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{b64}">'


def render_html(data: dict[str, Any], graph: dict[str, Any], plots: dict[str, tuple[str, bytes]]) -> str:
    """The report page: summary cards, plots (embedded) and the tables."""
    h = data["health"]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>parkcorpus report: {html.escape(str(data.get('out', '')))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>parkcorpus corpus report</h1>",
        f"<p class=\"meta\">Dataset <code>{html.escape(str(data.get('out', '')))}</code>, generated {now}.</p>",
        "<div class=\"cards\">",
    ]
    cards = [("articles", data["articles"]), ("sites", len(data["sites"])),
             ("distinct tags", data["tags"]["distinct"]), ("related links", graph["edges"]),
             ("crawl runs", len(data.get("runs", []))),
             ("median length", data["body_length"]["median"] if data["articles"] else "–")]
    parts += [f"<div class=\"card\">{html.escape(k)}<b>{html.escape(str(v))}</b></div>" for k, v in cards]
    parts.append("</div>")

    def section(key: str, heading: str, extra: str = "") -> None:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if key in plots:
            parts.append(_img(*plots[key]))
        else:
            parts.append("<p class=\"empty\">No data for this plot in the dataset.</p>")
        parts.append(extra)

    site_rows = [[s["site"], s["articles"], (s["oldest"] or "")[:10], (s["newest"] or "")[:10],
                  (s["last_fetched"] or "")[:16]] for s in data["sites"]]
    section("articles_per_month", "Articles per month per site",
            _table(["site", "articles", "oldest", "newest", "last fetched"], site_rows, {1}))
    section("category_shares", "Category shares per site")
    section("body_length", "Body length")
    section("top_tags", "Top tags")
    ml = [[m["title"] or "", m["site"], m["post_id"], m["links_in"]] for m in graph["most_linked"][:10]]
    section("link_graph", "Related-link graph",
            f"<p>{graph['edges']} distinct related links from {graph['sources']} posts "
            f"({graph['out_degree_mean']} per post).</p>"
            + (_table(["most linked post", "site", "post_id", "linked from"], ml, {2, 3}) if ml else ""))
    if data.get("regions"):
        parts.append("<h2>Articles per county</h2>")
        parts.append(_table(["region_code", "county (the subsite's region)", "articles", "sites"],
                            [[r["region_code"] or "unknown", r["region_name"] or "", r["articles"], ", ".join(r["sites"])]
                             for r in data["regions"]], {2}))
    syn = data.get("syndication")
    if syn and syn["groups"]:
        parts.append("<h2>Top syndicated stories</h2>")
        parts.append(f"<p>{syn['groups']} stories were posted more than once ({syn['copies']} copies; "
                     "<code>duplicates/</code>).</p>")
        parts.append(_table(["posts", "title", "first posted at", "sites"],
                            [[r["posts"], r["title"] or "", r["url"] or "", ", ".join(r["sites"])]
                             for r in syn["top"]], {0}))
    recent = data.get("runs", [])[-MAX_RUNS:]
    run_rows = [[r.get("run_id"), str(r.get("finished") or r.get("started") or "")[:19].replace("T", " "),
                 r.get("mode"), r.get("status"), r.get("new"), r.get("changed"), r.get("unchanged"),
                 ", ".join(f"{k} {v}" for k, v in (r.get("outcomes") or {}).items() if v)]
                for r in reversed(recent)]  # newest first
    section("crawl_history", "Crawl history",
            _table(["run", "finished", "mode", "status", "new", "changed", "unchanged", "outcomes"],
                   run_rows, {4, 5, 6}) if run_rows else "")

    parts.append(_facts_html(data.get("facts")))

    def cls(n: int) -> str:
        return f'<span class="bad">{n}</span>' if n else "0"

    health_rows = [
        ("empty bodies", h["empty_bodies"], " ".join(h["empty_examples"][:3])),
        (f"short bodies (< {h['short_threshold_chars']} characters)", h["short_bodies"], " ".join(h["short_examples"][:3])),
        ("bodies with a boilerplate line", h["boilerplate_rows"],
         ", ".join(f"{k}: {v}" for k, v in h["boilerplate_patterns"].items())),
        ("Traditional characters left", h["traditional_rows"], "".join(list(h["traditional_chars"])[:20])),
        ("no publication date", h["undated"], ""),
        # the crawl's own health (crawler.health): posts still owed, given up, stale sites
        ("posts failed, still retried", h.get("missing_posts", 0), ""),
        ("posts abandoned after repeated failures", h.get("abandoned_posts", 0), " ".join(h.get("abandoned_urls", [])[:5])),
        ("sites not crawled for over 2 days", sum(1 for d in h.get("sites_not_crawled_since", {}).values()
                                                   if d is None or d > 2),
         ", ".join(f"{k}: {'never' if d is None else f'{d} days'}"
                   for k, d in h.get("sites_not_crawled_since", {}).items() if d is None or d > 2)),
        ("last run", 0 if (h.get("last_run") or {}).get("status") in (None, "ok") else 1,
         " ".join(str(v) for v in (h.get("last_run") or {}).values() if v is not None)),
    ]
    parts.append("<h2>Extraction health</h2><table><thead><tr><th>check</th><th>articles</th>"
                 "<th>detail</th></tr></thead><tbody>")
    parts += [f"<tr><td>{html.escape(c)}</td><td class=\"n\">{cls(n)}</td><td>{html.escape(d)}</td></tr>"
              for c, n, d in health_rows]
    parts.append("</tbody></table>")
    prec = ", ".join(f"{html.escape(k)}: {v}" for k, v in data["date_precision"].items())
    parts.append(f"<p>Date precision: {prec or 'n/a'}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary name and rename, so a reader never sees half a file; no leftovers on error."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # O_EXCL|O_NOFOLLOW: a link placed at a guessable temporary name is never written through
        fd, _ = open_state_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with open(fd, "wb") as fh:
            fh.write(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in DISK_FULL_ERRNOS:
            # a failed write() carries no file name; name the file the user asked for
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise DatasetError(f"cannot write {path}: {exc.strerror}; choose a writable place") from None


def _facts_html(f: dict[str, Any] | None) -> str:
    """The facts section: deals per month per site, median price per m² by land use, listings by kind."""
    if not f or not (f["parcels"] or f["listings"]):
        return "<h2>Facts</h2><p class=\"empty\">No parcels or listings in the dataset.</p>"
    docs = ", ".join(f"{html.escape(k)} {v}" for k, v in f["doc_types"].items())
    parts = ["<h2>Facts</h2>", f"<p>{f['parcels']} land parcels, {f['listings']} property listings. "
             f"Doc types: {docs}.</p>"]
    if f["deals_per_month"]:
        parts.append("<h3>Land deals per month</h3>")
        parts.append(_table(["site", "month", "deals"],
                            [[r["site"], r["month"], r["deals"]] for r in f["deals_per_month"]], {2}))
    if f["price_m2_by_land_use"]:
        parts.append("<h3>Median price per m² by land use</h3>")
        parts.append(_table(["land use", "deals", "median yuan/m²"],
                            [[r["land_use"], r["deals"], f"{r['median_yuan_m2']:,.0f}"]
                             for r in f["price_m2_by_land_use"]], {1, 2}))
    if f["listings_by_kind"]:
        parts.append("<h3>Listings by kind</h3>")
        parts.append(_table(["kind", "listings"], [[k, v] for k, v in f["listings_by_kind"].items()], {1}))
    return "\n".join(parts)


def build_report(out: str | Path, to: str | Path = "report.html", png_dir: str | Path | None = None) -> dict[str, Any]:
    """Write the HTML report of the dataset at out to `to` (and each plot as PNG into png_dir)."""
    if str(to) != "-":
        check_output_target(to, out)  # before the work: a FIFO, device or link is refused at once
    if png_dir is not None:
        check_output_target(png_dir, out, option="--png", folder=True)
    columns = corpus.STAT_COLUMNS
    articles = corpus.read_articles(out, columns)
    data = corpus.compute(articles, corpus.read_runs(out), corpus.boilerplate_patterns())
    data["out"] = str(out)
    data.update(corpus.regions_and_duplicates(out))
    data["facts"] = corpus.facts_stats(*corpus.read_facts(out))
    graph = link_graph(read_links(out), articles)
    plt = _setup_matplotlib()
    if cjk_font() is None:
        logger.warning("no CJK font found (install fonts-noto-cjk): Chinese labels will show as boxes")
    plots = _plots(data, graph, plt)
    logger.info("report of %d articles: %d plots", data["articles"], len(plots))

    page = render_html(data, graph, plots).encode("utf-8")
    if str(to) == "-":
        sys.stdout.buffer.write(page)
        sys.stdout.flush()
    else:
        to = Path(to)
        if not to.parent.is_dir():
            raise DatasetError(f"cannot write the report to {to}: folder {to.parent} does not exist")
        check_output_target(to, out)
        _write_atomic(to, page)
    pngs = []
    if png_dir is not None:
        png_dir = Path(png_dir)
        png_dir.mkdir(parents=True, exist_ok=True)
        for name, (_title, png) in plots.items():
            p = png_dir / f"{name}.png"
            check_output_target(p, out, option="--png")
            _write_atomic(p, png)
            pngs.append(str(p))
    return {
        "html": str(to),
        "bytes": len(page),
        "articles": data["articles"],
        "plots": list(plots),
        "pngs": pngs,
        "font": cjk_font(),
    }
