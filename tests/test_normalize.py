"""Normalisation: OpenCC, ad-law swaps, mask counting and phone masking (Hypothesis properties)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler import errors, rules
from crawler.normalize import (
    ExtractOptions,
    apply_swaps,
    converter,
    count_masked,
    mask_phones,
    normalize_text,
)

# Text like the corpus: Simplified and Traditional CJK, the swap characters, digits, punctuation.
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
ALPHABET = st.one_of(CJK, st.sampled_from(list("蕞最*，。、：（）() 0123456789-年月日國華東區鏈")))
TEXT = st.text(ALPHABET, max_size=80)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_normalize_is_idempotent(text):
    once, _, masked = normalize_text(text)
    twice, applied, masked2 = normalize_text(once)
    assert twice == once
    assert not any(a.endswith("→最") for a in applied)  # nothing left to swap
    assert masked2 == masked


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_swaps_only_touch_listed_characters(text):
    out, applied = apply_swaps(text)
    assert len(out) == len(text)
    for a, b in zip(text, out):
        if a != b:
            assert rules.AD_LAW_SWAPS[a] == b
    assert applied == [f"{k}→{v}" for k, v in rules.AD_LAW_SWAPS.items() if k in text]
    assert not set(rules.AD_LAW_SWAPS) & set(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 99999).map(str), st.floats(0, 1e4, allow_nan=False).map(lambda f: f"{f:.2f}"), CJK), max_size=20))
def test_phone_masking_leaves_other_numbers(parts):
    """Numbers that are not phone-shaped (≤ 5 digits, decimals) pass through masking untouched."""
    text = "，".join(parts)
    out, n = mask_phones(text)
    assert out == text and n == 0


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.text(CJK, min_size=1, max_size=10), st.text(CJK, min_size=1, max_size=10))
def test_mobiles_are_masked_and_nothing_else_changes(mobile, before, after):
    text = f"{before}{mobile}{after}"
    out, n = mask_phones(text)
    assert n == 1
    assert out == f"{before}{mobile[:3]}{'*' * 8}{after}"


@pytest.mark.parametrize(
    "number",
    ["400 0123 021", "400-012-3021", "4000123021", "021-57123456", "0550-7012345", "(021)57123456"],
)
def test_service_and_landline_numbers_are_masked(number):
    out, n = mask_phones(f"咨询电话：{number}。")
    assert n == 1 and number not in out and out.startswith("咨询电话：") and out.endswith("。")


def test_phone_masking_is_off_by_default():
    text = "联系电话：021-57123456，手机13524678515。"
    assert normalize_text(text)[0] == text
    masked, applied, _ = normalize_text(text, ExtractOptions(mask_phones=True))
    assert "57123456" not in masked and "13524678515" not in masked and applied == ["mask_phones"]


def test_t2s_default_and_other_conversions():
    trad = "港資物流企業落户金山 打造華東冷鏈樞紐"
    text, applied, _ = normalize_text(trad)
    assert text == "港资物流企业落户金山 打造华东冷链枢纽" and applied == ["t2s"]
    assert normalize_text(trad, ExtractOptions(convert="none"))[0] == trad
    assert normalize_text("华东冷链", ExtractOptions(convert="s2t"))[0] == "華東冷鏈"
    assert normalize_text("软件", ExtractOptions(convert="t2tw"))[0] == "软件"  # t2tw converts Traditional only
    assert converter("t2s") is converter("t2s")  # built once per process


def test_swaps_recorded_and_optional():
    text, applied, _ = normalize_text("全国先进制造业百强市蕞新排名")
    assert text == "全国先进制造业百强市最新排名" and applied == ["蕞→最"]
    assert normalize_text("蕞新", ExtractOptions(swaps=False))[0] == "蕞新"


def test_masked_characters_are_counted_not_undone():
    text = "将成为安徽*大的生产基地之一，全国第**位。*本页涉及面积，如无特殊说明，均指建筑面积"
    out, _, masked = normalize_text(text)
    assert out == text
    assert masked == 3  # "安徽*大" and "第**位"; the footnote "*本页" is not a mask
    assert count_masked("国内**品牌") == 2
    assert count_masked("*本页涉及面积") == 0  # a footnote mark, not a mask


def test_bad_conversion_is_a_usage_error():
    with pytest.raises(errors.UsageError):
        ExtractOptions(convert="x2y")
    assert issubclass(errors.UsageError, errors.ParkcorpusError) and errors.UsageError.exit_code == 2
    assert re.fullmatch(r"[a-z2]+", ExtractOptions().convert)


def test_t2s_does_not_rewrite_simplified_names_or_words():
    """OpenCC's phrase table would turn the name 沈思远 into 沉思远 and 乾隆-like words; Simplified text stays."""
    simplified = "总经理沈思远说，园区的营商环境和服务效率让我们坚定了在这里投资的信心。"
    assert normalize_text(simplified)[0] == simplified
    assert normalize_text(simplified)[1] == []
    # Traditional text still gets the phrase-level conversion (瞭 alone is also Simplified).
    assert normalize_text("據瞭解，該地塊規劃總建築面積約四萬平方米。")[0] == "据了解，该地块规划总建筑面积约四万平方米。"
    # A stray Traditional character in Simplified text is converted on its own.
    assert normalize_text("香港企业港資物流落户金山，总经理沈思远出席签约仪式并致辞。")[0] == "香港企业港资物流落户金山，总经理沈思远出席签约仪式并致辞。"


def test_remembered_fields_follow_their_options():
    # normalize_field remembers fields: the same text under other options is normalised anew,
    # and a long field (not remembered) is normalised like a short one
    from crawler.normalize import FIELD_CACHE_MAX_CHARS, normalize_field

    for _ in range(2):
        assert normalize_field("華東冷鏈蕞新") == "华东冷链最新"
        assert normalize_field("華東冷鏈蕞新", ExtractOptions(convert="none")) == "華東冷鏈最新"
        assert normalize_field("華東冷鏈蕞新", ExtractOptions(swaps=False)) == "华东冷链蕞新"
        assert normalize_field("华东冷链", ExtractOptions(convert="s2t")) == "華東冷鏈"
    long = "華東冷鏈蕞新" * (FIELD_CACHE_MAX_CHARS // 6 + 1)
    assert len(long) > FIELD_CACHE_MAX_CHARS
    assert normalize_field(long) == "华东冷链最新" * (FIELD_CACHE_MAX_CHARS // 6 + 1)
