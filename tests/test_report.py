"""crawler.report and `parkcorpus report`: a self-contained HTML file that renders in headless Chromium."""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_stats import A, B, BODY, article, write_dataset

from cli import main
from crawler import report

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CATEGORIES = ["园区动态", "土地出让", "招商资讯", "政策解读"]
TAGS = ["招商", "金山", "工业用地", "厂房", "新质生产力", "来安", "产业园", "项目签约"]


def corpus_records(n_per_site=40, seed=7):
    """A few months of posts over two sites with varied categories, tags, lengths and related links."""
    rng = random.Random(seed)
    recs = []
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    for site, base in ((A, 3000), (B, 1200)):
        for i in range(n_per_site):
            body = "\n".join([BODY] * rng.randint(1, 12))
            rec = article(
                site, base + i, start + timedelta(days=int(i * 4.5)),
                category=rng.choice(CATEGORIES[:3] if site == A else CATEGORIES[1:]),
                tags=tuple(rng.sample(TAGS, rng.randint(1, 3))), text=body,
            )
            # a skewed choice of related posts, so a few posts are linked much more than others
            targets = {base + rng.randint(0, rng.randint(0, n_per_site - 1)) for _ in range(6)} - {base + i}
            rec["related"] = [{"url": f"http://{site}/index.php/post/{t}.html", "title": f"标题{t}", "post_id": t}
                              for t in sorted(targets)]
            recs.append(rec)
    return recs


def related_pairs(records):
    """(site, src post_id, dst post_id) of every related link the records carry."""
    return [(r["site"], r["post_id"], x["post_id"]) for r in records for x in r["related"]]


RUNS = [
    {"run_id": "r1", "started": "2026-01-01T02:00:00+00:00", "finished": "2026-01-01T02:20:00+00:00",
     "sites": [A, B], "mode": "full", "status": "ok",
     "articles": {"new": 70, "changed": 0, "unchanged": 0}, "outcomes": {"written": 70, "gone_404": 3}},
    {"run_id": "r2", "started": "2026-01-02T02:00:00+00:00", "finished": "2026-01-02T02:01:00+00:00",
     "sites": [A, B], "mode": "incremental", "status": "ok",
     "articles": {"new": 10, "changed": 2, "unchanged": 5}, "outcomes": {"written": 12, "unchanged": 5}},
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "data"
    return write_dataset(out, corpus_records(), runs=RUNS)


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    d = tmp_path_factory.mktemp("built")
    info = report.build_report(corpus, to=d / "report.html", png_dir=d / "png")
    return info, d


def test_report_is_self_contained(built):
    info, d = built
    page = Path(info["html"]).read_text(encoding="utf-8")
    # nothing fetched from elsewhere: no http(s) src/href, no external stylesheet or script
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(imgs) == len(info["plots"]) == 6
    for b64 in imgs:
        assert base64.b64decode(b64).startswith(b"\x89PNG\r\n\x1a\n")


def test_report_names_every_section_and_its_numbers(built):
    info, _ = built
    page = Path(info["html"]).read_text(encoding="utf-8")
    for heading in ("Articles per month per site", "Category shares per site", "Body length", "Top tags",
                    "Related-link graph", "Crawl history", "Extraction health"):
        assert f"<h2>{heading}</h2>" in page
    assert info["articles"] == 80
    assert "<b>80</b>" in page  # the articles card
    assert ">incremental<" in page and ">gone_404 3" not in page and "gone_404 3" in page


def test_png_dir_has_one_file_per_plot(built):
    info, d = built
    names = sorted(p.name for p in (d / "png").glob("*.png"))
    assert names == sorted(f"{k}.png" for k in info["plots"])
    assert set(info["plots"]) == {"articles_per_month", "category_shares", "body_length", "top_tags",
                                  "link_graph", "crawl_history"}


def test_link_graph_counts(corpus):
    import pandas as pd

    recs = corpus_records()
    pairs = related_pairs(recs)
    g = report.link_graph(report.read_links(corpus), pd.DataFrame(recs))
    assert g["edges"] == len(pairs)
    indeg: dict = {}
    for site, _src, dst in pairs:
        indeg[(site, dst)] = indeg.get((site, dst), 0) + 1
    assert g["most_linked"][0]["links_in"] == max(indeg.values())
    top = g["most_linked"][0]
    assert indeg[(top["site"], top["post_id"])] == top["links_in"] and top["title"] == f"标题{top['post_id']}"
    # every stored post appears once in the in-degree distribution, linked or not
    assert sum(g["in_degree"].values()) == len(recs)
    assert g["in_degree"].get(0, 0) == len(recs) - len(indeg)


def test_report_on_dataset_without_links_or_runs(tmp_path):
    out = write_dataset(tmp_path / "d", [article(A, 1, datetime(2026, 1, 1, tzinfo=timezone.utc))])
    info = report.build_report(out, to=tmp_path / "r.html")
    page = Path(info["html"]).read_text(encoding="utf-8")
    assert "No data for this plot" in page  # link graph and crawl history are empty, not a crash
    assert "link_graph" not in info["plots"] and "articles_per_month" in info["plots"]


def test_report_cli(corpus, tmp_path):
    res = CliRunner().invoke(main, ["report", "--out", str(corpus), "--to", str(tmp_path / "x.html"), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)  # stdout only: without a CJK font a warning goes to stderr
    assert Path(info["html"]).is_file() and info["articles"] == 80
    res = CliRunner().invoke(main, ["report", "--out", str(corpus), "--to", str(tmp_path / "missing" / "x.html")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        f"Error: cannot write the report to {tmp_path / 'missing' / 'x.html'}: folder {tmp_path / 'missing'} does not exist"
    )


def _png_size_and_colours(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct sampled pixel values) of an 8-bit RGB/RGBA PNG, decoded with zlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    colours: set[bytes] = set()
    prev = bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG row filters
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 10 == 0:
            colours.update(bytes(line[x:x + 3]) for x in range(0, stride, bpp * 5))
        prev = line
    return width, height, len(colours)


def test_report_renders_in_headless_chromium(built, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    info, _ = built
    shot = tmp_path / "report.png"
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
        Path(info["html"]).resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    width, height, colours = _png_size_and_colours(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    # a blank page is one colour; the plots bring dozens
    assert colours > 20, f"screenshot looks blank ({colours} colours)"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report-chromium.png")


def test_link_graph_counts_stored_posts_only():
    import pandas as pd

    articles = pd.DataFrame({"site": [A, A], "post_id": [1, 2], "title": ["一", "二"]})
    rows = [(1, 2), (2, 1), (1, 99), (2, 99), (2, 99)]  # 99 is linked but not stored; (2, 99) seen twice
    links = pd.DataFrame([{"src_site": A, "src_post_id": s, "src_url": "", "dst_url": "", "dst_site": A,
                           "dst_post_id": d, "kind": "related"} for s, d in rows])
    g = report.link_graph(links, articles)
    assert g["edges"] == 4
    assert g["in_degree"] == {1: 2}
    assert g["most_linked"][0] == {"site": A, "post_id": 99, "links_in": 2, "title": None}


def test_month_range_is_continuous_across_years():
    assert report._month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert report._month_range("2026-03", "2026-03") == ["2026-03"]


def test_crawl_history_keeps_the_latest_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MAX_RUNS", 3)
    runs = [{"run_id": f"run{i}", "started": f"2026-01-0{i + 1}T02:00:00+00:00",
             "finished": f"2026-01-0{i + 1}T02:05:00+00:00", "sites": [{"host": A}], "mode": "incremental",
             "status": "ok", "articles": {"new": i, "changed": 0, "unchanged": 1}, "outcomes": {}} for i in range(5)]
    out = write_dataset(tmp_path / "d", [article(A, 1, datetime(2026, 1, 1, tzinfo=timezone.utc))], runs=runs)
    info = report.build_report(out, to=tmp_path / "r.html")
    page = Path(info["html"]).read_text(encoding="utf-8")
    shown = re.findall(r"<td>(run\d)</td>", page)
    assert shown == ["run4", "run3", "run2"]  # newest first, the older ones left out
    assert "crawl_history" in info["plots"]


def test_a_cjk_font_installed_after_matplotlib_cached_its_font_list_is_found(monkeypatch):
    # matplotlib builds its font list once: fonts-noto-cjk installed later is on the system but
    # not in the list, and the plots' Chinese labels came out as boxes
    import os

    from matplotlib import font_manager

    from crawler.report import _CJK_FONT_FILE, CJK_FONTS, cjk_font

    if not any(_CJK_FONT_FILE.search(os.path.basename(p)) for p in font_manager.findSystemFonts()):
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk)")
    stale = [f for f in font_manager.fontManager.ttflist if f.name not in CJK_FONTS]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    assert cjk_font() in CJK_FONTS
