"""Text normalisation: OpenCC script conversion, ad-law character swaps, masks, phone masking.

No ftfy: it "repairs" valid Chinese text into mojibake. Encoding problems are handled once,
when the page bytes are decoded (`crawler.extract.decode_html`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from crawler import errors, rules

#: --convert values and the OpenCC configuration each one uses.
CONVERSIONS: dict[str, str | None] = {
    "t2s": "t2s",  # Traditional -> Simplified (default: most of the network is Simplified)
    "s2t": "s2t",  # Simplified -> Traditional
    "t2tw": "t2tw",  # Traditional -> Taiwan standard
    "none": None,  # keep the page's script
}


@dataclass(frozen=True)
class ExtractOptions:
    """How extracted text is normalised: script conversion, ad-law swaps, phone masking."""

    convert: str = "t2s"
    swaps: bool = True
    mask_phones: bool = False

    def __post_init__(self) -> None:
        if self.convert not in CONVERSIONS:
            raise errors.UsageError(
                f"unknown conversion {self.convert!r}: use one of {', '.join(CONVERSIONS)}"
            )


DEFAULT_OPTIONS = ExtractOptions()


@functools.lru_cache(maxsize=None)
def converter(config: str):
    """The OpenCC converter for a configuration, built once per process (loading costs ms)."""
    import opencc

    return opencc.OpenCC(config)


#: Share of CJK characters that must convert on their own for a text to count as written in the
#: source script: Traditional news text runs at 15-30 %, a Simplified article quoting a Traditional
#: company name well under 1 %.
TRADITIONAL_DENSITY = 0.05


@functools.lru_cache(maxsize=None)
def convertible_chars(config: str) -> frozenset[str]:
    """CJK characters that OpenCC ``config`` changes on their own (built once per process, ~40 ms)."""
    cc = converter(config)
    return frozenset(ch for ch in map(chr, range(0x3400, 0xA000)) if cc.convert(ch) != ch)


def convert_script(text: str, convert: str) -> str:
    """Convert the script of text with OpenCC (``convert`` is a key of CONVERSIONS).

    OpenCC converts by phrases, which is right for Traditional text (據瞭解 -> 据了解, although 瞭
    alone is also Simplified) but also rewrites Simplified text it takes for a Traditional phrase:
    the name 沈思远 becomes 沉思远 ("沈思" is a Traditional spelling of 沉思). So the phrase result
    is taken whole only when the text is written in the source script (at least
    TRADITIONAL_DENSITY of its CJK characters convert on their own); in other text a change is kept
    only where the original character converts on its own (a stray 資 in a Simplified article).
    """
    config = CONVERSIONS[convert]
    if config is None or not text:
        return text
    out = converter(config).convert(text)
    if out == text or len(out) != len(text):
        return out
    own = convertible_chars(config)
    n_own = sum(1 for ch in text if ch in own)
    n_cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    if n_own >= 2 and n_own >= TRADITIONAL_DENSITY * n_cjk:
        return out
    return "".join(new if new == old or old in own else old for old, new in zip(text, out))


_SWAP_TABLE = {ord(k): v for k, v in rules.AD_LAW_SWAPS.items()}


def apply_swaps(text: str) -> tuple[str, list[str]]:
    """Undo the ad-law character swaps of rules.AD_LAW_SWAPS; returns text and the pairs applied."""
    applied = [f"{k}→{v}" for k, v in rules.AD_LAW_SWAPS.items() if k in text]
    if not applied:
        return text, []
    return text.translate(_SWAP_TABLE), applied


def count_masked(text: str) -> int:
    """Number of ``*`` standing for a censored character (between two CJK characters)."""
    return sum(len(m.group(0)) for m in rules.RE_MASK.finditer(text))


def _mask_digits(match) -> str:
    """Keep the first three digits of a phone number, replace the other digits with ``*``."""
    out, seen = [], 0
    for ch in match.group(0):
        if ch.isdigit():
            seen += 1
            out.append(ch if seen <= 3 else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_phones(text: str) -> tuple[str, int]:
    """Mask mobiles, 400/800 service numbers and landlines with an area code; returns (text, count)."""
    total = 0
    for pattern in (rules.RE_MOBILE, rules.RE_SERVICE, rules.RE_LANDLINE):
        text, n = pattern.subn(_mask_digits, text)
        total += n
    return text, total


def normalize_text(text: str, options: ExtractOptions = DEFAULT_OPTIONS) -> tuple[str, list[str], int]:
    """Normalise article text; returns (text, normalizations applied, masked character count)."""
    applied: list[str] = []
    converted = convert_script(text, options.convert)
    if converted != text:
        applied.append(options.convert)
    text = converted
    if options.swaps:
        text, pairs = apply_swaps(text)
        applied.extend(pairs)
    masked = count_masked(text)
    if options.mask_phones:
        text, n = mask_phones(text)
        if n:
            applied.append("mask_phones")
    return text, applied, masked


def normalize_field(text: str | None, options: ExtractOptions = DEFAULT_OPTIONS) -> str | None:
    """Normalise a short field (title, category, tag) the same way as the body, without phone masking."""
    if not text:
        return text
    if len(text) > FIELD_CACHE_MAX_CHARS:
        return _normalize_field(text, options.convert, options.swaps)
    return _normalized_field(text, options.convert, options.swaps)


#: Distinct short fields remembered per process by normalize_field, and the longest one remembered
#: (a paragraph of crawler.facts.body_lines is read once: no use keeping it).
FIELD_CACHE_SIZE = 8192
FIELD_CACHE_MAX_CHARS = 200


def _normalize_field(text: str, convert: str, swaps: bool) -> str:
    text = convert_script(text, convert)
    if swaps:
        text = apply_swaps(text)[0]
    return text


# fields repeat from page to page (a site's categories and tags, a table's 出让面积 and 备注 labels,
# "—" cells): the result is a pure function of the arguments, so one OpenCC pass (a C call plus
# the Python around it) per distinct field is enough
_normalized_field = functools.lru_cache(maxsize=FIELD_CACHE_SIZE)(_normalize_field)
