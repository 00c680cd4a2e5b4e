"""Extraction benchmark and the labelled replica pages the quality gate uses.

Runs, side by side on the same pages in one process: parkcorpus (`crawler.extract.extract_html`),
`trafilatura.extract` default, `trafilatura.extract(favor_precision=True)`, readability-lxml,
and an lxml parse-and-walk floor (text of every <p>). Prints macro char-bigram F1 against the
replica's gold text, paragraph recall, pages with boilerplate leaks, ms/page, and ratios to
trafilatura default.

    python bench/extract.py                 # 240 labelled replica pages + the two site samples
    python bench/extract.py --pages 600 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The replica clock for labelled pages: the moment the site samples were rendered.
NOW = datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)

#: Boilerplate snippets no article body may contain (the contact block, copy notice, share box).
BOILERPLATE_SNIPPETS = [
    "微信号", "产业招商/厂房土地租售", "请说明您的需求", "长按/扫一扫", "扫一扫关注公众号",
    "扫描二维码推送至手机访问", "本文链接", "版权声明", "分享给朋友",
]


# ------------------------------------------------------------------------------------------
# Labelled pages
# ------------------------------------------------------------------------------------------


def variants_of(gold: dict, site) -> set[str]:
    """The hard-case labels a replica post carries (what the labelled set must cover)."""
    v = {f"style:{site.style}", f"date:{site.date_style}", f"kind:{gold['kind']}"}
    blocks = [b[0] for b in gold.get("_blocks", ())]
    for flag in ("traditional", "one_image", "long", "has_teasers"):
        if gold.get(flag):
            v.add(flag)
    if gold.get("swaps"):
        v.add("swaps")
    if gold.get("masks"):
        v.add("masks")
    if gold.get("_teaser_links"):
        v.add("teaser_links")
    if not gold.get("tags"):
        v.add("no_tags")
    if gold.get("contact_block"):
        v.add(f"contact:{gold['contact_block']}")
    for kind in ("table", "ul", "div", "img", "h2", "h3", "strong", "strong_indent", "right", "plink"):
        if kind in blocks:
            v.add(f"block:{kind}")
    for key in ("reporter", "source", "editor", "original_title", "opener"):
        if gold.get(key):
            v.add(key)
    paras = gold["paragraphs"]
    if any(p.endswith(("...", "……", "…")) for p in paras):
        v.add("ellipsis_in_article")
    import re

    if any(re.search(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?!\d)", p) for p in paras):
        v.add("phone_in_article")
    return v


def labelled_pages(seed: int = 2026, pages: int = 240, now: datetime = NOW) -> list[dict]:
    """A deterministic set of replica post pages covering every variant, with gold and render facts.

    Every variant label gets at least a few pages (rare ones first), the rest is filled with
    posts in id order across all six subsites (every date style and both contact styles).
    """
    from crawler.replica import Network, render_post

    net = Network(seed=seed, sites=6, posts=max(60, pages), now=now)
    candidates = []
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            post = site.post(pid)
            candidates.append((site, pid, post, variants_of(post, site)))
    counts = Counter(v for *_, vs in candidates for v in vs)
    per_variant = max(3, pages // (4 * max(1, len(counts))))
    chosen, have = [], Counter()
    # Rare variants first so that each is covered even in a small set.
    for label in sorted(counts, key=lambda k: counts[k]):
        for site, pid, post, vs in candidates:
            if have[label] >= per_variant or len(chosen) >= pages:
                break
            if label in vs and (site.host, pid) not in {(s.host, p) for s, p, *_ in chosen}:
                chosen.append((site, pid, post, vs))
                have.update(vs)
    picked = {(s.host, p) for s, p, *_ in chosen}
    rng = random.Random(seed)
    rest = [c for c in candidates if (c[0].host, c[1]) not in picked]
    rng.shuffle(rest)
    chosen.extend(rest[: max(0, pages - len(chosen))])
    out = []
    for site, pid, post, vs in chosen:
        html, related = render_post(site, pid, now, random.Random(f"{seed}-{site.host}-{pid}"))
        gold = {k: v for k, v in post.items() if not k.startswith("_")}
        out.append({
            "html": html, "url": post["url"], "host": site.host, "post_id": pid, "gold": gold,
            "related": related, "variants": sorted(vs), "date_style": site.date_style,
            "teasers": list(post["_teasers"]), "mobiles": list(post["_broker"]["mobiles"]),
            "server_date": now,
        })
    return out


#: Off-template subsites of the replica (crawler.replica.offtemplate): (theme, charset) per host.
#: jinshan stays tpure; every legacy charset is declared only in the HTTP header.
OFF_TEMPLATE = {
    "laian.021cf.cn": ("news", "gbk"),
    "songjiang.021cf.cn": ("default", "utf-8"),
    "jiashan.021cf.cn": ("default", "big5"),
    "fengxian.021cf.cn": ("news", "shift_jis"),
    "kunshan.021cf.cn": ("default", "gbk"),
}


def offtemplate_pages(seed: int = 2026, per_site: int = 12, now: datetime = NOW) -> list[dict]:
    """Replica post pages in another Z-BlogPHP theme or a news layout, in GBK/Big5/Shift_JIS/UTF-8.

    ``decoded`` is the page decoded with its header charset (what other extractors are given, so
    that they are scored on extraction, not on decoding); ``t2s`` says every extractor's output
    is converted to simplified Chinese before scoring (Big5/Shift_JIS pages carry traditional
    forms; parkcorpus converts by default, the others do not).
    """
    from crawler.decode import decode_html
    from crawler.replica import Network
    from crawler.replica.offtemplate import _COMMENTS, _INTRO, _SERVICE, render_site_post

    net = Network(seed=seed, sites=6, posts=max(40, 3 * per_site), now=now,
                  themes={h: t for h, (t, _) in OFF_TEMPLATE.items() if t != "tpure"},
                  charsets={h: c for h, (_, c) in OFF_TEMPLATE.items()})
    out = []
    for host, (theme, charset) in OFF_TEMPLATE.items():
        site = net.site(host)
        fmt = {"title": site.title, "network": "中国产业园区招商网", "name": site.name, "hotline": ""}
        snippets = [c.format(name=site.name)[:16] for c in _COMMENTS] + [_INTRO.format(**fmt)[:16], _SERVICE[:16]]
        for pid in site.post_ids()[:per_site]:
            html, ctype = render_site_post(site, pid, now, random.Random(f"{seed}-{host}-{pid}"))
            out.append({
                "html": html, "content_type": ctype, "decoded": decode_html(html, ctype)[0], "t2s": True,
                "url": site.post_url(pid), "host": host, "post_id": pid, "gold": site.gold(pid),
                "variants": [f"theme:{theme}", f"charset:{charset}"], "teasers": [], "mobiles": [],
                "snippets": snippets, "server_date": now,
            })
    return out


#: Hand-written pages imitating how real Chinese/CJK news and government sites are built
#: (tests/offsite/README.md): one page.html + page.json (title, published, text, chrome) each.
OFFSITE = ROOT / "tests" / "offsite"


def offsite_pages(folder: Path = OFFSITE) -> list[dict]:
    """The hand-written off-site pages with their gold; gold text and chrome lines in simplified
    Chinese (every extractor's output is converted with t2s before scoring, as off-template pages)."""
    from crawler.decode import decode_html

    out = []
    for gold_file in sorted(folder.glob("*.json")):
        spec = json.loads(gold_file.read_text("utf-8"))
        html = gold_file.with_suffix(".html").read_bytes()
        text = scored_text(spec["text"])
        out.append({
            "html": html, "decoded": decode_html(html)[0], "t2s": True, "url": None, "name": gold_file.stem,
            "gold": {"text": text, "paragraphs": text.split("\n"), "title": spec["title"],
                     "published": spec.get("published"), "utc_offset": spec.get("utc_offset", "+08:00")},
            "variants": [f"offsite:{gold_file.stem}"], "teasers": [], "mobiles": [],
            "snippets": [scored_text(c) for c in spec.get("chrome", ())],
            "server_date": NOW,
        })
    return out


# ------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------


def _bigrams(text: str) -> Counter:
    chars = "".join(text.split())
    return Counter(chars[i:i + 2] for i in range(len(chars) - 1))


def bigram_f1(got: str, gold: str) -> float:
    """Character-bigram F1 of two texts (whitespace ignored): the body-text score."""
    g, r = _bigrams(got or ""), _bigrams(gold)
    if not g and not r:
        return 1.0
    overlap = sum((g & r).values())
    if not overlap:
        return 0.0
    p, rc = overlap / sum(g.values()), overlap / sum(r.values())
    return 2 * p * rc / (p + rc)


def paragraph_hits(got: str, gold_paragraphs: list[str]) -> tuple[int, int]:
    """(gold paragraphs found as a whole line of the output, gold paragraphs)."""
    lines = {" ".join(line.split()) for line in (got or "").splitlines()}
    found = sum(1 for p in gold_paragraphs if " ".join(p.split()) in lines)
    return found, len(gold_paragraphs)


def leaks(got: str, page: dict) -> list[str]:
    """Boilerplate snippets (contact block, notices, this page's teasers, broker phones) in the output."""
    from crawler.normalize import apply_swaps, convert_script

    gold_text = page["gold"]["text"]
    snippets = list(BOILERPLATE_SNIPPETS)
    for t in page["teasers"]:
        core = t[:-3] if t.endswith("...") else t
        snippets.extend({core, apply_swaps(convert_script(core, "t2s"))[0]})
    snippets.append("".join(page["mobiles"]))
    snippets.extend(page["mobiles"])
    snippets.extend(page.get("snippets", ()))
    got = got or ""
    return [s for s in snippets if s and s in got and s not in gold_text]


# ------------------------------------------------------------------------------------------
# Extractors
# ------------------------------------------------------------------------------------------


def score_pages(pages: list[dict], extract) -> list[tuple]:
    """(page, record, parkcorpus F1, trafilatura favor_precision F1) per page; extract(page) gives the record."""
    out = []
    for page in pages:
        rec = extract(page)
        ours = bigram_f1(scored_text(rec["text"]), page["gold"]["text"])
        theirs = bigram_f1(scored_text(ex_trafilatura_precision(page)), page["gold"]["text"])
        out.append((page, rec, ours, theirs))
    return out


def ex_parkcorpus(page: dict) -> str:
    from crawler.extract import extract_html

    return extract_html(page["html"], page["url"], fetched_at=page["server_date"], server_date=page["server_date"],
                        content_type=page.get("content_type"))["text"]


def ex_trafilatura(page: dict) -> str:
    import trafilatura

    return trafilatura.extract(page.get("decoded", page["html"]), url=page["url"]) or ""


def ex_trafilatura_precision(page: dict) -> str:
    import trafilatura

    return trafilatura.extract(page.get("decoded", page["html"]), url=page["url"], favor_precision=True) or ""


def ex_readability(page: dict) -> str:
    import lxml.html
    from readability import Document

    summary = Document(page.get("decoded", page["html"])).summary(html_partial=True)
    tree = lxml.html.fromstring(summary)
    return "\n".join(t for t in (" ".join(el.text_content().split()) for el in tree.iter("p", "li", "tr", "h1", "h2", "h3")) if t)


def ex_lxml_floor(page: dict) -> str:
    import lxml.html

    tree = lxml.html.fromstring(page.get("decoded", page["html"]))
    return "\n".join(t for t in (" ".join(p.text_content().split()) for p in tree.iter("p")) if t)


EXTRACTORS = {
    "parkcorpus": ex_parkcorpus,
    "trafilatura default": ex_trafilatura,
    "trafilatura favor_precision": ex_trafilatura_precision,
    "readability-lxml": ex_readability,
    "lxml <p> walk (floor)": ex_lxml_floor,
}


def sample_pages() -> list[dict]:
    """The two real site samples (tests/samples) with their hand-written expected text (tests/cases)."""
    out = []
    for name in ("post-3756", "laian-post-1414"):
        expected = json.loads((ROOT / "tests" / "cases" / f"{name}.json").read_text("utf-8"))
        gold = {"text": expected["text"], "paragraphs": expected["text"].split("\n")}
        html = (ROOT / "tests" / "samples" / f"{name}.html").read_bytes()
        import lxml.html

        tree = lxml.html.fromstring(html)
        single = tree.xpath('//div[contains(@class,"single")]')[0]
        # The samples' teaser lines: the short lines after the expected text's last line.
        lines = [" ".join(p.text_content().split()) for p in single.iter("p")]
        last = gold["paragraphs"][-1].replace("最", "蕞")
        idx = next(i for i, line in enumerate(lines) if line.endswith(last[-10:]))
        teasers = [t for t in lines[idx + 1: idx + 9] if t and len(t) <= 24]
        out.append({"html": html, "url": expected["url"], "gold": gold, "teasers": teasers,
                    "mobiles": ["13391219793", "13564686846"] if "laian" in name else ["13524678515", "13564686846", "13391219793"],
                    "server_date": datetime.fromisoformat(expected["fetched_at"]), "variants": ["sample"]})
    return out


def scored_text(text: str) -> str:
    """An extractor's output in simplified Chinese (how off-template pages are scored)."""
    from crawler.normalize import convert_script

    return convert_script(text or "", "t2s")


def run(pages: list[dict], names=None, repeat: int = 2) -> dict:
    """Score and time each extractor on the pages; returns {name: metrics}.

    Extractors take turns page by page (not one after the other), and each page's time is the
    best of ``repeat`` runs, so load from other processes on a shared machine hits all alike.
    """
    fns = {name: fn for name, fn in EXTRACTORS.items() if not names or name in names}
    for fn in fns.values():
        fn(pages[0])  # warm-up: imports, OpenCC dictionaries, lxml
    acc = {name: {"f1": [], "found": 0, "total": 0, "leak_pages": 0, "elapsed": 0.0} for name in fns}
    for page in pages:
        for name, fn in fns.items():
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                text = fn(page)
                best = min(best, time.perf_counter() - t0)
            if page.get("t2s"):
                text = scored_text(text)
            a = acc[name]
            a["elapsed"] += best
            a["f1"].append(bigram_f1(text, page["gold"]["text"]))
            hit, n = paragraph_hits(text, page["gold"]["paragraphs"])
            a["found"] += hit
            a["total"] += n
            a["leak_pages"] += bool(leaks(text, page))
    results = {}
    for name, a in acc.items():
        results[name] = {
            "pages": len(pages),
            "macro_f1": sum(a["f1"]) / len(a["f1"]),
            "paragraph_recall": a["found"] / a["total"] if a["total"] else 1.0,
            "leak_pages": a["leak_pages"],
            "ms_per_page": 1000 * a["elapsed"] / len(pages),
        }
    base = results.get("trafilatura default")
    for r in results.values():
        r["speed_ratio_to_trafilatura"] = r["ms_per_page"] / base["ms_per_page"] if base else None
    return results


def table(results: dict, pages: int) -> str:
    """A Markdown table of the results."""
    rows = ["| extractor | macro F1 | paragraph recall | pages with leaks | ms/page | × trafilatura time |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        ratio = r["speed_ratio_to_trafilatura"]
        rows.append(f"| {name} | {r['macro_f1']:.4f} | {r['paragraph_recall']:.4f} | {r['leak_pages']}/{pages} | "
                    f"{r['ms_per_page']:.2f} | {ratio:.2f} |")
    return "\n".join(rows)


def machine() -> str:
    """CPU model and core count, for the benchmark header."""
    import os

    model = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores {model} ({platform.system()})"


def main(argv=None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=240, help="labelled replica pages (default 240)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--offtemplate", type=int, default=12, metavar="N",
                    help="off-template pages per off-template subsite (default 12; 0 skips them)")
    ap.add_argument("--no-offsite", dest="offsite", action="store_false",
                    help="skip the hand-written pages of other sites (tests/offsite)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = ap.parse_args(argv)
    pages = labelled_pages(args.seed, args.pages) + sample_pages()
    results = run(pages)
    off = offtemplate_pages(args.seed, args.offtemplate) if args.offtemplate else []
    off_results = run(off) if off else {}
    site_pages = offsite_pages() if args.offsite else []
    site_results = run(site_pages) if site_pages else {}
    if args.json:
        print(json.dumps({"tpure": results, "fallback": off_results, "offsite": site_results}, indent=2))
    else:
        print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}, Python {platform.python_version()}, "
              f"one process\n")
        print(f"tpure pages: {len(pages)} ({args.pages} replica, seed {args.seed}, + 2 site samples)\n")
        print(table(results, len(pages)))
        if off:
            themes = ", ".join(f"{h.split('.')[0]} {t}/{c}" for h, (t, c) in OFF_TEMPLATE.items())
            print(f"\nfallback (off-template) pages: {len(off)} ({themes}; legacy charsets in the HTTP header "
                  f"only; outputs scored after t2s)\n")
            print(table(off_results, len(off)))
        if site_pages:
            print(f"\nother sites: {len(site_pages)} hand-written pages (tests/offsite: government, CMS, portal, "
                  "WeChat, Big5, Shift_JIS, EUC-KR layouts; gold and outputs scored after t2s; leaks = chrome lines)\n")
            print(table(site_results, len(site_pages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
