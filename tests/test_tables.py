"""crawler.tables: HTML tables of a post body as caption, header and rows of normalised text."""

from __future__ import annotations

import lxml.html
import pytest

from crawler import fact_rules
from crawler.normalize import ExtractOptions
from crawler.tables import extract_tables


def body(html: str):
    return lxml.html.fragment_fromstring(html, create_parent="div")


def test_th_header_and_plain_rows():
    el = body("""<table><thead><tr><th>地块名称</th><th>出让面积（平方米）</th><th>土地用途</th></tr></thead>
      <tbody><tr><td>朱泾镇JSC2-0102单元06-03地块</td><td>23,456.7</td><td>工业用地</td></tr></tbody></table>""")
    [t] = extract_tables(el)
    assert t["header"] == ["地块名称", "出让面积（平方米）", "土地用途"]
    assert t["rows"] == [["朱泾镇JSC2-0102单元06-03地块", "23,456.7", "工业用地"]]
    assert t["caption"] is None


def test_td_label_row_is_the_header_and_a_spanning_title_row_the_caption():
    # Word export: every cell a <td>, a title row over the whole width, spacer rows
    el = body("""<table border="1"><tr><td colspan="5"><strong>2024年第6期国有建设用地使用权挂牌出让地块一览表</strong></td></tr>
      <tr><td>序号</td><td>宗地编号</td><td>土地坐落</td><td>用地面积(亩)</td><td>挂牌起始价(万元)</td></tr>
      <tr><td>&nbsp;</td><td></td><td></td><td></td><td></td></tr>
      <tr><td>1</td><td>来工2024-17号</td><td>来安县汊河镇, 东至永阳路</td><td>45.6</td><td>1368</td></tr></table>""")
    [t] = extract_tables(el)
    assert t["caption"] == "2024年第6期国有建设用地使用权挂牌出让地块一览表"
    assert t["header"] == ["序号", "宗地编号", "土地坐落", "用地面积(亩)", "挂牌起始价(万元)"]
    assert t["rows"] == [["1", "来工2024-17号", "来安县汊河镇, 东至永阳路", "45.6", "1368"]]


def test_data_first_row_is_not_taken_for_a_header():
    el = body("<table><tr><td>枫泾镇新农路北侧地块</td><td>12000平方米</td></tr>"
              "<tr><td>亭林镇松金公路东侧地块</td><td>8000平方米</td></tr></table>")
    [t] = extract_tables(el)
    assert t["header"] == []
    assert len(t["rows"]) == 2


def test_rowspan_and_colspan_are_expanded_to_the_header_width():
    el = body("""<table><tr><th>地块编号</th><th>土地用途</th><th colspan="2">规划指标</th></tr>
      <tr><td>A-1</td><td rowspan="3">工业用地</td><td>容积率≤2.0</td><td>密度≥40%</td></tr>
      <tr><td>A-2</td><td colspan="2">同上</td></tr>
      <tr><td>A-3</td><td>1.2</td></tr></table>""")
    [t] = extract_tables(el)
    assert len(t["header"]) == 4
    assert all(len(r) == 4 for r in t["rows"])
    assert [r[1] for r in t["rows"]] == ["工业用地"] * 3
    assert t["rows"][1] == ["A-2", "工业用地", "同上", "同上"]
    assert t["rows"][2] == ["A-3", "工业用地", "1.2", ""]


def test_two_row_header_under_a_spanning_label():
    el = body("""<table><tr><th rowspan="2">地块名称</th><th colspan="2">出让面积</th><th rowspan="2">起始价（万元）</th></tr>
      <tr><th>平方米</th><th>亩</th></tr>
      <tr><td>张堰镇03-05地块</td><td>20000.1</td><td>30.0</td><td>900</td></tr></table>""")
    [t] = extract_tables(el)
    assert t["header"] == ["地块名称", "出让面积（平方米）", "出让面积（亩）", "起始价（万元）"]
    assert t["rows"] == [["张堰镇03-05地块", "20000.1", "30.0", "900"]]


def test_huge_spans_are_capped():
    el = body('<table><tr><th>地块名称</th><th colspan="100000">面积</th></tr>'
              '<tr><td rowspan="99999">A</td><td>1</td></tr><tr><td>2</td></tr></table>')
    [t] = extract_tables(el)
    assert len(t["header"]) <= fact_rules.MAX_COLS
    assert len(t["rows"]) == 2
    assert t["rows"][1][0] == "A"


def test_nested_table_is_its_own_table_and_not_in_the_outer_cell():
    el = body("""<table><tr><td>出让地块如下：<table><tr><th>地块名称</th><th>用途</th></tr>
      <tr><td>B-2地块</td><td>研发用地</td></tr></table></td></tr></table>""")
    tables = extract_tables(el)
    assert len(tables) == 2
    outer, inner = tables
    assert outer["rows"] == [["出让地块如下："]]
    assert inner["header"] == ["地块名称", "用途"]
    assert inner["rows"] == [["B-2地块", "研发用地"]]


def test_cells_are_normalised_like_the_body_and_keep_full_width_digits():
    el = body("<table><tr><th>出讓面積</th><th>土地用途</th></tr><tr><td>１２,３４５ 平方米</td>"
              "<td>工業\u3000用地<br/>(M1)</td></tr></table>")
    [t] = extract_tables(el)
    assert t["header"][0] == "出让面积"
    assert t["rows"][0] == ["１２,３４５ 平方米", "工业 用地 (M1)"]
    [kept] = extract_tables(el, ExtractOptions(convert="none"))
    assert kept["header"][0] == "出讓面積"


@pytest.mark.parametrize("html", [
    "<table></table>",
    "<table><tr></tr><tr><td> </td></tr></table>",
    "<table><tr><td colspan='x' rowspan='-3'>a</td><td>b</td></tr></table>",
    "<table><tr><td>a<td>b<tr><td>c</table>",  # unclosed cells and rows
])
def test_malformed_markup_never_raises(html):
    tables = extract_tables(body(html))
    for t in tables:
        width = len(t["header"]) or max(len(r) for r in t["rows"])
        assert all(len(r) == width for r in t["rows"])


def test_no_element_no_tables():
    assert extract_tables(None) == []
    assert extract_tables(body("<p>没有表格</p>")) == []


from hypothesis import given, settings, strategies as st  # noqa: E402

_CELL = st.sampled_from(["地块名称", "出让面积（亩）", "起始价（万元）", "竞得人", "12,345", "35.2亩", "", " ",
                         "≤2.0", "上海某某有限公司", "<b>1</b>", "<br/>", "&nbsp;", "１２３"])
_ATTR = st.sampled_from(["", ' colspan="3"', ' rowspan="2"', ' colspan="0"', ' rowspan="x"', ' colspan="99999"'])
_TAG = st.sampled_from(["td", "th"])


@st.composite
def _table_html(draw):
    rows = draw(st.lists(st.lists(st.tuples(_TAG, _ATTR, _CELL), max_size=6), max_size=6))
    close = draw(st.booleans())
    out = "<table>"
    for row in rows:
        out += "<tr>" + "".join(f"<{t}{a}>{c}" + (f"</{t}>" if close else "") for t, a, c in row)
        out += "</tr>" if close else ""
    return out + ("</table>" if close else "")


@settings(max_examples=150, deadline=None)
@given(_table_html())
def test_any_table_markup_gives_rectangular_tables_and_facts_never_raise(html):
    from crawler.facts import derive

    el = body(html)
    tables = extract_tables(el)
    for t in tables:
        width = len(t["header"]) if t["header"] else (max(len(r) for r in t["rows"]) if t["rows"] else 0)
        assert all(len(r) == width for r in t["rows"])
    rec = {"site": "s", "post_id": 1, "url": "u", "title": "挂牌出让公告", "text": "决定以挂牌方式出让。"}
    tables2, doc_type, rows, ads, warnings = derive(rec, el)
    assert tables2 == tables
    assert not any(w.startswith(("tables:", "parcels:", "listings:")) for w in warnings)
