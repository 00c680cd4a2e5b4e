"""Syndication groups (crawler.dedup): copies grouped, template siblings kept apart, incremental state."""

from __future__ import annotations

import datetime as dt
import logging
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler import dedup
from dedup_helpers import copy_of, labelled_set, sibling_of

UTC = dt.timezone.utc

STORY = (
    "近日，金山区枫泾镇JSS6-0101单元地块通过上海市土地交易市场公开挂牌出让，经过23轮激烈竞价，"
    "最终由上海中晟环保科技有限公司以3560万元竞得，并于11月5日签订了国有建设用地使用权出让合同。\n"
    "本次出让地块东至兴工路，南至盛瓯路，西至新农路，北至春华路。出让面积26780.5平方米，容积率1.6，"
    "土地用途为工业用地，出让年限50年，成交价格3560万元，竞得人为上海中晟环保科技有限公司。\n"
    "据了解，该地块规划总建筑面积约42848.8平方米，拟建设生产厂房、研发楼及配套用房，项目总投资约"
    "12.5亿元，预计可新增就业岗位320个。\n"
    "下一步，枫泾镇将持续做好项目跟踪服务，协调解决项目建设中的难点问题，推动项目早开工、早投产、早见效。"
)
FACTORY = (
    "现有金山工业区单层厂房出租，建筑面积6800平方米，产证齐全，可分租。\n"
    "面积：厂房6800平方米，另有办公楼570平方米\n位置：亭林镇夏盛路附近，距G15沈海高速出入口约5公里\n"
    "层高：10米，带10吨行车\n电力：800KVA变压器\n价格：1.2元/平方米/天\n地坪：环氧地坪\n环评：可做食品、医疗器械\n"
    "该厂房适合新材料、生物医药等行业企业，周边配套成熟，员工宿舍、食堂一应俱全，可随时看房。"
)


def _add(idx, site, pid, text, day=1):
    return idx.add(site, pid, text, url=f"http://{site}/index.php/post/{pid}.html",
                   published=dt.datetime(2026, 11, day, tzinfo=UTC), content_hash=f"{site}{pid}{hash(text)}")


def test_copy_with_other_boilerplate_added_sentence_and_headline_is_grouped(tmp_path):
    with dedup.DupIndex(tmp_path) as idx:
        assert _add(idx, "jinshan.021cf.cn", 1, STORY, day=5) == []
        copy = ("来源：上海金山发布\n【金山区融媒体中心讯】\n" + STORY.replace("下一步，", "记者从现场了解到，项目建设各项准备工作已基本就绪。\n下一步，")
                + "\n（本文转载自上观新闻，如有侵权请联系删除）\n责任编辑：王婕")
        found = _add(idx, "songjiang.021cf.cn", 7, copy, day=6)
        assert [(s, p) for s, p, _ in found] == [("jinshan.021cf.cn", 1)]
        groups = idx.groups()
    assert {(g["site"], g["post_id"]) for g in groups} == {("jinshan.021cf.cn", 1), ("songjiang.021cf.cn", 7)}
    first = next(g for g in groups if g["post_id"] == 1)
    later = next(g for g in groups if g["post_id"] == 7)
    assert first["dup_of"] is None and first["similarity"] == 1.0
    assert later["dup_of"] == "http://jinshan.021cf.cn/index.php/post/1.html"
    assert later["dup_group"] == first["dup_group"] == "jinshan.021cf.cn/1"
    assert 0.5 <= later["similarity"] < 1.0 and later["group_size"] == 2


def test_traditional_copy_is_the_same_story(tmp_path):
    from crawler.normalize import converter

    with dedup.DupIndex(tmp_path) as idx:
        _add(idx, "jinshan.021cf.cn", 1, STORY)
        assert _add(idx, "kunshan.021cf.cn", 2, converter("s2t").convert(STORY))


@pytest.mark.parametrize("text", [STORY, FACTORY])
def test_template_siblings_with_other_numbers_are_not_grouped(tmp_path, text):
    rng = random.Random(3)
    with dedup.DupIndex(tmp_path) as idx:
        _add(idx, "jinshan.021cf.cn", 1, text)
        for pid in range(2, 6):
            sib = sibling_of(text, rng)
            ha, hb = (dedup.shingle_hashes(dedup.normalize_for_dedup(t).replace(".", "")) for t in (text, sib))
            assert dedup.jaccard(ha, hb) > 0.3  # the words are the template's: only numbers tell them apart
            assert _add(idx, "jinshan.021cf.cn", pid, sib) == []
        assert idx.groups() == []


def test_number_conflicts_compare_numbers_after_the_same_words():
    a = dedup.numbers_by_slot(dedup.normalize_for_dedup("建筑面积6800平方米，层高10米，另附说明123"))
    b = dedup.numbers_by_slot(dedup.normalize_for_dedup("建筑面积5200平方米，层高10米。新增一句含数字88"))
    conflicts, shared = dedup.number_conflicts(a, b)
    assert (conflicts, shared) == (1, 2)


def test_number_slots_mask_digits_before_a_number_and_skip_parts_of_one_number():
    # the slot is the 4 characters before a number, digits in it masked; a slot of only digits and
    # points (the 05 of 2026.11.05) is no slot; leading zeros do not make another number
    got = dedup.numbers_by_slot("价格0元建筑面积6800平方米层高010米2026.11.05")
    assert got == {"价格": {"0"}, "建筑面积": {"6800"}, "方米层高": {"10"}, "###米": {"2026.11"}}


def test_earliest_post_is_dup_of_even_when_it_arrives_last(tmp_path):
    with dedup.DupIndex(tmp_path) as idx:
        _add(idx, "laian.021cf.cn", 9, "来源：滁州日报\n" + STORY, day=9)
        _add(idx, "fengxian.021cf.cn", 4, STORY + "\n责任编辑：李海涛", day=7)
        _add(idx, "jinshan.021cf.cn", 3, STORY, day=3)
        groups = idx.groups()
    assert len(groups) == 3 and {g["dup_group"] for g in groups} == {"jinshan.021cf.cn/3"}
    assert sum(g["dup_of"] is None for g in groups) == 1


def test_short_and_empty_texts_are_never_grouped(tmp_path):
    with dedup.DupIndex(tmp_path) as idx:
        assert _add(idx, "jinshan.021cf.cn", 1, "图为厂房外景") == []
        assert _add(idx, "laian.021cf.cn", 1, "图为厂房外景") == []
        assert _add(idx, "laian.021cf.cn", 2, "") == []
        assert idx.groups() == []


def test_state_persists_and_a_changed_article_loses_its_pairs(tmp_path):
    with dedup.DupIndex(tmp_path) as idx:
        _add(idx, "jinshan.021cf.cn", 1, STORY)
    with dedup.DupIndex(tmp_path) as idx:  # a later run: the LSH index comes back from disk
        assert _add(idx, "laian.021cf.cn", 2, STORY + "\n编辑：张立新")
        assert len(idx.groups()) == 2
        assert _add(idx, "laian.021cf.cn", 2, FACTORY) == []  # the post now carries another text
        assert idx.groups() == []
        assert idx.count() == 2


def test_a_crash_before_close_rebuilds_the_lsh_from_signatures(tmp_path):
    with dedup.DupIndex(tmp_path) as idx:
        _add(idx, "jinshan.021cf.cn", 1, STORY)
    idx = dedup.DupIndex(tmp_path)
    _add(idx, "kunshan.021cf.cn", 5, FACTORY)
    idx.db.close()  # killed: the pickle on disk does not know post 5
    with dedup.DupIndex(tmp_path) as again:
        assert [(s, p) for s, p, _ in _add(again, "laian.021cf.cn", 6, FACTORY + "\n编辑：王婕")] == [
            ("kunshan.021cf.cn", 5)]


def test_corrupt_index_is_rebuilt_with_a_warning(tmp_path, caplog):
    path = tmp_path / "index" / dedup.INDEX_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 200)
    with caplog.at_level(logging.WARNING, logger="crawler.dedup"):
        with dedup.DupIndex(tmp_path) as idx:
            assert idx.rebuilt and idx.count() == 0
    assert "rebuilding" in caplog.text


def test_duplicates_table_has_the_schema(tmp_path):
    with dedup.DupIndex(tmp_path) as idx:
        _add(idx, "jinshan.021cf.cn", 1, STORY)
        _add(idx, "laian.021cf.cn", 2, "来源：滁州日报\n" + STORY)
        table = dedup.duplicates_table(idx, run_id="run-1")
    assert table.schema == dedup.duplicates_schema() and table.num_rows == 2
    assert set(table.column("run_id").to_pylist()) == {"run-1"}


def test_pairwise_precision_and_recall_on_the_labelled_set(tmp_path):
    rows, gold = labelled_set(240, seed=9, siblings=60)
    with dedup.DupIndex(tmp_path) as idx:
        for r in rows:
            idx.add(r["site"], r["post_id"], r["text"], url=r["url"], published=r["published"],
                    content_hash=r["content_hash"])
        got = dedup.pairs(idx.groups())
    tp = len(got & gold)
    assert len(gold) > 200
    assert tp / len(got) >= 0.98 and tp / len(gold) >= 0.95, (tp / len(got), tp / len(gold))


def _write_story_and_copy(out):
    """An articles dataset of two posts on one site: a story and its repost (post 2)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = out / "articles" / "site=jinshan.021cf.cn" / "year=2026" / "month=11"
    folder.mkdir(parents=True)
    rows = [{"post_id": 1, "url": "u1", "text": STORY, "published": dt.datetime(2026, 11, 1, tzinfo=UTC),
             "content_hash": "a"},
            {"post_id": 2, "url": "u2", "text": "来源：上观新闻\n" + STORY,
             "published": dt.datetime(2026, 11, 2, tzinfo=UTC), "content_hash": "b"}]
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-r-0.parquet")


def test_build_reads_the_articles_dataset(tmp_path):
    _write_story_and_copy(tmp_path)
    with dedup.build(tmp_path) as idx:
        assert [g["post_id"] for g in idx.groups()] == [1, 2]


def test_copy_helper_really_changes_the_text():
    rng = random.Random(1)
    title, text = copy_of(STORY, "金山区枫泾镇一宗工业用地成交", rng)
    assert text != STORY and STORY.split("\n")[0] in text


def test_duplicates_dataset_newest_file_per_site_and_old_files_removed(tmp_path):
    from crawler import dedup
    from tests.dedup_helpers import labelled_set

    rows, gold = labelled_set(60, seed=5, siblings=0)
    with dedup.DupIndex(tmp_path) as idx:
        idx.add_rows(rows[: len(rows) // 2])
        first = dedup.write_duplicates(tmp_path, idx, "run-a")
        idx.add_rows(rows[len(rows) // 2:])
        second = dedup.write_duplicates(tmp_path, idx, "run-b")
    files = sorted((tmp_path / "duplicates").rglob("*.parquet"))
    assert len(files) == second["files"] and all("run-b" in f.name for f in files)
    table = dedup.read_duplicates(tmp_path)
    assert table.num_rows == second["rows"] >= first["rows"]
    assert set(table.column("run_id").to_pylist()) == {"run-b"}
    assert len(dedup.pairs(table.to_pylist()) & gold) >= 0.9 * len(gold)
    # a reader that finds an older file beside the newest (a run between writing and cleaning up)
    # still reads only the newest
    site_dir = files[0].parent
    (site_dir / "dup-00000000T000000000000Z-old.parquet").write_bytes(files[0].read_bytes())
    assert dedup.read_duplicates(tmp_path).num_rows == table.num_rows


def test_rebuild_replaces_the_index_only_when_complete(tmp_path, monkeypatch):
    _write_story_and_copy(tmp_path)
    with dedup.DupIndex(tmp_path) as idx:  # the index a crawl kept: one post more than the articles
        _add(idx, "kunshan.021cf.cn", 5, FACTORY)
    path = tmp_path / "index" / dedup.INDEX_FILE

    def stop(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(dedup, "write_duplicates", stop)
    with pytest.raises(KeyboardInterrupt):
        dedup.rebuild(tmp_path, "run-x")
    assert sorted(p.name for p in path.parent.iterdir()) == ["dedup-lsh.pickle", "dedup.sqlite"]
    with dedup.DupIndex(tmp_path) as idx:
        assert idx.rebuilt is None and idx.count() == 1  # the old index, whole
    monkeypatch.undo()
    assert dedup.rebuild(tmp_path, "run-y")["rows"] == 2
    with dedup.DupIndex(tmp_path) as idx:
        assert idx.count() == 2 and [g["post_id"] for g in idx.groups()] == [1, 2]
    assert not any(".tmp" in p.name for p in path.parent.iterdir())


def _groups_of(path, rows, signed: bool, process: bool = False):
    from crawler.derived import DerivedIndexes, DerivedProcess

    cls = DerivedProcess if process else DerivedIndexes
    derived = cls(path, "run")
    for r in rows:
        derived.add(r, dedup.signature(r["text"], r["content_hash"]) if signed else None)
    derived.close(written=False)
    with dedup.DupIndex(path) as idx:
        return idx.groups()


def test_signatures_made_ahead_give_the_same_groups_here_and_in_the_index_process(tmp_path):
    # the crawl makes each text's signature in its extraction worker and feeds a DerivedProcess
    rows, gold = labelled_set(n_stories=60, seed=7)
    plain = _groups_of(tmp_path / "plain", rows, signed=False)
    assert plain and len({g["dup_group"] for g in plain}) >= 5
    assert _groups_of(tmp_path / "signed", rows, signed=True) == plain
    assert _groups_of(tmp_path / "process", rows, signed=True, process=True) == plain


def test_a_signature_of_another_text_is_not_used(tmp_path):
    rows, _ = labelled_set(n_stories=30, seed=3)
    plain = _groups_of(tmp_path / "plain", rows, signed=False)
    with dedup.DupIndex(tmp_path / "wrong") as idx:
        for r in rows:  # every signature made from another post's text: content_hash tells
            idx.add(r["site"], r["post_id"], r["text"], url=r["url"], published=r["published"],
                    content_hash=r["content_hash"], sig=dedup.signature(rows[0]["text"], rows[0]["content_hash"]))
        assert idx.groups() == plain


def test_a_dead_index_process_never_stops_the_crawl(tmp_path, caplog):
    import os
    import signal

    from crawler.derived import DerivedProcess

    rows, _ = labelled_set(n_stories=6, seed=5)
    derived = DerivedProcess(tmp_path, "run")
    derived.add(rows[0])
    os.kill(derived.proc.pid, signal.SIGKILL)
    derived.proc.join()
    with caplog.at_level(logging.WARNING):
        for r in rows[1:]:
            derived.add(r)  # neither raises nor blocks
        assert derived.close() == {}
    assert "duplicate index process is gone" in caplog.text


def test_minhash_values_are_datasketchs_update_batch():
    # the signature's MinHash values are computed in numpy: they must be the values datasketch's
    # own update_batch gives (the index stores them and compares them with datasketch's LSH)
    import numpy as np

    rng = np.random.default_rng(5)
    texts = [dedup.normalize_for_dedup(t).replace(".", "") for t in (STORY, FACTORY, STORY[:40])]
    batches = [dedup.shingle_hashes(t) for t in texts] + [
        rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32) for n in (1, 7, 1000)]
    batches.append(np.array([0, 1, 2**32 - 1], dtype=np.uint32))
    for hashes in batches:
        m = dedup._minhash(hashfunc=int)
        m.update_batch(hashes)
        got = dedup.minhash_values(hashes)
        assert got.dtype == np.uint32 and got.tolist() == m.hashvalues.tolist()
        assert dedup.minhash(hashes).jaccard(m) == 1.0
    assert dedup.minhash(np.zeros(0, dtype=np.uint32)).hashvalues.tolist() == dedup._minhash().hashvalues.tolist()


def test_shingle_hashes_are_the_stored_polynomial_hashes_sorted_and_unique():
    # the index stores these hashes: they must stay the polynomial hash of each 5-character window
    # (uint64 wrap-around), mixed by the Fibonacci multiplier, sorted and without repeats
    import numpy as np

    def reference(norm, k=5):
        out = set()
        for i in range(len(norm) - k + 1):
            h = 0
            for ch in norm[i:i + k]:
                h = (h * 1_000_003 + ord(ch)) % 2**64
            out.add((h * 0x9E3779B97F4A7C15) % 2**64 >> 32)
        return sorted(out)

    for text in (STORY, FACTORY, "园区园区园区园区园区园区", "abcde", "abcd", "𠀋𠀌𠀍𠀎𠀏𠀐"):
        norm = dedup.normalize_for_dedup(text).replace(".", "")
        got = dedup.shingle_hashes(norm)
        assert got.dtype == np.uint32 and got.tolist() == reference(norm)


def test_dedup_normalisation_is_the_search_normalisation_without_punctuation():
    # normalize_for_dedup drops punctuation before folding full-width forms (cheaper); that must
    # give _NOT_WORD.sub("", normalize_search(text)) for every character, so check each one
    # (both steps map one character at a time: a separator kept by both keeps them apart)
    from crawler import search

    sep = "\u4e00"  # 一: a word character, unchanged by either step
    text = sep.join(chr(c) for c in range(0x110000) if c != 0x4E00)
    folded = text.translate(search._FULLWIDTH)  # the full-width folding as a plain table
    assert search.fold_fullwidth(text) == folded
    assert search.fold_fullwidth(dedup._NOT_WORD_UNFOLDED.sub("", text)) == dedup._NOT_WORD.sub("", folded)
    for t in (STORY, FACTORY, "據瞭解，園區（集團）ＡＢＣ１２３．５％＿_　面積6800㎡", "沈思远 資料", "\udcffabc", "", None):
        assert dedup.normalize_for_dedup(t) == dedup._NOT_WORD.sub("", search.normalize_search(t))


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "index-process"])
def test_drain_finishes_the_groups_and_close_writes_them_only_when_the_rows_were_written(tmp_path, process):
    """As the crawl's pipeline: drain() (beside the writer's close) makes the groups, close()
    writes <out>/duplicates/ when the writer succeeded, and nothing when it failed."""
    from crawler.derived import DerivedIndexes, DerivedProcess

    rows, _gold = labelled_set(n_stories=30, seed=3)
    cls = DerivedProcess if process else DerivedIndexes
    summaries = {}
    for name, drain, written in (("plain", False, True), ("drained", True, True), ("failed", True, False)):
        out = tmp_path / name
        out.mkdir()
        derived = cls(out, "run")
        for r in rows:
            derived.add(r, dedup.signature(r["text"], r["content_hash"]))
        if drain:
            derived.drain()
        summaries[name] = derived.close(written=written)
    plain = dedup.read_duplicates(tmp_path / "plain")
    assert plain.num_rows and summaries["plain"]["duplicates"]["rows"] == plain.num_rows
    assert dedup.read_duplicates(tmp_path / "drained").equals(plain)
    assert summaries["drained"]["duplicates"] == summaries["plain"]["duplicates"]
    assert dedup.read_duplicates(tmp_path / "failed").num_rows == 0 and "duplicates" not in summaries["failed"]
    with dedup.DupIndex(tmp_path / "failed") as idx:  # the index itself keeps what was fed
        assert idx.count() == len(rows)



@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 2**32 - 1), max_size=60), st.sets(st.integers(0, 2**32 - 1), max_size=60),
       st.sets(st.integers(0, 2**32 - 1), max_size=60))
def test_jaccard_is_the_jaccard_of_the_two_hash_sets(only_a, only_b, shared):
    import numpy as np

    a, b = only_a | shared, only_b | shared
    ha, hb = (np.array(sorted(x), dtype=np.uint32) for x in (a, b))  # as shingle_hashes makes them
    want = len(a & b) / len(a | b) if a | b else 0.0
    assert dedup.jaccard(ha, hb) == pytest.approx(want)
