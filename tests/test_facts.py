"""crawler.facts: parcels and listings from hand-written posts modelled on real notices and ads.

The layouts and wordings here are deliberately not those of the replica's generator: they are
written after 国有建设用地使用权挂牌出让公告, 成交公示, 中指研究院 deal briefs and 厂房出租 ads as
the land exchanges and park sites publish them.
"""

from __future__ import annotations

from datetime import date

import lxml.html
import pytest

from crawler import facts
from crawler.facts import derive, listings, parcels, parse_area, parse_money, parse_plot_ratio, parcel_key


def post(html: str, title: str = "", site: str = "jinshan.021cf.cn", post_id: int = 1):
    """A record and its body element, the way extraction hands them over."""
    el = lxml.html.fragment_fromstring(html, create_parent="div")
    lines = []
    for block in el.iter("p", "tr", "li"):
        if block.tag == "tr":
            lines.append(" ".join(" ".join(c.text_content().split()) for c in block if c.text_content().strip()))
        elif block.getparent() is not None and block.getparent().tag not in ("td", "th"):
            lines.append(block.text_content().strip())
    record = {"site": site, "post_id": post_id, "url": f"http://{site}/index.php/post/{post_id}.html",
              "title": title, "text": "\n".join(x for x in lines if x), "category": None}
    return record, el


# ------------------------------------------------------------------------------------------
# Units and wordings
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, unit, m2", [
    ("35.2亩", None, 35.2 * 666.67),
    ("2.5公顷", None, 25_000),
    ("1.2万平方米", None, 12_000),
    ("23,456.78平方米", None, 23_456.78),
    ("１２３４５㎡", None, 12_345),
    ("12345.6", "平方米", 12_345.6),
    ("30", "亩", 30 * 666.67),
    ("三十亩", None, 30 * 666.67),
])
def test_area_units(text, unit, m2):
    assert parse_area(text, unit) == pytest.approx(m2, rel=1e-6)


def test_area_without_any_unit_is_not_guessed():
    assert parse_area("12345", None) is None


@pytest.mark.parametrize("text, unit, yuan", [
    ("1,580万元", None, 15_800_000), ("2.35亿元", None, 235_000_000), ("860 万元", None, 8_600_000),
    ("15800000元", None, 15_800_000), ("1580", "万元", 15_800_000), ("１５８０万元", None, 15_800_000),
])
def test_money_units(text, unit, yuan):
    assert parse_money(text, unit) == pytest.approx(yuan)


def test_a_unit_price_is_not_a_total():
    assert parse_money("860元/平方米") is None


@pytest.mark.parametrize("text, lo, hi", [
    ("1.5", 1.5, 1.5), ("≤2.0", None, 2.0), ("不大于2.5", None, 2.5), ("1.0-2.0", 1.0, 2.0),
    ("1.0～1.6", 1.0, 1.6), ("大于1.0且不大于2.0", 1.0, 2.0), ("1.0≤容积率≤2.0", 1.0, 2.0),
    ("≥1.2", 1.2, None), ("不小于1.0，不大于3.0", 1.0, 3.0), ("/", None, None),
])
def test_plot_ratio_forms(text, lo, hi):
    assert parse_plot_ratio(text) == (lo, hi)


def test_parcel_key_joins_the_forms_of_one_name():
    assert parcel_key("山阳镇JS-0504单元 47-09地块") == parcel_key("JS-0504单元47-09") == "JS0504单元4709"
    assert parcel_key("枫泾镇新农路北侧地块") == "枫泾镇新农路北侧"
    assert parcel_key(None) is None


# ------------------------------------------------------------------------------------------
# Land notices
# ------------------------------------------------------------------------------------------
NOTICE_SHANGHAI = """
<p>上海市金山区国有建设用地使用权出让公告（沪金规资告字〔2025〕第7号）</p>
<p>根据国家有关法律、法规和规章的规定，经上海市金山区人民政府批准，上海市金山区规划和自然资源局决定以公开挂牌方式出让下列地块的国有建设用地使用权。现将有关事项公告如下：</p>
<table border="1">
<tr><td rowspan="2">地块名称</td><td rowspan="2">土地坐落</td><td rowspan="2">出让面积（平方米）</td><td rowspan="2">土地用途</td>
<td colspan="3">规划指标</td><td rowspan="2">出让年限（年）</td><td rowspan="2">起始价（万元）</td><td rowspan="2">竞买保证金（万元）</td></tr>
<tr><td>容积率</td><td>建筑密度</td><td>建筑限高</td></tr>
<tr><td>金山区金山工业区JSC1-0203单元 11-02地块</td><td>东至：规划河道，南至：林慧路，西至：亭卫公路，北至：规划二路</td>
<td>33,612.5</td><td>工业用地</td><td>1.2≤容积率≤2.0</td><td>≥40%</td><td>24米</td><td>50</td><td>3,025</td><td>605</td></tr>
<tr><td>金山区亭林镇TL-0302单元05-01地块</td><td>东至：松金公路，南至：现状企业，西至：规划三路，北至：亭枫公路</td>
<td>12,005</td><td>研发用地</td><td>≤2.5</td><td>≥35%</td><td>50米</td><td>50</td><td>2,160</td><td>432</td></tr>
</table>
<p>二、竞买申请人可于2025年4月1日至2025年4月28日到上海市土地交易市场办理竞买申请手续。</p>
<p>三、本次挂牌出让按照价高者得原则确定竞得人。</p>
"""


def test_shanghai_notice_with_a_two_row_header():
    rec, el = post(NOTICE_SHANGHAI, title="金山区2025年第7期国有建设用地使用权出让公告")
    tables, doc_type, rows, ads, warnings = derive(rec, el)
    assert doc_type == "land_notice"
    assert [r["parcel_name"] for r in rows] == ["金山区金山工业区JSC1-0203单元 11-02地块", "金山区亭林镇TL-0302单元05-01地块"]
    a, b = rows
    assert a["stage"] == "notice" and a["buyer"] is None and a["deal_price_yuan"] is None
    assert a["area_m2"] == pytest.approx(33_612.5)
    assert (a["plot_ratio_min"], a["plot_ratio_max"]) == (1.2, 2.0)
    assert (b["plot_ratio_min"], b["plot_ratio_max"]) == (None, 2.5)
    assert a["start_price_yuan"] == pytest.approx(30_250_000)  # not the 605万元 deposit
    assert a["term_years"] == 50 and a["land_use"] == "工业用地" and a["method"] == "挂牌"
    assert a["location"].startswith("东至：规划河道")
    assert a["parcel_key"] == "JSC10203单元1102" and a["source"] == "table"
    assert "3,025" in a["raw"]
    assert ads == [] and warnings == []


NOTICE_VERTICAL = """
<p>来安县自然资源和规划局国有建设用地使用权拍卖出让公告</p>
<p>经来安县人民政府批准，来安县自然资源和规划局决定以拍卖方式出让1宗国有建设用地使用权，现将有关事项公告如下：</p>
<p>一、拍卖出让地块基本情况</p>
<table>
<tr><td>宗地编号</td><td>来自然资储〔2025〕12号</td></tr>
<tr><td>宗地坐落</td><td>来安县汊河经济开发区永阳大道南侧、清流路东侧</td></tr>
<tr><td>宗地面积</td><td>四十二亩</td></tr>
<tr><td>土地用途</td><td>工业用地</td></tr>
<tr><td>容积率</td><td>不小于1.0</td></tr>
<tr><td>出让年限</td><td>五十年</td></tr>
<tr><td>起拍价</td><td>756万元</td></tr>
</table>
"""


def test_vertical_one_parcel_table_with_chinese_numerals():
    rec, el = post(NOTICE_VERTICAL)
    _, doc_type, rows, _, warnings = derive(rec, el)
    assert doc_type == "land_notice"
    [p] = rows
    assert p["parcel_name"] == "来自然资储〔2025〕12号"
    assert p["location"] == "来安县汊河经济开发区永阳大道南侧、清流路东侧"
    assert p["area_m2"] == pytest.approx(42 * 666.67)
    assert p["term_years"] == 50
    assert (p["plot_ratio_min"], p["plot_ratio_max"]) == (1.0, None)
    assert p["start_price_yuan"] == pytest.approx(7_560_000)
    assert p["method"] == "拍卖" and p["stage"] == "notice"


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------
RESULT_TABLE = """
<p>嘉善县国有建设用地使用权挂牌出让结果公示</p>
<p>我局于2025年3月10日至3月24日在嘉兴市公共资源交易中心以挂牌方式出让的3宗国有建设用地使用权，现已成交，结果公示如下：</p>
<table>
<tr><th>序号</th><th>地块编号</th><th>地块位置</th><th>用地面积（公顷）</th><th>用途</th><th>成交价（万元）</th><th>竞得人</th><th>成交时间</th></tr>
<tr><td>1</td><td>嘉善县2025-09号</td><td>姚庄镇锦绣大道北侧</td><td>2.6680</td><td>工业用地</td><td>1,201</td><td>浙江嘉善凯盛精密机械有限公司</td><td>2025-03-24</td></tr>
<tr><td>2</td><td>嘉善县2025-10号</td><td>姚庄镇宝群路西侧</td><td>1.0012</td><td>工业用地</td><td>流拍</td><td>/</td><td>2025-03-24</td></tr>
<tr><td>3</td><td>嘉善县2025-11号</td><td>惠民街道东升路南侧</td><td>0.8830</td><td>仓储用地</td><td>456.5</td><td>嘉兴润通物流有限公司</td><td>2025-03-24</td></tr>
<tr><td colspan="3">合计</td><td>4.5522</td><td></td><td>1,657.5</td><td></td><td></td></tr>
</table>
<p>公示期：2025年3月25日至2025年4月3日。</p>
"""


def test_result_table_with_hectares_dates_an_unsold_parcel_and_a_total_row():
    rec, el = post(RESULT_TABLE, title="嘉善县国有建设用地使用权挂牌出让结果公示")
    _, doc_type, rows, _, _ = derive(rec, el)
    assert doc_type == "land_result"
    assert [r["parcel_name"] for r in rows] == ["嘉善县2025-09号", "嘉善县2025-10号", "嘉善县2025-11号"]
    sold, unsold, third = rows
    assert sold["stage"] == "result" and sold["buyer"] == "浙江嘉善凯盛精密机械有限公司"
    assert sold["area_m2"] == pytest.approx(26_680)
    assert sold["deal_price_yuan"] == pytest.approx(12_010_000)
    assert sold["deal_date"] == date(2025, 3, 24)
    # 流拍: offered in a result post, not sold -> stage notice, no invented buyer or price
    assert unsold["stage"] == "notice" and unsold["buyer"] is None and unsold["deal_price_yuan"] is None
    assert third["deal_price_yuan"] == pytest.approx(4_565_000) and third["land_use"] == "仓储用地"


CIREA_BRIEF = """
<p>中指研究院·土地数据监测显示：11月15日，上海市金山区成交1宗工业用地，位于山阳镇JS-0504单元47-09地块，出让面积29,998.6平方米，规划容积率不大于2.0，该地块由上海宝衡机电科技有限公司以底价竞得，成交价3240万元，成交楼面价540元/㎡。</p>
<p>上海宝衡机电科技有限公司成立于2016年，注册资本5000万元，主要从事精密机电设备研发与制造。</p>
"""


def test_prose_brief_with_reserve_price_deal():
    rec, el = post(CIREA_BRIEF, title="上海宝衡机电科技有限公司3240万元竞得金山区1宗工业用地")
    _, doc_type, rows, _, _ = derive(rec, el)
    assert doc_type == "land_result"
    [p] = rows
    assert p["source"] == "text"
    assert p["parcel_key"] == "JS0504单元4709"
    assert p["area_m2"] == pytest.approx(29_998.6)
    assert p["buyer"] == "上海宝衡机电科技有限公司"
    assert p["deal_price_yuan"] == pytest.approx(32_400_000)  # not the 5000万元 registered capital
    assert p["floor_price_yuan_m2"] == pytest.approx(540)
    assert (p["plot_ratio_min"], p["plot_ratio_max"]) == (None, 2.0)
    assert "底价竞得" in p["raw"]


def test_reserve_price_deal_takes_the_stated_start_price():
    html = ("<p>12月3日，朱泾镇JSC2-0102单元06-03地块挂牌出让，起始价1,150万元，经现场挂牌，"
            "该地块最终被上海远景汽车零部件有限公司以底价竞得。</p>")
    rec, el = post(html)
    _, doc_type, rows, _, _ = derive(rec, el)
    assert doc_type == "land_result"
    [p] = rows
    assert p["start_price_yuan"] == pytest.approx(11_500_000)
    assert p["deal_price_yuan"] == pytest.approx(11_500_000)
    assert p["buyer"] == "上海远景汽车零部件有限公司"


def test_parcel_in_table_and_prose_is_one_row_and_the_table_wins():
    html = """
<p>近日，枫泾镇FJC1-0201单元18-04地块通过上海市土地交易市场公开挂牌出让，经过21轮竞价，最终由上海力拓新材料科技有限公司以2.35亿元竞得。</p>
<table><tr><td>宗地名称</td><td>土地面积（亩）</td><td>规划用途</td><td>容积率</td><td>挂牌起始价（万元）</td></tr>
<tr><td>枫泾镇FJC1-0201单元 18-04 地块</td><td>96.5</td><td>工业用地</td><td>1.0-2.0</td><td>21800</td></tr></table>
<p>该地块出让面积约6.4万平方米，将建设新材料研发及生产基地。</p>"""
    rec, el = post(html)
    _, doc_type, rows, _, _ = derive(rec, el)
    assert doc_type == "land_result"
    [p] = rows
    assert p["source"] == "table"
    assert p["area_m2"] == pytest.approx(96.5 * 666.67)  # the table's figure, not the prose's "约6.4万"
    assert p["buyer"] == "上海力拓新材料科技有限公司"
    assert p["deal_price_yuan"] == pytest.approx(235_000_000)
    assert p["start_price_yuan"] == pytest.approx(218_000_000)
    assert p["stage"] == "result" and p["method"] == "挂牌"


def test_malformed_parcel_table_yields_no_rows_and_a_warning():
    # columns shifted by a missing cell: areas and prices under the wrong headers
    html = """<p>现将挂牌出让地块情况公告如下：</p>
<table><tr><th>地块名称</th><th>出让面积（平方米）</th><th>起始价（万元）</th><th>土地用途</th></tr>
<tr><td>A地块</td><td>工业用地</td><td>见附件</td><td></td></tr>
<tr><td>B地块</td><td>研发用地</td><td>另行公告</td><td></td></tr></table>"""
    rec, el = post(html, title="国有建设用地使用权挂牌出让公告")
    tables, doc_type, rows, _, warnings = derive(rec, el)
    assert tables and doc_type == "land_notice"
    assert rows == []
    assert len(warnings) == 1 and "unreadable" in warnings[0]


def test_non_land_posts_have_no_parcels():
    rec, el = post("<p>11月5日，金山工业区3个重点项目集中签约，总投资超20亿元。项目落地后将新增产值30亿元。</p>")
    assert parcels(rec, [], rec["text"], doc_type="project") == []


# ------------------------------------------------------------------------------------------
# Listings
# ------------------------------------------------------------------------------------------
LISTING_LINES = """
<p>枫泾镇独门独院单层厂房出租，建筑面积5000平方米（可分租1000平方米起），产证齐全，可办环评。</p>
<p>1、位置：金山区枫泾镇建贡路88号，近G60沪昆高速枫泾出口</p>
<p>2、层高：9米，带两部10吨行车</p>
<p>3、承重：地坪承重3吨/㎡</p>
<p>4、配电：500KVA</p>
<p>5、租金：0.9元/㎡/天（含税）</p>
<p>有意者请联系。</p>
"""


def test_labelled_listing_lines():
    rec, el = post(LISTING_LINES, title="金山枫泾5000平方米单层厂房出租 可分租")
    _, doc_type, _, ads, _ = derive(rec, el)
    assert doc_type == "listing"
    [a] = ads
    assert a["kind"] == "rent" and a["property"] == "厂房"
    assert a["area_m2"] == 5000 and a["height_m"] == 9
    assert a["floor_load_t_m2"] == 3 and a["power_kva"] == 500
    assert (a["price_value"], a["price_unit"]) == (0.9, "元/㎡/天")
    assert a["location"].startswith("金山区枫泾镇建贡路88号")
    assert "层高：9米" in a["raw"]


def test_prose_listing_with_range_monthly_rent():
    html = ("<p>现有松江经济技术开发区双层标准仓库招租，面积800-3200平方米，一楼层高8米，二楼承重1.5吨/平方米，"
            "租金28元/平方米/月，可注册公司。</p>")
    rec, el = post(html, title="松江标准仓库招租")
    _, doc_type, _, ads, _ = derive(rec, el)
    assert doc_type == "listing"
    [a] = ads
    assert a["kind"] == "rent" and a["property"] == "仓库"
    assert a["area_m2"] == 3200 and a["area_raw"] == "800-3200平方米"
    assert a["height_m"] == 8 and a["floor_load_t_m2"] == 1.5
    assert (a["price_value"], a["price_unit"]) == (28, "元/㎡/月")


def test_sale_listing_negotiable_price_and_spec_table():
    html = """<p>嘉善经济技术开发区一处厂房整体出售，土地性质工业，产权清晰。</p>
<table><tr><td>占地面积</td><td>20亩</td></tr><tr><td>建筑面积</td><td>12,600平方米</td></tr>
<tr><td>檐高</td><td>12米</td></tr><tr><td>变压器</td><td>1250KVA</td></tr><tr><td>售价</td><td>面议</td></tr></table>"""
    rec, el = post(html, title="嘉善12600平方米厂房出售")
    _, doc_type, _, ads, _ = derive(rec, el)
    assert doc_type == "listing"
    [a] = ads
    assert a["kind"] == "sale"
    assert a["area_m2"] == 12_600  # the building's area, not the plot's 20亩
    assert a["height_m"] == 12 and a["power_kva"] == 1250
    assert (a["price_value"], a["price_unit"]) == (None, "面议")


def test_listing_table_one_row_per_unit():
    html = """<p>昆山开发区多处厂房出租出售，详情如下：</p>
<table><tr><th>编号</th><th>地址</th><th>面积(㎡)</th><th>层高(米)</th><th>价格</th></tr>
<tr><td>1</td><td>昆山开发区前进东路100号</td><td>2,400</td><td>8</td><td>1.2元/㎡/天</td></tr>
<tr><td>2</td><td>昆山开发区青阳南路8号</td><td>6500</td><td>10</td><td>4800元/㎡</td></tr></table>"""
    rec, el = post(html)
    _, doc_type, _, ads, _ = derive(rec, el)
    assert doc_type == "listing"
    assert [a["area_m2"] for a in ads] == [2400, 6500]
    assert [a["price_unit"] for a in ads] == ["元/㎡/天", "元/㎡"]
    assert [a["location"] for a in ads] == ["昆山开发区前进东路100号", "昆山开发区青阳南路8号"]
    assert all(a["kind"] == "rent_or_sale" for a in ads)


def test_project_news_mentioning_spare_factories_is_not_a_listing():
    html = ("<p>11月8日，上海凯盛医疗器械有限公司年产50万件医用耗材项目在金山工业区正式开工，项目总投资6.5亿元。</p>"
            "<p>据悉，园区目前仍有3500平方米标准厂房可供出租，层高8米以上。</p>"
            "<p>项目建成后将新增产值12亿元，带动上下游企业集聚。</p>")
    rec, el = post(html, title="上海凯盛医疗器械项目开工")
    _, doc_type, _, ads, _ = derive(rec, el)
    assert doc_type == "project"
    assert ads == [] and listings(rec, [], rec["text"], doc_type=doc_type) == []


def test_derive_never_raises_on_broken_input():
    rec = {"site": "x", "post_id": 1, "url": "u", "title": None, "text": None}
    tables, doc_type, rows, ads, warnings = derive(rec, None)
    assert (tables, doc_type, rows, ads) == ([], "other", [], [])
    assert isinstance(warnings, list)


def test_fields_are_exactly_the_dataset_columns():
    from crawler.items import LISTING_SCHEMA, PARCEL_SCHEMA

    extra = {"extractor_version", "run_id", "fetched_at"}
    assert set(facts.PARCEL_FIELDS) | extra == set(PARCEL_SCHEMA.names)
    assert set(facts.LISTING_FIELDS) | extra == set(LISTING_SCHEMA.names)


def test_floor_area_in_prose_is_not_the_parcel_area():
    html = ("<p>中指研究院·土地数据监测显示：吕巷镇成交1宗工业用地，该地块由上海中晟环保科技有限公司斩获，成交价10974万元。</p>"
            "<p>据了解，该地块规划总建筑面积约89287.08平方米，项目总投资约8.4亿元。</p>")
    rec, el = post(html)
    _, doc_type, rows, _, _ = derive(rec, el)
    [p] = rows
    assert p["area_m2"] is None
    assert p["deal_price_yuan"] == pytest.approx(109_740_000)


def test_price_written_with_renminbi():
    html = "<p>经过激烈竞价，亭林镇TL-0302单元12-01地块由上海天恒机电有限公司竞得，成交价格为人民币3,610万元。</p>"
    rec, el = post(html)
    [p] = derive(rec, el)[2]
    assert p["deal_price_yuan"] == pytest.approx(36_100_000)
    assert p["buyer"] == "上海天恒机电有限公司"


def test_schema_doc_documents_every_fact_column():
    import re
    from pathlib import Path

    from crawler.items import FACT_ARTICLE_COLUMNS, LISTING_COLUMNS, PARCEL_COLUMNS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "schema.md").read_text(encoding="utf-8")
    facts_doc = doc[doc.index("## Facts"):]
    for name, *_ in FACT_ARTICLE_COLUMNS + PARCEL_COLUMNS + LISTING_COLUMNS:
        assert re.search(rf"`{name}`", facts_doc), name
    from crawler.fact_rules import DOC_TYPES

    for doc_type in DOC_TYPES:
        assert f"`{doc_type}`" in facts_doc


def test_rows_fit_the_arrow_schemas():
    from crawler.items import listings_table, parcels_table

    rec, el = post(RESULT_TABLE)
    _, _, rows, _, _ = derive(rec, el)
    t = parcels_table([dict(r, extractor_version="1", run_id="r", fetched_at=None) for r in rows])
    assert t.num_rows == 3 and str(t.schema.field("deal_date").type) == "date32[day]"
    rec, el = post(LISTING_LINES)
    ads = derive(rec, el)[3]
    assert listings_table(ads).num_rows == 1


def test_topics_map_category_names_across_sites():
    from crawler.sites import TOPIC_DOC_TYPES, load_topics, topic_of

    assert topic_of("jinshan.021cf.cn", "土地出让公告") == "land"
    assert topic_of("songjiang.021cf.cn", "松江土地出让") == "land"
    assert topic_of("songjiang.021cf.cn", "松江厂房出租出售") == "listing"
    assert topic_of("laian.021cf.cn", "来安招商引资") is None  # ambiguous: no topic
    assert topic_of("kunshan.021cf.cn", None) is None
    assert set(TOPIC_DOC_TYPES["land"]) == {"land_notice", "land_result"}
    with pytest.raises(ValueError):
        load_topics('[topics.words]\n"土地" = "lands"\n')


def test_unit_price_column_in_wan_per_mu():
    html = """<table><tr><th>宗地编号</th><th>出让面积(m²)</th><th>成交单价（万元/亩）</th><th>受让单位</th></tr>
<tr><td>松江2025-03号</td><td>40000</td><td>66.667</td><td>上海华锐电子有限公司</td></tr></table>"""
    rec, el = post(html)
    [p] = derive(rec, el)[2]
    assert p["area_m2"] == 40000
    assert p["unit_price_yuan_m2"] == pytest.approx(1000, rel=1e-3)
    assert p["deal_price_yuan"] is None  # not stated: not computed


@pytest.mark.parametrize("text, lo, hi", [("＞1.0，≤2.0", 1.0, 2.0), ("2.0及以下", None, 2.0), ("不低于1.2", 1.2, None)])
def test_more_plot_ratio_forms(text, lo, hi):
    assert parse_plot_ratio(text) == (lo, hi)


def test_listing_figures_after_floor_words_and_ranges_with_units_on_both_ends():
    html = ("<p>奉贤区青村镇厂房出租</p><p>面积：1000㎡—5000㎡</p><p>层高：一层8米，二层4.5米</p>"
            "<p>承重：一楼3吨，二楼1吨</p><p>租金：0.8元/㎡·天</p>")
    rec, el = post(html, title="青村镇厂房出租")
    [a] = derive(rec, el)[3]
    assert a["area_m2"] == 5000 and a["area_raw"] == "1000㎡—5000㎡"
    assert a["height_m"] == 8 and a["floor_load_t_m2"] == 3
    assert (a["price_value"], a["price_unit"]) == (0.8, "元/㎡/天")


def test_bracket_labels_and_bullets():
    html = ("<p>金山区亭林镇独门独院厂房出售</p><p>【厂房面积】8800平方米</p><p>◆层高：10米</p>"
            "<p>【配电】800KVA</p><p>【价格】总价3200万元</p><p>【位置】亭林镇松金公路旁</p>")
    rec, el = post(html)
    [a] = derive(rec, el)[3]
    assert a["kind"] == "sale" and a["area_m2"] == 8800 and a["height_m"] == 10 and a["power_kva"] == 800
    assert (a["price_value"], a["price_unit"]) == (3200, "万元")
    assert a["location"] == "亭林镇松金公路旁"


def test_several_deals_in_one_paragraph():
    html = ("<p>11月28日，松江区2宗工业用地顺利出让。其中，车墩镇SJC1-0001单元05-02地块由上海永盛智能装备有限公司"
            "以3,880万元竞得；新桥镇SJS2-0103单元11-01地块由上海鼎新汽车零部件有限公司以底价竞得，成交价2160万元。</p>"
            "<p>两宗地块均为工业用地，出让年限50年。</p>")
    rec, el = post(html, title="松江区2宗工业用地顺利出让")
    _, doc_type, rows, _, _ = derive(rec, el)
    assert doc_type == "land_result"
    got = {r["parcel_key"]: (r["buyer"], r["deal_price_yuan"]) for r in rows}
    assert got == {"SJC10001单元0502": ("上海永盛智能装备有限公司", 38_800_000),
                   "SJS20103单元1101": ("上海鼎新汽车零部件有限公司", 21_600_000)}
    # the shared sentence names no parcel: with two parcels it is not pinned on either
    assert all(r["term_years"] is None for r in rows)


@pytest.mark.parametrize("text, value, unit", [
    ("租金每平方米每天1.2元", 1.2, "元/㎡/天"), ("1.5元每平方米每月", 1.5, "元/㎡/月"),
    ("价格：0.8元/平/天", 0.8, "元/㎡/天"), ("月租金25元/平方米", 25, "元/㎡/月"), ("售价：4500元/㎡", 4500, "元/㎡"),
    ("租金：1.0-1.2元/㎡/天", 1.0, "元/㎡/天"), ("总价1200万元", 1200, "万元"), ("价格面议", None, "面议"),
    ("0.9元/㎡·天", 0.9, "元/㎡/天"), ("注册资本5000", None, None),
])
def test_listing_price_forms(text, value, unit):
    assert facts.parse_price(text) == (value, unit)


def test_notice_with_labelled_parcels_in_prose():
    html = """<p>经嘉善县人民政府批准，嘉善县自然资源和规划局决定以挂牌方式出让2宗国有建设用地使用权，现将有关事项公告如下：</p>
<p>一、挂牌出让地块基本情况</p>
<p>（一）地块编号：嘉善县2025-21号；土地坐落：西塘镇鑫达路北侧；出让面积：18,766平方米；土地用途：工业用地；容积率：1.2-2.0；出让年限：50年；起始价：1126万元。</p>
<p>（二）地块编号：嘉善县2025-22号；土地坐落：西塘镇鑫达路南侧；出让面积：25.3亩；土地用途：仓储用地；容积率：≤1.5；出让年限：50年；起始价：0.12亿元。</p>
<p>二、竞买申请人须在挂牌截止前交纳竞买保证金。</p>"""
    rec, el = post(html, title="嘉善县国有建设用地使用权挂牌出让公告")
    _, doc_type, rows, _, _ = derive(rec, el)
    assert doc_type == "land_notice"
    assert [r["parcel_name"] for r in rows] == ["嘉善县2025-21号", "嘉善县2025-22号"]
    a, b = rows
    assert a["location"] == "西塘镇鑫达路北侧" and a["area_m2"] == 18_766 and a["land_use"] == "工业用地"
    assert (a["plot_ratio_min"], a["plot_ratio_max"]) == (1.2, 2.0) and a["term_years"] == 50
    assert a["start_price_yuan"] == pytest.approx(11_260_000) and a["source"] == "text" and a["method"] == "挂牌"
    assert b["area_m2"] == pytest.approx(25.3 * 666.67) and b["start_price_yuan"] == pytest.approx(12_000_000)
    assert (b["plot_ratio_min"], b["plot_ratio_max"]) == (None, 1.5)


def test_money_with_bare_wan_and_yi():
    assert parse_money("1201.5万") == pytest.approx(12_015_000)
    assert parse_money("2.3亿") == pytest.approx(230_000_000)
    assert parse_money("3.2万平方米") is None


# ------------------------------------------------------------------------------------------
# Real-layout rules (tests/facts_real/ has whole posts; these pin what each rule must not do)
# ------------------------------------------------------------------------------------------
def test_ping_counts_as_square_metres_only_before_no_chinese_word():
    from crawler.fact_rules import RE_LISTING_AREA

    assert RE_LISTING_AREA.search("面积2000平，可分割").group(0) == "2000平"
    assert RE_LISTING_AREA.search("二楼1200平方，层高4.5米").group(0) == "1200平方"
    assert RE_LISTING_AREA.search("距平湖2000平台") is None
    assert RE_LISTING_AREA.search("2025平湖经开区") is None


@pytest.mark.parametrize("text, value, unit", [
    ("价格：35万/亩", 525.0, "元/㎡"),          # a plot for sale per 亩: per m²
    ("年租金：2万元/亩", None, None),           # a yearly rent per 亩: no unit fits, no figure
    ("月租金：60元/平方米", 60.0, "元/㎡/月"),
    ("0.75元/平方/天", 0.75, "元/㎡/天"),
])
def test_real_price_wordings(text, value, unit):
    v, u = facts.parse_price(text)
    assert u == unit and (v == pytest.approx(value) if value is not None else v is None)


@pytest.mark.parametrize("text, lo, hi", [
    ("大于1.0且小于或等于2.5", 1.0, 2.5), ("大于或等于1.2", 1.2, None), ("1.5≤R≤3.0", 1.5, 3.0),
    ("1.0＜R≤2.2", 1.0, 2.2), ("下限：1.2　上限：2.0", 1.2, 2.0), ("不低于一点二", 1.2, None),
])
def test_real_plot_ratio_wordings(text, lo, hi):
    assert parse_plot_ratio(text) == (lo, hi)


def test_capital_numerals_and_cell_notes():
    assert parse_money("人民币（大写）壹仟零壹拾伍万元整") == pytest.approx(10_150_000)
    assert parse_money("801（底价成交）", "万元") == pytest.approx(8_010_000)
    assert parse_area("40013.6/60.02", "平方米") == pytest.approx(40_013.6)
    assert parse_area("31 008.6", "平方米") == pytest.approx(31_008.6)
    assert parse_money("１５６０", "万元") == pytest.approx(15_600_000)


def test_a_vertical_table_of_several_parcels_is_not_a_label_value_grid():
    table = {"caption": None, "header": [], "rows": [
        ["地块编号", "A-01地块", "A-02地块", "A-03地块"],
        ["出让面积（平方米）", "12000", "8000", "5000"],
        ["土地用途", "工业用地", "工业用地", "仓储用地"],
        ["起始价（万元）", "600", "400", "250"]]}
    assert facts._kv_grid(table) is None
    view, fields = facts.parcel_view(table)
    assert [r[0] for r in view["rows"]] == ["A-01地块", "A-02地块", "A-03地块"]


def test_label_value_grid_reads_one_parcel():
    table = {"caption": None, "header": [], "rows": [
        ["宗地编号", "2025-C07", "土地位置", "龙蟠大道东侧"],
        ["出让面积", "65.3亩", "土地用途", "商务金融用地"],
        ["出让年限", "40年", "起拍价", "1.26亿元"]]}
    [p] = facts._table_parcels([table], "拍卖", facts._Warn(None))
    assert p["parcel_name"] == "2025-C07" and p["location"] == "龙蟠大道东侧"
    assert p["area_m2"] == pytest.approx(65.3 * 666.67) and p["start_price_yuan"] == pytest.approx(1.26e8)


def test_notice_rules_naming_the_winner_to_be_are_no_result():
    from crawler import doctype

    text = ("经县人民政府批准，县自然资源和规划局决定以挂牌方式出让2宗国有建设用地使用权。\n"
            "竞得人须在签订出让合同前与管委会签订《投资建设协议》。\n本次挂牌出让按照价高者得原则确定竞得人。")
    assert doctype.classify("国有建设用地使用权挂牌出让公告", text) == "land_notice"


def test_a_rent_survey_is_not_a_listing():
    from crawler import doctype

    text = ("三季度全区工业厂房平均租金为0.92元/平方米/天，环比下降1.1%，同比下降3.2%。\n"
            "分板块看，金山工业区、枫泾镇厂房租金分别为0.98元/平方米/天、0.86元/平方米/天。")
    assert doctype.classify("三季度全区厂房平均租金0.92元/平方米/天", text) != "listing"


@pytest.mark.parametrize("tables", [
    [{"caption": None, "header": [], "rows": []}],
    [{"caption": None, "header": [], "rows": [["宗地编号", "A", "土地位置", "X"], ["出让面积", "1亩"]]}],
    [{"caption": None, "header": [], "rows": [["宗地编号", "A", "B"], ["出让面积", "1亩"], ["起始价", "5万元", "6万元"]]}],
    [{"caption": "面积单位：亩", "header": ["地块编号", "面积"], "rows": [["A-1"], ["注：以上"] * 2]}],
    [{"caption": None, "header": ["规划条件", "地块编号"], "rows": [["建筑密度≥40% 容积率", "X"]]}],
])
def test_derive_survives_odd_tables(tables):
    rec = {"site": "s", "post_id": 1, "url": "u", "title": "国有建设用地使用权挂牌出让公告",
           "text": "决定以挂牌方式出让。竞得人：某某公司。出让面积：12亩。", "category": None}
    _, doc_type, rows, ads, warnings = derive(rec, None, tables=tables)
    assert doc_type in ("land_notice", "land_result") and isinstance(rows, list)
    assert not any("Error" in w for w in warnings), warnings  # ragged rows are skipped, not crashed on


def test_floors_are_not_buildings_and_total_rents_are_no_price():
    rec, el = post("<p>松江九亭镇双层厂房整栋出租，总面积3000平方米。</p><p>一楼：1500平方米，层高7米；</p>"
                   "<p>二楼：1500平方米，层高4.5米。</p><p>月租金10万元。</p>", title="九亭镇3000平米厂房出租")
    [ad] = derive(rec, el)[3]
    assert ad["area_m2"] == pytest.approx(3000) and ad["height_m"] == 7
    assert ad["price_value"] is None and ad["price_unit"] is None
    assert facts.parse_price("出租出售，售价1800万元") == (1800.0, "万元")


def test_road_names_with_wei_keep_their_first_character():
    from crawler.facts import _parcel_names

    assert _parcel_names("经开区为民路北侧地块以挂牌方式出让") == ["经开区为民路北侧地块"]
    assert _parcel_names("出让1宗涉宅用地，为苏吴国土2025-WG-52号地块，位于笠泽路北侧") == ["苏吴国土2025-WG-52号地块"]


def test_numbered_buildings_inside_one_line_but_not_a_count_of_buildings():
    rec, el = post("<p>厂房出租：1号厂房3000平方米，层高9米；2号厂房2000平方米，层高6米。租金均为1.0元/平方米/天。</p>",
                   title="两栋厂房出租")
    ads = derive(rec, el)[3]
    assert [(a["area_m2"], a["height_m"], a["price_value"]) for a in ads] == [(3000, 9, 1.0), (2000, 6, 1.0)]
    rec, el = post("<p>园区共有3栋厂房可租，总面积12000平方米，层高8米，租金0.9元/平方米/天。</p>", title="厂房出租")
    [ad] = derive(rec, el)[3]
    assert ad["area_m2"] == pytest.approx(12000)
