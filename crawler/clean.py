"""Body cleaning rules: what sits inside the post body but is not the article.

Works on `Block`s (one paragraph, subhead, list item, table row, caption or image each), so the
same rules run on the tpure body (before and after trafilatura) and on fallback pages. The
patterns themselves are data in `crawler.rules`; this module only decides how to apply them:

* a contact/notice rule removes a block only when the WHOLE line matches it;
* the teaser rule removes only a trailing run of at least ``rules.TEASER_MIN_RUN`` short,
  unpunctuated paragraphs after the last real paragraph;
* lines matching ``rules.KEEP_LINE_PATTERNS`` (bylines, 来源, captions, dates) are never removed.

The patterns are written in Simplified characters; cleaning runs before the script conversion,
so a line is matched as written and as OpenCC t2s reads it (a Traditional page's broker block,
"產業招商/廠房土地租售：…", goes like its Simplified twin).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from crawler import normalize, rules

#: Whitespace that only indents or pads (full-width space, nbsp, zero-width characters).
_RE_EDGE_SPACE = re.compile(r"^[\s\u3000\u00a0\u200b\ufeff]+|[\s\u3000\u00a0\u200b\ufeff]+$")
_RE_INNER_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u200b\ufeff]+")
_PHONE_SEPARATORS = set(" \t-—/、,，+")

#: Block kinds that hold running text (paragraph-level rules apply to them).
TEXT_KINDS = frozenset({"p", "head", "caption", "quote"})


@dataclass
class Block:
    """One unit of body text: kind is p, head, item, row, caption, quote or image."""

    kind: str
    text: str
    image: bool = False  # the paragraph holds or follows an image (its text is a caption)
    alt: str = ""  # image alt/src text, used to recognise QR images
    aligned: bool = False  # centred/right-aligned by the editor (captions, signatures): never a teaser


def clean_line(text: str) -> str:
    """Strip indents (full-width spaces, nbsp) and collapse runs of spaces inside a line."""
    text = _RE_EDGE_SPACE.sub("", text)
    return _RE_INNER_SPACE.sub(" ", text)


@functools.lru_cache(maxsize=4096)
def _scripts(text: str) -> tuple[str, ...]:
    """The line as written and, when it differs, as Simplified (the script the rules are written in)."""
    simplified = normalize.converter(normalize.CONVERSIONS["t2s"]).convert(text)
    return (text,) if simplified == text else (text, simplified)


def _union(patterns: list[tuple[str, re.Pattern[str]]]) -> re.Pattern[str]:
    """One regex matching where any of the named patterns does: one pass rules a line out."""
    return re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in patterns))


# Most lines are article text and match no rule: the union says so in one regex call; a line it
# matches is then named by the first rule (in list order) that matches it on its own.
_ANY_KEEP = _union(rules.KEEP_LINE_PATTERNS)
_ANY_CONTACT = _union(rules.CONTACT_LINE_PATTERNS)


@functools.lru_cache(maxsize=4096)
def keep_rule(text: str) -> str | None:
    """Name of the keep rule (byline, source, caption, date line) the line matches, if any."""
    for line in _scripts(text) if text else ():
        if _ANY_KEEP.search(line):
            return next(name for name, pattern in rules.KEEP_LINE_PATTERNS if pattern.search(line))
    return None


def _is_phone_run(text: str) -> bool:
    """A line made only of phone numbers (behind an optional short label)."""
    if not rules.RE_PHONE_RUN_LINE.fullmatch(text):
        return False
    digits = sum(ch.isdigit() for ch in text)
    return digits >= rules.PHONE_RUN_MIN_DIGITS


@functools.lru_cache(maxsize=4096)
def boilerplate_rule(text: str) -> str | None:
    """Name of the contact/notice rule matching the whole line, or None (article text)."""
    if not text or keep_rule(text):
        return None
    lines = _scripts(text)
    if any(_ANY_CONTACT.fullmatch(line) for line in lines):
        for name, pattern in rules.CONTACT_LINE_PATTERNS:
            if any(pattern.fullmatch(line) for line in lines):
                return name
    if any(_is_phone_run(line) for line in lines):
        return "phone-run"
    return None


def is_qr_image(block: Block) -> bool:
    """An image of the broker's QR code / WeChat (recognised by alt, src or its caption)."""
    return block.image and any(rules.RE_QR_IMAGE.search(alt) for alt in _scripts(block.alt))


def is_teaser_line(text: str) -> bool:
    """A line that looks like a (possibly truncated) teaser title: short, no sentence punctuation."""
    if not text or keep_rule(text):
        return False
    core = rules.RE_TEASER_TRUNCATED.sub("", text).strip()
    if not core or len(core) > rules.TEASER_MAX_CHARS:
        return False
    return not rules.RE_SENTENCE_PUNCT.search(core)


def _teaser_candidate(b: Block) -> bool:
    """A plain paragraph (no image, caption or alignment) whose text looks like a teaser title."""
    return b.kind == "p" and not b.image and not b.aligned and is_teaser_line(b.text)


def teaser_run_start(blocks: list[Block]) -> int:
    """Index where the trailing teaser run starts, or len(blocks) when there is none."""
    i = len(blocks)
    while i > 0 and _teaser_candidate(blocks[i - 1]):
        i -= 1
    run = len(blocks) - i
    # A run needs real article text before it: a page of short lines only is left alone.
    has_article = any(b.kind != "image" and b.text for b in blocks[:i])
    if run >= rules.TEASER_MIN_RUN and has_article:
        return i
    return len(blocks)


def drop_boilerplate(blocks: list[Block]) -> list[Block]:
    """Remove contact/notice lines and QR images (whole-line rules only)."""
    out = []
    for b in blocks:
        if b.kind == "image":
            if is_qr_image(b):
                continue
            out.append(b)
            continue
        if b.kind in TEXT_KINDS or b.kind == "item":
            if boilerplate_rule(b.text):
                continue
        out.append(b)
    return out


def clean_blocks(blocks: list[Block]) -> list[Block]:
    """The article's blocks: normalised lines, no contact block, no teaser run, no empty lines."""
    cleaned = []
    for b in blocks:
        text = clean_line(b.text)
        if not text and b.kind != "image":
            continue
        cleaned.append(Block(b.kind, text, b.image, b.alt, b.aligned))
    cleaned = drop_boilerplate(cleaned)
    # Images are not text; drop them after the contact rules (which needed them) and before the
    # teaser rule (a trailing image must not hide the teaser run behind it).
    cleaned = [b for b in cleaned if b.kind != "image" and b.text]
    return cleaned[: teaser_run_start(cleaned)]


def blocks_to_text(blocks: list[Block]) -> str:
    """One block per line."""
    return "\n".join(b.text for b in blocks)
