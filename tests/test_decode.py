"""Decoding by the book (crawler.decode): every case asserts the exact decoded text and codec."""

from __future__ import annotations

import codecs
from datetime import datetime, timezone

import pytest

from crawler.decode import charset_label, decode_html
from crawler import normalize
from crawler.extract import extract_html

FETCHED = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)

ZH = ("近日，上海市金山区第二工业区举行重点项目集中签约仪式，共有十二个项目现场签约，总投资额超过八十亿元。"
      "园区负责人表示，下一步将持续优化营商环境，强化要素保障，推动项目早日开工建设。")
# Characters outside GBK (CJK extension B, U+20BB7) need GB18030's four-byte sequences.
ZH_GB18030 = ZH + "𠮷野家入驻园区，首店于本月开业。"
TW = ("近日，台北市政府舉行記者會，說明今年以來產業園區的招商情況，多個重點項目取得積極進展，總投資額超過八十億元。"
      "市府表示，將持續優化投資環境，協助企業擴大生產。")
JA = ("東京都は二十日、新しい産業団地の整備計画を発表した。市内の企業が工場を建設する予定で、"
      "約千人の雇用が生まれる見通しだという。都の担当者は「地域経済の活性化につなげたい」と話している。")


def page(text: str, meta: str | None = None) -> str:
    """A small news page; the <meta> charset only when given."""
    head = f'<meta charset="{meta}">' if meta else ""
    return (f"<!DOCTYPE html><html><head>{head}<title>新闻</title></head>"
            f"<body><div class=\"content\"><p>{text}</p></div></body></html>")


def page_for(text: str, encoding: str, meta: str | None = None) -> tuple[bytes, str]:
    """(bytes in encoding, the str those bytes must decode to)."""
    html = page(text, meta).replace("新闻", text[:2])
    return html.encode(encoding), html


# (name, text, byte encoding, codec the decoder must report)
LANGS = [
    ("gbk", ZH, "gbk", "gb18030"),
    ("gb18030", ZH_GB18030, "gb18030", "gb18030"),
    ("big5", TW, "big5", "big5hkscs"),
    ("shift_jis", JA, "shift_jis", "cp932"),
    ("euc-jp", JA, "euc_jp", "euc_jp"),
    ("utf-8", ZH, "utf-8", "utf-8"),
]


@pytest.mark.parametrize("name, text, encoding, codec", LANGS)
def test_charset_only_in_http_header(name, text, encoding, codec):
    raw, html = page_for(text, encoding)
    assert decode_html(raw, f"text/html; charset={name}") == (html, charset_label(name), 0)


@pytest.mark.parametrize("name, text, encoding, codec", LANGS)
def test_charset_only_in_meta(name, text, encoding, codec):
    raw, html = page_for(text, encoding, meta=name)
    assert decode_html(raw) == (html, codec, 0)


@pytest.mark.parametrize("name, text, encoding, codec", LANGS)
def test_no_charset_anywhere_is_detected(name, text, encoding, codec):
    """GB18030 decodes almost any bytes: it must not swallow Big5, Shift_JIS or EUC-JP."""
    raw, html = page_for(text, encoding)
    assert decode_html(raw) == (html, codec, 0)


@pytest.mark.parametrize("bom, encoding", [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                           (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_bom_wins_over_labels(bom, encoding):
    html = page(ZH, meta="gbk")
    text, codec, bad = decode_html(bom + html.encode(encoding), "text/html; charset=big5")
    assert (text, bad) == (html, 0) and codecs.lookup(codec).name == codecs.lookup(encoding).name


@pytest.mark.parametrize("label", ["gbk", "gb2312", "big5", "shift_jis"])
def test_utf8_bytes_under_a_legacy_label(label):
    """A page labelled GBK (or any legacy CJK charset) whose bytes are UTF-8 is UTF-8."""
    html = page(ZH, meta=label)
    assert decode_html(html.encode("utf-8")) == (html, "utf-8", 0)
    assert decode_html(html.encode("utf-8"), f"text/html; charset={label}") == (html, "utf-8", 0)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_bytes_under_a_utf8_label(encoding):
    html = page(ZH, meta="utf-8")
    assert decode_html(html.encode(encoding)) == (html, "gb18030", 0)
    assert decode_html(html.encode(encoding), "text/html; charset=UTF-8") == (html, "gb18030", 0)


def test_http_header_wins_over_meta():
    """The header is right, the <meta> copied from a template is wrong (both decode strictly)."""
    raw, html = page_for(TW, "big5", meta="gbk")
    assert decode_html(raw, "text/html; charset=Big5") == (html, "big5hkscs", 0)


def test_header_that_does_not_decode_falls_back_to_meta():
    """A server answering charset=UTF-8 for every file, on a GBK page that says so in <meta>."""
    raw, html = page_for(ZH, "gbk", meta="gbk")
    assert decode_html(raw, "text/html; charset=UTF-8") == (html, "gb18030", 0)


def test_override_forces_the_codec_and_counts_errors():
    raw, html = page_for(JA, "shift_jis")
    text, codec, bad = decode_html(raw, "text/html; charset=utf-8", declared_override="shift_jis")
    assert (text, codec, bad) == (html, "cp932", 0)
    broken = raw.replace("東京".encode("shift_jis"), b"\x81")  # a lone lead byte
    text, codec, bad = decode_html(broken, declared_override="utf-8")
    assert codec == "utf-8" and bad == text.count("\ufffd") and bad > 10


def test_corrupt_bytes_are_counted():
    raw = page(ZH, meta="gbk").encode("gbk")
    raw = raw.replace("园区".encode("gbk"), b"\xff\xff")  # 0xFF is never valid in GBK
    text, codec, bad = decode_html(raw)
    assert codec == "gb18030" and bad == 2
    assert text == page(ZH, meta="gbk").replace("园区", "\ufffd\ufffd")


def test_charset_label():
    assert charset_label("text/html; charset=GBK") == "gb18030"
    assert charset_label("Shift_JIS") == "cp932"
    assert charset_label("text/html") is None
    assert charset_label(None) is None


@pytest.mark.parametrize("name, text, encoding, codec", LANGS)
def test_extract_records_codec_and_text(name, text, encoding, codec):
    raw, _ = page_for(text, encoding)
    rec = extract_html(raw, "http://example.org/a/1.html", fetched_at=FETCHED,
                       content_type=f"text/html; charset={name}")
    # Japanese is never converted to simplified Chinese; the Chinese pages are (t2s is the default).
    expected = text if name in ("shift_jis", "euc-jp") else normalize.convert_script(text, "t2s")
    assert rec["text"] == expected
    assert rec["encoding"] == charset_label(name) and rec["decode_errors"] == 0


def test_bomless_utf16_is_detected():
    """Nothing decodes strictly but UTF-16: charset-normalizer names it (the <meta> says utf-8)."""
    html = page(ZH, meta="utf-8")
    assert decode_html(html.encode("utf-16-le")) == (html, "utf-16-le", 0)
