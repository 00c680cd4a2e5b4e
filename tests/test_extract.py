"""Extraction on saved pages (tests/samples, expected JSON in tests/cases), error cases, encodings, the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from crawler import errors
from crawler.extract import decode_html, extract_html, post_id_from_url

CASES = Path(__file__).parent / "cases"
from paths import SAMPLES, SEED  # noqa: E402
FETCHED = datetime(2026, 11, 26, 17, 24, tzinfo=timezone.utc)

# tests/cases/NAME.json is the expected record of the saved page tests/samples/NAME.html
CASE_NAMES = sorted(p.stem for p in CASES.glob("*.json"))
CASE_PAGES = {name: SAMPLES / f"{name}.html" for name in CASE_NAMES}


def _case(name: str) -> tuple[bytes, dict]:
    return CASE_PAGES[name].read_bytes(), json.loads((CASES / f"{name}.json").read_text("utf-8"))


def _run(raw: bytes, expected: dict) -> dict:
    inp = expected["_input"]
    return extract_html(raw, inp["url"], fetched_at=datetime.fromisoformat(inp["fetched_at"]))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_matches_expected_json(name):
    raw, expected = _case(name)
    rec = _run(raw, expected)
    for key, want in expected.items():
        if key.startswith("_"):
            continue
        got = rec[key]
        if isinstance(got, datetime):
            got = got.isoformat()
        assert got == want, f"{name}: {key}"


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_derived_columns(name):
    raw, expected = _case(name)
    rec = _run(raw, expected)
    assert rec["char_count"] == len("".join(rec["text"].split()))
    assert rec["paragraph_count"] == rec["text"].count("\n") + 1
    assert len(rec["content_hash"]) == 64
    assert rec["extractor_version"]
    # Related links appear twice in the markup (img alt and h3): kept once each.
    urls = [r["url"] for r in rec["related"]]
    assert len(urls) == len(set(urls))


def test_seed_boilerplate_never_in_text():
    """Every line the generic extractor kept after the byline is boilerplate and must not appear."""
    raw, expected = _case("post-3756")
    text = _run(raw, expected)["text"]
    seed_lines = [ln.strip(" \u3000") for ln in SEED.read_text("utf-8").splitlines() if ln.strip(" \u3000")]
    byline = next(i for i, ln in enumerate(seed_lines) if ln.endswith("(记者朱婕通讯员仲楠徐若鹏)"))
    boiler = [ln for ln in seed_lines[byline + 1:] if len(ln) >= 4]
    # The related-block excerpts in the seed start with text of other posts; the first 20
    # characters of every line are enough to recognise a leak.
    leaks = [ln for ln in boiler if ln[:20] in text]
    assert not leaks
    assert seed_lines[0].startswith("当前位置") and seed_lines[0] not in text
    assert text.splitlines()[-1].endswith("(记者朱婕通讯员仲楠徐若鹏)")
    assert "蕞" not in text and "全国先进制造业百强市最新排名" in text


def _page_with_body(extra_paragraphs: list[str]) -> bytes:
    """post-3756 with extra paragraphs inserted after the article's first paragraph."""
    html = CASE_PAGES["post-3756"].read_text("utf-8")
    marker = "转动能塑优势?</p>"
    inserted = "".join(f"\n<p>　　{p}</p>" for p in extra_paragraphs)
    return html.replace(marker, marker + inserted, 1).encode("utf-8")


def test_article_paragraph_with_phone_or_ellipsis_is_kept():
    phone = "项目咨询可拨打园区服务热线021-57123456或联系招商专员13524678515，园区将提供全程代办服务。"
    dots = "会上，与会代表围绕产业升级、用地保障、人才引进等议题展开讨论……"
    rec = extract_html(_page_with_body([phone, dots]), None, fetched_at=FETCHED)
    assert phone in rec["text"].splitlines()
    assert dots in rec["text"].splitlines()
    assert "13524678515" in rec["text"]  # masking is off by default


def test_mask_phones_option():
    from crawler.normalize import ExtractOptions

    phone = "项目咨询可拨打园区服务热线021-57123456或联系招商专员13524678515，园区将提供全程代办服务。"
    rec = extract_html(_page_with_body([phone]), None, fetched_at=FETCHED, options=ExtractOptions(mask_phones=True))
    assert "13524678515" not in rec["text"] and "57123456" not in rec["text"]
    assert "135********" in rec["text"]
    assert "mask_phones" in rec["normalizations"]


def test_short_lines_inside_the_article_are_not_teasers():
    """Subheads and short lines followed by real paragraphs are article text."""
    heads = ["优化营商环境 提升服务效能", "强化要素保障 推动项目落地", "聚焦主导产业 精准招商引资"]
    rec = extract_html(_page_with_body(heads), None, fetched_at=FETCHED)
    lines = rec["text"].splitlines()
    for h in heads:
        assert h in lines


def test_list_page_is_not_an_article():
    raw = (SAMPLES / "category-1.html").read_bytes()
    with pytest.raises(errors.NotAnArticle) as exc:
        extract_html(raw, "http://jinshan.021cf.cn/index.php/category-1.html", fetched_at=FETCHED)
    assert not isinstance(exc.value, errors.MalformedPage)


def test_truncated_page_is_malformed():
    raw = CASE_PAGES["post-3756"].read_bytes()
    cut = raw[: raw.index("记者朱婕".encode())]
    with pytest.raises(errors.MalformedPage):
        extract_html(cut, None, fetched_at=FETCHED)


def test_page_without_title_is_malformed():
    raw = CASE_PAGES["laian-post-1414"].read_text("utf-8")
    raw = raw.replace("<h1>来安县半塔工业园今年新投产项目4个</h1>", "<h1></h1>")
    with pytest.raises(errors.MalformedPage):
        extract_html(raw.encode("utf-8"), None, fetched_at=FETCHED)


@pytest.mark.parametrize(
    "label, encoding",
    [("gbk", "utf-8"), ("utf-8", "gb18030"), ("gb2312", "gb18030"), ("utf-8", "utf-8")],
)
def test_mislabelled_encodings(label, encoding):
    """A page labelled GBK that is UTF-8 and the reverse decode to the same article."""
    html = CASE_PAGES["laian-post-1414"].read_text("utf-8").replace('charset="utf-8"', f'charset="{label}"')
    rec = extract_html(html.encode(encoding), None, fetched_at=FETCHED)
    assert rec["title"] == "来安县半塔工业园今年新投产项目4个"
    assert rec["text"].endswith("来源：中国滁州网")


def test_decode_html_bom_and_label():
    assert decode_html("\ufeff<p>金山</p>".encode("utf-8"))[0] == "<p>金山</p>"
    text, codec, bad = decode_html('<meta charset="gbk"><p>金山</p>'.encode("gbk"))
    assert "金山" in text and codec == "gb18030"


def test_fallback_for_non_tpure_page():
    paras = [
        "近日，某开发区管委会召开新闻发布会，介绍今年以来园区招商引资和项目建设情况，多个重点项目取得积极进展。",
        "据介绍，园区全年计划新开工亿元以上项目二十个，目前已开工十五个，完成固定资产投资同比增长百分之十二。",
        "下一步，园区将持续优化营商环境，强化要素保障，推动更多优质项目签约落地、开工建设、投产达效。",
    ]
    html = (
        "<html><head><meta charset='utf-8'><title>园区新闻</title></head><body>"
        "<div class='nav'><a href='/'>首页</a> <a href='/news'>新闻</a></div>"
        "<div class='article'><h1>某开发区召开新闻发布会</h1>"
        + "".join(f"<p>{p}</p>" for p in paras)
        + "<p>扫一扫关注公众号</p><p>版权声明：本文由中国产业园区招商网发布，如需转载请注明出处。</p></div>"
        "<div class='footer'>Copyright © 2026</div></body></html>"
    )
    rec = extract_html(html.encode("utf-8"), "http://example.org/news/1.html", fetched_at=FETCHED)
    assert rec["template"] == "fallback"
    assert rec["title"] == "某开发区召开新闻发布会"
    assert rec["text"].splitlines() == paras
    assert rec["post_id"] is None


def test_traditional_page_is_converted_and_can_be_kept():
    from crawler.normalize import ExtractOptions

    trad = "一家香港物流集團日前與上海市金山區簽署投資協議，將在金山第二工業區投資建設華東區域冷鏈物流樞紐。"
    page = _page_with_body([trad])
    rec = extract_html(page, None, fetched_at=FETCHED)
    assert "一家香港物流集团日前与上海市金山区签署投资协议，将在金山第二工业区投资建设华东区域冷链物流枢纽。" in rec["text"]
    assert rec["normalizations"][0] == "t2s"
    kept = extract_html(page, None, fetched_at=FETCHED, options=ExtractOptions(convert="none", swaps=False))
    assert trad in kept["text"] and "蕞新" in kept["text"] and kept["normalizations"] == []


def test_post_id_from_url_forms():
    assert post_id_from_url("http://jinshan.021cf.cn/index.php/post/3756.html") == 3756
    assert post_id_from_url("http://jinshan.021cf.cn/index.php?id=3756") == 3756
    assert post_id_from_url("http://jinshan.021cf.cn/index.php/category-1.html") is None


def test_inline_links_and_server_date():
    html = _page_with_body(['详见<a href="http://jinshan.021cf.cn/index.php/post/3721.html">厂房出租信息</a>，欢迎企业咨询洽谈合作事宜。'])
    html = html.replace("2年前<span class=\"datetime\"> (2024-11-04)</span>".encode(), "3小时前".encode())
    server = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    rec = extract_html(html, None, fetched_at=FETCHED, server_date=server)
    assert rec["inline_links"] == [{"url": "http://jinshan.021cf.cn/index.php/post/3721.html", "anchor": "厂房出租信息"}]
    # 3小时前 counts from the server's clock, not the fetch time; the interval is [2.5h, 3.5h).
    assert rec["published"] == datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    assert rec["published_raw"] == "3小时前"


# --- CLI -------------------------------------------------------------------------------------


def _cli(*args):
    return CliRunner().invoke(main, ["extract", *args])


def test_cli_one_file_prints_json():
    raw, expected = _case("laian-post-1414")
    res = _cli(str(CASE_PAGES["laian-post-1414"]), "--fetched-at", "2026-11-26T17:24:00Z")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert rec["url"] == expected["url"]  # inferred from the canonical link
    assert rec["text"] == expected["text"]
    assert rec["published"] == expected["published"]


def test_cli_folder_prints_json_lines(tmp_path):
    for name in CASE_NAMES:
        (tmp_path / f"{name}.html").write_bytes(CASE_PAGES[name].read_bytes())
    res = _cli(str(tmp_path))
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert [json.loads(line)["post_id"] for line in lines] == [json.loads((CASES / f"{n}.json").read_text())["post_id"] for n in CASE_NAMES]


def test_cli_options_reach_the_extractor():
    res = _cli(str(CASE_PAGES["laian-post-1414"]), "--no-swaps", "--convert", "none")
    assert res.exit_code == 0, res.output
    assert "蕞新" in json.loads(res.stdout)["text"]


@pytest.mark.parametrize(
    "content, message, code",
    [
        # a missing file is bad usage (exit 2, like click's path checks); an unreadable one a failed run
        (None, "Error: no such file: {path}", 2),
        (b"", "Error: empty file: {path}", 1),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "Error: binary file, not HTML: {path}", 1),
        ("just some notes, no markup\n".encode(), "Error: not an HTML file: {path}", 1),
    ],
)
def test_cli_bad_input_is_one_line_error(tmp_path, content, message, code):
    path = tmp_path / "page.html"
    if content is not None:
        path.write_bytes(content)
    res = _cli(str(path))
    assert res.exit_code == code
    assert res.output.strip() == message.format(path=path)
    assert "Traceback" not in res.output


def test_cli_not_an_article_and_bad_option():
    res = _cli(str(SAMPLES / "category-1.html"))
    assert res.exit_code == 1
    assert res.output.startswith("Error: ") and "not a post page" in res.output and len(res.output.strip().splitlines()) == 1
    res = _cli(str(CASE_PAGES["laian-post-1414"]), "--fetched-at", "yesterday")
    assert res.exit_code == 2
    res = _cli(str(CASE_PAGES["laian-post-1414"]), "--convert", "x2y")
    assert res.exit_code == 2


def test_tpure_page_saved_without_theme_assets_is_still_tpure():
    import re

    html = CASE_PAGES["laian-post-1414"].read_text("utf-8")
    html = re.sub(r'<(?:link|script|meta name="theme")[^>]*>(?:</script>)?', "", html)
    assert "/theme/tpure/" not in html.split("<body", 1)[0]
    rec = extract_html(html.encode("utf-8"), None, fetched_at=FETCHED)
    assert rec["template"] == "tpure" and rec["text"].endswith("来源：中国滁州网")


def test_nested_list_items_appear_once():
    items = "<ul><li>优化生产力布局<ul><li>推进科技成果转化</li></ul></li><li>推动生产性服务业提质赋能</li></ul>"
    html = CASE_PAGES["laian-post-1414"].read_text("utf-8").replace("<p>来源：中国滁州网</p>", items + "<p>来源：中国滁州网</p>")
    lines = extract_html(html.encode("utf-8"), None, fetched_at=FETCHED)["text"].splitlines()
    assert lines[-4:] == ["优化生产力布局", "推进科技成果转化", "推动生产性服务业提质赋能", "来源：中国滁州网"]


def test_br_separated_body_with_teasers_and_contact_in_one_block():
    """Some editors put everything in one <div> with <br>: the line rules still apply after trafilatura."""
    html = CASE_PAGES["laian-post-1414"].read_text("utf-8")
    start = html.index('<div class="single viewall">') + len('<div class="single viewall">')
    end = html.index("</div>", start)
    body = ("<div>　　今年以来，园区坚持“项目为王”，围绕新材料、生物医药、智能制造等主导产业精准招商。<br/>"
            "　　下一步，园区将持续做好项目跟踪服务，推动项目早开工、早投产、早见效。<br/>"
            "来源：来安县人民政府<br/>　　全县安全生产工作会议召开<br/>　　滁州海关助力企业出口订单同比增长三...<br/>"
            "　　宁滁城际铁路滁州段建设进展顺利<br/>　　来安花红产业园年产值突破亿元<br/>"
            "来安招商专员微信号<br/>产业招商/厂房土地租售：400 0123 021<br/>或微信/手机：1339121979313564686846<br/>"
            "长按/扫一扫加招商专员微信号</div>")
    html = html[:start] + body + html[end:]
    rec = extract_html(html.encode("utf-8"), None, fetched_at=FETCHED)
    assert rec["text"].splitlines() == [
        "今年以来，园区坚持“项目为王”，围绕新材料、生物医药、智能制造等主导产业精准招商。",
        "下一步，园区将持续做好项目跟踪服务，推动项目早开工、早投产、早见效。",
        "来源：来安县人民政府",
    ]


def test_replica_404_page_is_reported_as_such():
    from crawler.replica import Network, render_404

    net = Network(seed=1, sites=1, posts=5, now=FETCHED)
    site = net.site(net.hosts[0])
    with pytest.raises(errors.NotAnArticle, match="404 page"):
        extract_html(render_404(site, FETCHED), None, fetched_at=FETCHED)


def _feed_bodies():
    from lxml import etree

    feed = etree.parse(str(SAMPLES / "feed.xml"))
    return [(it.findtext("link"), it.findtext("description")) for it in feed.iter("item")]


@pytest.mark.parametrize("link, body", _feed_bodies(), ids=lambda v: v.rsplit("/", 1)[-1] if v.startswith("http") else "")
def test_real_feed_bodies_in_a_post_page(link, body):
    """The 20 full bodies of feed.xml (real editor HTML: <br> blocks, tables, teaser links, contact
    blocks) put into the post template: sentences kept, no boilerplate, no teaser line left."""
    import lxml.html

    page = CASE_PAGES["post-3756"].read_text("utf-8")
    start = page.index('<div class="single viewall">') + len('<div class="single viewall">')
    end = page.index('<div class="copynotice">', start)
    page = page[:start] + body + "</div>\n" + page[end:]
    rec = extract_html(page.encode("utf-8"), link, fetched_at=FETCHED)
    lines = rec["text"].splitlines()
    fragment = lxml.html.fragment_fromstring(body, create_parent="div")
    paras = [" ".join(p.text_content().split()).replace("蕞", "最") for p in fragment.iter("p")]
    from crawler.clean import boilerplate_rule

    for p in paras:
        if p.endswith("。") and len(p) > 30 and not boilerplate_rule(p):  # article sentences
            assert p in lines
    for snippet in ("微信号", "产业招商", "请说明您的需求", "扫一扫", "版权声明", "本文链接"):
        assert snippet not in rec["text"]
    # Nothing after the article's end: the last line is a sentence, a credit, a caption or a signature.
    aligned = {" ".join(p.text_content().split()) for p in fragment.iter("p") if "text-align" in (p.get("style") or "")}
    last = lines[-1]
    assert last.endswith(("。", "）", ")", "”")) or last.startswith(("来源", "责任编辑", "图为")) or last in aligned


def test_cli_folder_with_a_list_page_reports_it_and_exits_1(tmp_path):
    (tmp_path / "a.html").write_bytes(CASE_PAGES["laian-post-1414"].read_bytes())
    (tmp_path / "b.html").write_bytes((SAMPLES / "category-1.html").read_bytes())
    res = CliRunner().invoke(main, ["extract", str(tmp_path)])  # click >= 8.2 keeps stderr apart
    assert res.exit_code == 1
    records = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [r["post_id"] for r in records] == [1414]
    assert f"Error: {tmp_path / 'b.html'}: NotAnArticle: not a post page (list page)" in res.stderr


def test_cli_charset_for_a_saved_page(tmp_path):
    """A saved Big5 page has lost its HTTP header: --charset gives it back (a wrong meta loses)."""
    paras = ["近日，台北市政府舉行記者會，說明今年以來產業園區的招商情況，多個重點項目取得積極進展。",
             "市府表示，將持續優化投資環境，協助企業擴大生產，總投資額超過八十億元。"]
    html = ("<html><head><meta charset='gbk'><title>產業園區招商</title></head><body><div class='article'>"
            "<h1>產業園區招商</h1>" + "".join(f"<p>{p}</p>" for p in paras) + "</div></body></html>")
    path = tmp_path / "big5.html"
    path.write_bytes(html.encode("big5"))
    res = _cli(str(path), "--charset", "big5", "--convert", "none")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["text"].splitlines() == paras and rec["encoding"] == "big5hkscs" and rec["decode_errors"] == 0
    res = _cli(str(path), "--charset", "klingon")
    assert res.exit_code == 2 and res.output.strip() == "Error: unknown charset: klingon"


def test_head_values_read_the_head_first_and_the_page_when_the_head_has_none():
    import lxml.html

    from crawler import pagemodel, rules

    in_head = lxml.html.document_fromstring(
        '<html><head><link rel="canonical" href="http://a/1.html"></head>'
        '<body><link rel="canonical" href="http://a/2.html"><p>x</p></body></html>')
    in_body = lxml.html.document_fromstring(
        '<html><head><title>t</title></head><body><div><link rel="canonical" href="http://a/2.html">'
        '<meta name="theme" content="拓源主题"></div><p>x</p></body></html>')
    assert pagemodel.head_values(in_head, rules.XP_CANONICAL)[0] == "http://a/1.html"
    assert pagemodel.head_values(in_body, rules.XP_CANONICAL) == ["http://a/2.html"]
    assert pagemodel.is_tpure(in_body) and not pagemodel.is_tpure(in_head)
    for sample in ("post-3756.html", "laian-post-1414.html"):
        tree = lxml.html.document_fromstring((SAMPLES / sample).read_bytes())
        for xp in (rules.XP_CANONICAL, rules.XP_THEME):
            assert pagemodel.head_values(tree, xp) == tree.xpath(xp) != []


def test_a_paragraph_repeated_word_for_word_is_kept_each_time():
    # notices repeat labelled lines under each parcel; trafilatura alone keeps one copy
    html = (SAMPLES / "post-3756.html").read_text(encoding="utf-8")
    start = html.index(">", html.index('<div class="single')) + 1
    body = ('<p>出让年限：50年</p><p>第一宗地块位于枫泾镇，面积1000平方米。</p><p>出让年限：<b>50年</b></p>'
            '<p>第二宗地块位于亭林镇，面积2000平方米。</p><p>出让年限：50年</p>')
    rec = extract_html((html[:start] + body + html[start:]).encode("utf-8"), "http://jinshan.021cf.cn/index.php/post/3756.html")
    lines = rec["text"].split("\n")
    assert lines[:5] == ["出让年限：50年", "第一宗地块位于枫泾镇，面积1000平方米。", "出让年限：50年",
                         "第二宗地块位于亭林镇，面积2000平方米。", "出让年限：50年"]
    assert "\u2063" not in rec["text"] and "\u2063" not in str(rec["tables"]) + str(rec["inline_links"])
    # the rest of the article is unchanged
    plain = extract_html((SAMPLES / "post-3756.html").read_bytes(), "http://jinshan.021cf.cn/index.php/post/3756.html")
    assert lines[5:] == plain["text"].split("\n")


@pytest.mark.parametrize("body", [
    # each parcel's lines in a wrapper of their own
    "<div><p>地块一位于枫泾镇。</p><p>出让年限：50年</p></div><div><p>地块二位于亭林镇。</p><p>出让年限：50年</p></div>",
    # the whole notice in one wrapper
    "<div><p>地块一位于枫泾镇。</p><p>出让年限：50年</p><p>地块二位于亭林镇。</p><p>出让年限：50年</p></div>",
    # a list
    "<ul><li>地块一位于枫泾镇。</li><li>出让年限：50年</li><li>地块二位于亭林镇。</li><li>出让年限：50年</li></ul>",
])
def test_a_repeated_paragraph_inside_a_wrapper_is_kept_each_time(body):
    html = (SAMPLES / "post-3756.html").read_text(encoding="utf-8")
    start = html.index(">", html.index('<div class="single')) + 1
    rec = extract_html((html[:start] + body + html[start:]).encode("utf-8"), "http://jinshan.021cf.cn/index.php/post/3756.html")
    lines = rec["text"].split("\n")
    assert lines[:4] == ["地块一位于枫泾镇。", "出让年限：50年", "地块二位于亭林镇。", "出让年限：50年"]
    assert "\u2063" not in rec["text"]


@pytest.mark.parametrize("href", [
    "http://jinshan.021cf.cn/index.php/post/3061.html",
    "https://laian.021cf.cn/index.php?id=12&page=2",
    "http://a.cn:8080/x/./y/../z",
    "http://a.cn",
    "http://a.cn/x?",  # urljoin drops an empty query
    "http://a.cn/x#",  # and an empty fragment
    "http://a.cn/x;p",  # path params go through urlparse
    "HTTP://A.cn/x",  # the scheme is lower-cased
    "https://a.cn/x",  # another scheme than the base's
    "http://a.cn/\u56ed\u533a.html",
    "http://[::1]/x",
    "http://a.cn/x\ty",
    "//a.cn/x",
    "/index.php/post/1.html",
    "post/1.html",
    "?id=3",
])
@pytest.mark.parametrize("base", ["http://jinshan.021cf.cn/index.php/post/1.html", "https://a.cn/b/", ""])
def test_abs_url_is_urljoin(base, href):
    """abs_url answers plain absolute links itself: always what urljoin says."""
    from urllib.parse import urljoin

    from crawler.pagemodel import abs_url

    assert abs_url(base, href) == urljoin(base, href)


@pytest.mark.parametrize("raw", [
    "<html><head><meta charset='gbk'></head><body><div class='single'><p>园区\r\n招商</p></div></body></html>".encode(),
    b"\xef\xbb\xbf<html><body><p>\xe5\x9b\xad</p></body></html>",  # a BOM
    b"<?xml version='1.0' encoding='utf-8'?><html><body><p>\xe5\x9b\xad</p></body></html>",
    b"<html><body><p>a\x00b\x0c<!-- c --><?pi x?>&nbsp;&#0;</p></body></html>",
    b"<p>\xe5\x9b\xad</p><p>\xff</p>",  # not UTF-8
])
def test_utf8_bytes_parse_as_their_text(raw):
    """A UTF-8 page goes to libxml2 as bytes: the tree is the one its decoded text gives."""
    import lxml.html
    from lxml import etree

    from crawler.extract import _html_parser, _parse

    tree, text, _codec, _bad = _parse(raw)
    from_text = lxml.html.document_fromstring(text, parser=_html_parser())
    assert etree.tostring(tree, encoding="unicode") == etree.tostring(from_text, encoding="unicode")
