"""crawler.stats and `parkcorpus stats` / `parkcorpus sites` on small synthetic datasets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from crawler import stats
from crawler.errors import DatasetError
from crawler.items import content_hash, empty_article

A, B = "jinshan.021cf.cn", "laian.021cf.cn"
BODY = "金山区今年新增工业用地出让面积较去年有明显增长，园区招商工作稳步推进。\n项目总投资约十亿元，预计明年投产。"


def article(site, post_id, published, category="园区动态", tags=("招商",), text=BODY, fetched=None, run_id="r1", precision="day"):
    """One schema-complete record, as the extractor and the crawl would produce it."""
    fetched = fetched or datetime(2026, 3, 1, tzinfo=timezone.utc)
    return empty_article(
        url=f"http://{site}/index.php/post/{post_id}.html",
        site=site,
        post_id=post_id,
        title=f"标题{post_id}",
        text=text,
        published=published,
        published_precision=precision if published else None,
        category=category,
        category_url=f"http://{site}/index.php/category-1.html",
        tags=list(tags),
        related=[],
        char_count=len("".join(text.split())),
        paragraph_count=len(text.split("\n")),
        template="tpure",
        masked_chars=0,
        content_hash=content_hash(text),
        fetched_at=fetched,
        run_id=run_id,
        extractor_version="test",
    )


def write_dataset(out: Path, records: list[dict], runs: list[dict] | None = None) -> Path:
    """Write records (one DatasetWriter per run_id, links from their `related`) and run manifests."""
    from crawler.store import DatasetWriter, write_run_manifest

    by_run: dict[str, list[dict]] = {}
    for r in records:
        by_run.setdefault(r["run_id"], []).append(r)
    for run_id, recs in by_run.items():
        with DatasetWriter(str(out), run_id) as w:
            for r in recs:
                w.add(r)
    for run in runs or []:
        write_run_manifest(out, run)
    return out


def sample_records() -> list[dict]:
    """Two sites; known months, categories, tags and every kind of health problem once."""
    jan = datetime(2026, 1, 10, tzinfo=timezone.utc)
    feb = datetime(2026, 2, 5, tzinfo=timezone.utc)
    recs = []
    for i in range(5):
        recs.append(article(A, 100 + i, jan + timedelta(days=i), category="园区动态" if i < 3 else "土地出让",
                            tags=("招商", "金山") if i % 2 == 0 else ("招商",)))
    recs.append(article(A, 110, feb, category="土地出让", tags=(), text=""))  # empty body
    recs.append(article(A, 111, feb, category="土地出让", text="图为园区一角"))  # short body
    recs.append(article(A, 112, None, category="园区动态", text=BODY, precision=None))  # undated
    recs.append(article(B, 200, feb, category="招商资讯", tags=("来安",),
                        text=BODY + "\n扫一扫关注公众号"))  # a leaked boilerplate line
    recs.append(article(B, 201, feb, category="招商资讯", tags=("来安",),
                        text="這個園區的發展很快，今年新增企業三十家。\n" + BODY))  # Traditional left
    return recs


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path / "data", sample_records(), runs=[
        {"run_id": "r1", "started": "2026-03-01T00:00:00+00:00", "finished": "2026-03-01T00:05:00+00:00",
         "sites": [A, B], "mode": "full", "articles": {"new": 10, "changed": 0, "unchanged": 0},
         "outcomes": {"written": 10, "gone_404": 2}},
    ])


def test_counts_per_site_and_month(dataset):
    s = stats.corpus_stats(dataset)
    assert s["articles"] == 10
    months = {(r["site"], r["month"]): r["articles"] for r in s["by_site_month"]}
    assert months == {(A, "2026-01"): 5, (A, "2026-02"): 2, (A, "undated"): 1, (B, "2026-02"): 2}
    sites = {r["site"]: r for r in s["sites"]}
    assert sites[A]["articles"] == 8 and sites[B]["articles"] == 2
    assert sites[A]["newest"].startswith("2026-02-05")


def test_categories_and_tags(dataset):
    s = stats.corpus_stats(dataset)
    cats = {(c["site"], c["category"]): (c["articles"], c["share"]) for c in s["categories"]}
    assert cats[(A, "园区动态")] == (4, 0.5)
    assert cats[(A, "土地出让")] == (4, 0.5)
    assert cats[(B, "招商资讯")] == (2, 1.0)
    top = {t["tag"]: t["articles"] for t in s["tags"]["top"]}
    assert top["招商"] == 7 and top["金山"] == 3 and top["来安"] == 2
    assert s["tags"]["articles_without_tags"] == 1
    assert s["tags"]["distinct"] == 3


def test_body_length_and_precision(dataset):
    s = stats.corpus_stats(dataset)
    bl = s["body_length"]
    assert bl["min"] == 0 and bl["max"] == max(len("".join(r["text"].split())) for r in sample_records())
    assert sum(b["articles"] for b in bl["histogram"]) == 10
    assert bl["histogram"][0] == {"from": 0, "to": 1, "articles": 1}  # the empty body
    assert s["date_precision"] == {"day": 9, "none": 1}


def test_extraction_health(dataset):
    h = stats.corpus_stats(dataset)["health"]
    assert h["empty_bodies"] == 1
    assert h["short_bodies"] == 1 and h["short_examples"] == [f"http://{A}/index.php/post/111.html"]
    assert h["boilerplate_rows"] == 1
    assert h["boilerplate_examples"] == [{"url": f"http://{B}/index.php/post/200.html", "patterns": ["qr-follow"]}]
    assert h["traditional_rows"] == 1
    assert {"這", "個", "園", "發", "展"} - {"展"} <= set(h["traditional_chars"])
    assert h["undated"] == 1


def test_newest_version_only(tmp_path):
    old = article(A, 1, datetime(2026, 1, 1, tzinfo=timezone.utc), text="旧的正文。", run_id="r1",
                  fetched=datetime(2026, 1, 2, tzinfo=timezone.utc))
    new = article(A, 1, datetime(2026, 1, 1, tzinfo=timezone.utc), text="新的正文，更长一些。", run_id="r2",
                  fetched=datetime(2026, 2, 2, tzinfo=timezone.utc))
    out = write_dataset(tmp_path / "d", [old, new])
    s = stats.corpus_stats(out)
    assert s["articles"] == 1
    assert s["body_length"]["max"] == len("新的正文，更长一些。")


def test_empty_dataset_folder(tmp_path):
    (tmp_path / "d" / "articles").mkdir(parents=True)
    s = stats.corpus_stats(tmp_path / "d")
    assert s["articles"] == 0 and s["by_site_month"] == [] and s["health"]["empty_bodies"] == 0


def test_missing_and_foreign_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        stats.corpus_stats(tmp_path / "nope")
    (tmp_path / "photos").mkdir()
    with pytest.raises(DatasetError, match="is not a parkcorpus dataset"):
        stats.corpus_stats(tmp_path / "photos")


def test_traditional_left_counts_rows_not_simplified_ones():
    rows, chars = stats.traditional_left(["简体中文的句子。", "發展", "", "园区發展"])
    assert rows == 2
    assert chars == {"發": 2}


def test_stats_cli_json_and_table(dataset):
    res = CliRunner().invoke(main, ["stats", "--out", str(dataset), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["articles"] == 10 and data["health"]["boilerplate_rows"] == 1
    res = CliRunner().invoke(main, ["stats", "--out", str(dataset)])
    assert res.exit_code == 0, res.output
    for needle in (A, B, "2026-01", "园区动态", "招商", "empty bodies", "Traditional"):
        assert needle in res.output, needle


def test_stats_uses_out_from_config(dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parkcorpus.toml").write_text(f'out = "{dataset.as_posix()}"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["stats", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["articles"] == 10


def test_sites_lists_registry_with_stored_counts(dataset):
    res = CliRunner().invoke(main, ["sites", "--out", str(dataset), "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["host"]: r for r in json.loads(res.stdout)["sites"]}
    assert rows[A]["posts"] == 8 and rows[A]["name"] == "jinshan" and rows[A]["registered"]
    assert rows[B]["posts"] == 2
    assert rows[A]["newest_post"].startswith("2026-02-05")
    assert rows[A]["last_crawl"].startswith("2026-03-01T00:05")
    res = CliRunner().invoke(main, ["sites", "--out", str(dataset)])
    assert res.exit_code == 0 and "jinshan" in res.output and "laian.021cf.cn" in res.output


def test_sites_without_dataset_still_lists_registry(tmp_path):
    res = CliRunner().invoke(main, ["sites", "--out", str(tmp_path / "none"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["dataset"] is False
    assert {r["host"] for r in data["sites"]} >= {A, B}
    assert all(r["posts"] == 0 for r in data["sites"])


def test_sites_shows_unregistered_stored_site(tmp_path):
    out = write_dataset(tmp_path / "d", [article("wuhu.021cf.cn", 5, datetime(2026, 1, 1, tzinfo=timezone.utc))])
    data = stats.sites_overview(out)
    rows = {r["host"]: r for r in data["sites"]}
    assert rows["wuhu.021cf.cn"]["posts"] == 1 and rows["wuhu.021cf.cn"]["registered"] is False


def test_stats_text_on_empty_dataset_says_what_to_do(tmp_path):
    from crawler.store import ensure_dataset

    ensure_dataset(tmp_path / "d")
    res = CliRunner().invoke(main, ["stats", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert f"No articles stored yet: run `parkcorpus crawl --out {tmp_path / 'd'}` first." in res.output


def test_empty_result_has_the_same_shape(dataset, tmp_path):
    from crawler.store import ensure_dataset

    full = stats.corpus_stats(dataset)
    ensure_dataset(tmp_path / "e")
    empty = stats.corpus_stats(tmp_path / "e")
    assert empty.keys() == full.keys()
    for key in ("tags", "body_length", "health"):
        assert empty[key].keys() == full[key].keys(), key
    assert [(b["from"], b["to"]) for b in empty["body_length"]["histogram"]] == \
        [(b["from"], b["to"]) for b in full["body_length"]["histogram"]]
