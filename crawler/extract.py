"""Pure extraction: HTML bytes + URL -> article record. No Scrapy imports; one lxml parse per page.

tpure pages go through the page model (title, info line, tags, related, prev/next from the
selectors in `crawler.rules`), the body is ``.single`` pruned to the article (contact block,
QR images and teaser run dropped by `crawler.clean`), trafilatura removes what else is
boilerplate in that fragment, the cleaning rules run again on its paragraphs, and
`crawler.normalize` converts the script and undoes ad-law swaps. Pages that are not tpure
posts fall back to trafilatura on the whole page (favor_precision) plus the same cleaning.
"""

from __future__ import annotations

import codecs
import copy
import dataclasses
import functools
import re
from email.utils import format_datetime
from datetime import datetime, timezone
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from crawler import chrome, clean, clock, dates, decode, errors, items, normalize, pagemodel, rules, sites
from crawler.clean import Block
from crawler.decode import decode_html  # re-exported: crawler.extract.decode_html stays importable
from crawler.normalize import ExtractOptions
from crawler.pagemodel import abs_url as _abs, first as _first, text_of as _text
from crawler.settings import DOWNLOAD_MAXSIZE

#: Largest saved page `parkcorpus extract` reads: the crawl's own limit for one response
MAX_PAGE_BYTES = DOWNLOAD_MAXSIZE

__all__ = ["ExtractOptions", "extract_html", "decode_html", "post_id_from_url"]

_RE_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_END_OF_PAGE = re.compile(r"</html\s*>", re.I)


def post_id_from_url(url: str | None) -> int | None:
    """The post number of ``/index.php/post/<id>.html`` or ``index.php?id=<id>``; None otherwise."""
    return sites.post_id_of(url) if url else None


# ------------------------------------------------------------------------------------------
# Body: DOM blocks (for pruning) and trafilatura blocks (for the text)
# ------------------------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "div", "section", "article", "center", "blockquote", "h1", "h2", "h3", "h4",
               "h5", "h6", "ul", "ol", "table", "figure", "dl", "pre", "hr"}


#: A paragraph holding one of these holds more than one line.
_NESTED_TAGS = frozenset(_BLOCK_TAGS | {"br"})


def _nested(el) -> bool:
    """el has a block or ``<br>`` below it (a tag set in Python: lxml's many-tag
    ``iterdescendants(*tags)`` builds a matcher per call, dearer than walking a short paragraph)."""
    return any(d.tag in _NESTED_TAGS for d in el.iterdescendants())


def _img_alt(el) -> str:
    """Alt, title and source of the images inside an element, joined (for QR recognition)."""
    imgs = [el] if el.tag == "img" else el.iter("img")
    parts = []
    for img in imgs:
        parts.extend(img.get(a, "") for a in ("alt", "title", "data-original", "src"))
    return " ".join(p for p in parts if p)


_RE_ALIGNED = re.compile(r"text-align\s*:\s*(?:center|right)", re.I)


def _aligned(el) -> bool:
    """Centred or right-aligned by the editor (captions, signatures); teaser lines never are."""
    return bool(_RE_ALIGNED.search(el.get("style") or "")) or (el.get("align") or "").lower() in ("center", "right")


def _dom_block(el) -> Block:
    """A top-level child of ``.single`` as one Block (only single-line paragraphs are typed p)."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if not len(el):
        # most paragraphs are one text node: no text_content() XPath, no descendant walks
        text, has_img, nested = " ".join((el.text or "").split()), tag == "img", False
    elif tag in _PARAGRAPH_TAGS:
        text = _text(el)
        below = {d.tag for d in el.iterdescendants()}  # one walk for both questions
        has_img, nested = "img" in below, not below.isdisjoint(_NESTED_TAGS)
    else:
        text, has_img, nested = _text(el), next(el.iter("img"), None) is not None, True
    if has_img and not text:
        return Block("image", "", True, _img_alt(el))
    if tag in _PARAGRAPH_TAGS and not nested:
        return Block("p", text, has_img, _img_alt(el) if has_img else "", _aligned(el) or tag == "center")
    return Block("other", text, has_img)


#: Top-level children that are one paragraph when nothing block-level is nested in them.
_PARAGRAPH_TAGS = frozenset({"p", "div", "center", "section", "span", "a", "strong", "b", "font"})


_INLINE_TAGS = frozenset({"b", "strong", "font", "span", "em", "i", "u", "a", "small", "big", "sup", "sub"})
_HOIST_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "div", "p", "blockquote", "dl",
                         "figure", "section"})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Elements inside ``.single`` that never carry article text (`rules.XP_SINGLE_JUNK`), compiled once.
_XP_SINGLE_JUNK = etree.XPath(rules.XP_SINGLE_JUNK)


def repair_nesting(single) -> None:
    """Undo tag-soup nesting: blocks swallowed by an unclosed ``<b>`` or ``<p>`` become siblings again.

    libxml2 keeps a ``<h3>`` or ``<table>`` that follows ``<p><b>text`` (no ``</b>``, no ``</p>``)
    inside that paragraph; the editor's HTML on these sites has such soup, and a paragraph holding
    a table would come out as one line.
    """
    # One walk, tags tested in Python: lxml's many-tag iter() builds a matcher per call. Dropping
    # an inline tag moves its children up in place, so document order (and the paragraphs the
    # second loop sees) is as a fresh walk would find it.
    elements = list(single.iter())
    for el in elements:
        if el.tag in _INLINE_TAGS and el is not single and any(d.tag in _HOIST_TAGS for d in el.iterdescendants()):
            el.drop_tag()
    for el in elements:
        if el.tag != "p" and el.tag not in _HEADING_TAGS:
            continue
        kids = [c for c in el if isinstance(c.tag, str)]
        first = next((i for i, c in enumerate(kids) if c.tag in _HOIST_TAGS), None)
        if first is None or el.getparent() is None:
            continue
        parent, pos = el.getparent(), el.getparent().index(el)
        for k, child in enumerate(kids[first:]):
            parent.insert(pos + 1 + k, child)


def prune_single(single) -> bool:
    """Drop the contact block, QR images and the trailing teaser run from ``.single`` in place.

    Returns whether two of the paragraphs it kept, top-level or inside a wrapper, have the same
    text (see `_mark_repeats`).
    """
    for junk in _XP_SINGLE_JUNK(single):
        junk.drop_tree()
    repair_nesting(single)
    children = [c for c in single if isinstance(c.tag, str)]
    kept = []
    for child in children:
        block = _dom_block(child)
        # The text is split()/joined already: of what clean_line strips or collapses only the
        # zero-width space and BOM (not str.isspace) can be left, and its two regexes cost more.
        if "\u200b" in block.text or "\ufeff" in block.text:
            block.text = clean.clean_line(block.text)
        drop = False
        if block.kind == "image":
            drop = clean.is_qr_image(block)
        elif not block.text and not block.image:
            drop = True  # empty paragraphs and <p><br/></p> spacers
        elif block.kind == "p" and clean.boilerplate_rule(block.text):
            drop = True
            # An image whose caption is a contact line ("扫一扫关注公众号") is a QR code too.
            if kept and kept[-1][1].kind == "image":
                kept.pop()[0].drop_tree()
        if drop:
            child.drop_tree()
        else:
            kept.append((child, block))
    # A line right after an image is its caption, never a teaser. Images themselves (other
    # than QR codes, already gone) are neither text nor teasers: look past them for the run.
    for (_, prev), (_, cur) in zip(kept, kept[1:]):
        if prev.kind == "image" and cur.kind == "p":
            cur.image = True
    textual = [(c, b) for c, b in kept if b.kind != "image"]
    start = clean.teaser_run_start([b for _, b in textual])
    for child, _ in textual[start:]:
        child.drop_tree()
    # Subheads (h2/h3 in the editor's HTML) become paragraphs: trafilatura drops short headings
    # between paragraphs of a fragment, and the corpus keeps a subhead as one line anyway.
    for head in single.iterdescendants():
        if head.tag in _HEADING_TAGS:
            head.tag = "p"
    # Lazy images: tpure keeps the real URL in data-original and a placeholder in src.
    for img in single.iter("img"):
        if img.get("data-original"):
            img.set("src", img.get("data-original"))
    texts = [t for c, b in textual[:start] for t in _paragraph_texts(c, b) if t]
    return len(set(texts)) < len(texts)


def _paragraph_texts(el, block: Block) -> list[str]:
    """The paragraph texts of a kept top-level block, as `_mark_repeats` compares them: the block's
    own line, or for a wrapper the text of each leaf paragraph inside it (a notice may wrap each
    parcel's lines in a ``<div>``, and repeat 出让年限：50年 in each)."""
    if block.kind == "p":
        return [" ".join(block.text.split())]
    return [" ".join(d.text_content().split()) for d in el.iter() if d.tag in _REPEAT_TAGS and not _nested(d)]


def _lines(el, skip: tuple[str, ...] = ()) -> list[str]:
    """Text lines of a trafilatura output element (``lb`` and newlines split lines).

    Children tagged in ``skip`` are left out (a nested list inside an item has items of its own).
    """
    if not len(el) and el.tag != "lb":
        return (el.text or "").split("\n")  # a leaf (most paragraphs and cells): its own text
    parts: list[str] = []

    def walk(node):
        if node.tag == "lb":
            parts.append("\n")
        elif node.text:
            parts.append(node.text)
        for child in node:
            if child.tag not in skip:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts).split("\n")


def _graphic_alt(el) -> str:
    """Alt and source of the trafilatura ``graphic`` elements under el."""
    return " ".join(f"{g.get('alt', '')} {g.get('src', '')}" for g in el.iter("graphic"))


def trafilatura_blocks(body) -> list[Block]:
    """Blocks from trafilatura's XML body (p, head, list/item, table/row/cell, graphic, quote)."""
    out: list[Block] = []
    for el in body:
        tag = el.tag
        if tag == "graphic":
            out.append(Block("image", "", True, _graphic_alt(el)))
        elif tag == "list":
            for item in el.iter("item"):
                out.extend(Block("item", line) for line in _lines(item, skip=("list",)) if line.strip())
        elif tag == "table":
            for row in el.iter("row"):
                cells = [" ".join("".join(_lines(cell)).split()) for cell in row.iter("cell")]
                text = " ".join(c for c in cells if c)
                if text:
                    out.append(Block("row", text))
        else:
            kind = "head" if tag == "head" else ("quote" if tag == "quote" else "p")
            has_img = len(el) > 0 and next(el.iter("graphic"), None) is not None  # (el is no graphic)
            if has_img:
                out.append(Block("image", "", True, _graphic_alt(el)))
            lines = [line for line in _lines(el) if line.strip()]
            # Text sharing a paragraph with an image is its caption.
            aligned = _aligned(el)
            out.extend(Block(kind, line, has_img, "", aligned) for line in lines)
    return out


def _mark_captions(blocks: list[Block]) -> list[Block]:
    """A short line right after a (non-QR) image is its caption: never a teaser."""
    for prev, cur in zip(blocks, blocks[1:]):
        if prev.kind == "image" and cur.kind == "p" and not clean.is_qr_image(prev):
            cur.image = True
    return blocks


@functools.lru_cache(maxsize=1)
def _trafilatura_config():
    """trafilatura settings for post bodies: no "too short" rescue.

    Below MIN_EXTRACTED_SIZE characters trafilatura swaps its result for a baseline dump of the
    whole input (table cells and link anchors on lines of their own); a short post body is
    normal here, so the threshold is off.
    """
    from trafilatura.settings import use_config

    config = use_config()
    config = copy.deepcopy(config)
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    return config


def _extractor(*, precision: bool, fast: bool, rescue: bool, metadata: bool):
    """trafilatura's options as this module runs it (bare_extraction's ``options``).

    The output format is "xml": the body tree (and the metadata) is all this module reads, so
    trafilatura's own text rendering is skipped. rescue=False turns off the "too short" rescue
    (see `_trafilatura_config`).
    """
    from trafilatura.settings import DEFAULT_CONFIG, Extractor

    return Extractor(
        config=DEFAULT_CONFIG if rescue else _trafilatura_config(),
        output_format="xml",
        fast=fast,
        precision=precision,
        recall=not precision,
        comments=False,
        tables=True,
        images=True,
        links=False,
        with_metadata=metadata,
    )


@functools.lru_cache(maxsize=1)
def _body_extractor():
    """The options for a pruned tpure body, built once per process: recall mode, fast, no metadata.

    Recall mode because the site's boilerplate is already gone, and the balanced mode drops the
    body's lists and ``<div>``/``<br>`` blocks.
    """
    return _extractor(precision=False, fast=True, rescue=False, metadata=False)


def _trafilatura_body(fragment):
    """trafilatura's XML body element of a pruned tpure body, or None when it finds nothing."""
    import trafilatura

    doc = trafilatura.bare_extraction(fragment, options=_body_extractor())
    return None if doc is None else doc.body


def _dom_fallback_blocks(single) -> list[Block]:
    """Blocks straight from the pruned DOM, used when trafilatura keeps nothing (tiny posts)."""
    text = single.text_content()
    return [Block("p", line) for line in text.split("\n") if line.strip()]


#: Appended, for trafilatura's run only, to a paragraph that repeats an earlier one (k marks on the
#: k-th repeat): trafilatura keeps one of identical paragraphs, but an article may repeat a line
#: (出让年限：50年 under each parcel of a notice). An invisible separator, never in article text.
_REPEAT_MARK = "\u2063"
_REPEAT_TAGS = frozenset({"p", "li", "div", "blockquote", "dd", "dt"})


def _mark_repeats(single) -> list[tuple]:
    """Make the repeated leaf paragraphs of single distinct; returns what `_unmark` restores.

    Run when `prune_single` saw two paragraphs with the same text (rare), at the top level or
    inside a wrapper (`_paragraph_texts`).
    """
    seen: dict[str, int] = {}
    undo: list[tuple] = []
    for el in single.iter():
        if el.tag not in _REPEAT_TAGS:
            continue
        if _nested(el):
            continue  # a container: its paragraphs are marked themselves
        text = " ".join(el.text_content().split())
        if not text:
            continue
        n = seen.get(text, 0)
        seen[text] = n + 1
        if n:
            kids = [c for c in el if isinstance(c.tag, str)]
            node, attr = (kids[-1], "tail") if kids else (el, "text")
            undo.append((node, attr, getattr(node, attr)))
            setattr(node, attr, (getattr(node, attr) or "") + _REPEAT_MARK * n)
    return undo


def _unmark(undo: list[tuple]) -> None:
    """Put back what `_mark_repeats` changed."""
    for node, attr, value in undo:
        setattr(node, attr, value)


def body_blocks(single) -> list[Block]:
    """The cleaned article blocks of a tpure ``.single`` element (pruned in place)."""
    undo = _mark_repeats(single) if prune_single(single) else []
    html = _html_parser().makeelement("html")  # a document of its own, with the page's element classes
    body = etree.SubElement(html, "body")
    body.append(single)
    try:
        tbody = _trafilatura_body(html)
    finally:
        _unmark(undo)  # the body element goes on to the links and facts steps as the page has it
    blocks = trafilatura_blocks(tbody) if tbody is not None else []
    for b in blocks:
        if _REPEAT_MARK in b.text:
            b.text = b.text.replace(_REPEAT_MARK, "")
    if not any(b.text.strip() for b in blocks):
        blocks = _dom_fallback_blocks(single)
    return clean.clean_blocks(_mark_captions(blocks))


# ------------------------------------------------------------------------------------------
# Page model
# ------------------------------------------------------------------------------------------


def _inline_links(single, base: str) -> list[dict]:
    """Links inside the (pruned) body: [{url, anchor}]."""
    out = []
    for a in single.iter("a"):
        url = _abs(base, a.get("href"))
        if url:
            out.append({"url": url, "anchor": _text(a)})
    return out


def _source(lines: list[str]) -> str | None:
    """The outlet named in the body: a ``来源：X`` line, else ``X网讯`` opening the article."""
    for line in lines:
        m = rules.RE_SOURCE_LINE.match(line)
        if m:
            return m.group(1)
    # The "X网讯" opener starts the first paragraph, after an optional 原标题 line.
    for line in lines[:2]:
        m = rules.RE_SOURCE_WANGXUN.match(line)
        if m:
            return m.group(1)
    return None


def _reporter(lines: list[str]) -> str | None:
    """The reporter line ``(记者…通讯员…)``, searched from the end of the article."""
    for line in reversed(lines):
        m = rules.RE_REPORTER.search(line)
        if m:
            return m.group(1).strip()
    return None


_RE_KANA = re.compile("[\u3041-\u30fa\u30fc-\u30ff]")


def _japanese(text: str) -> bool:
    """Japanese text: kana make up at least a tenth of its letters (Chinese has none)."""
    if not _RE_KANA.search(text):
        return False
    kana = sum(1 for ch in text if "\u3041" <= ch <= "\u30ff" and ch not in "\u30fb")
    letters = sum(1 for ch in text if ch.isalpha())
    return letters > 0 and kana >= 0.1 * letters


def parse_page(html: bytes | str, content_type: str | None = None):
    """Decode and parse a page once; returns the lxml tree and the decoded text."""
    tree, text, _codec, _errors = _parse(html, content_type)
    return tree, text


#: Every element an HtmlElement, chosen in C: lxml.html's own lookup is a Python call per element
#: proxy (to give form fields classes of their own, which extraction never uses).
_ELEMENT_CLASSES = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity,
)


def _html_parser(encoding: str | None = None) -> lxml.html.HTMLParser:
    """A new HTML parser (one per page: its error log is the page's) with those element classes;
    encoding is the codec of the bytes it is given (None for a str)."""
    parser = lxml.html.HTMLParser(encoding=encoding)
    parser.set_element_class_lookup(_ELEMENT_CLASSES)
    return parser


def _parse(html: bytes | str, content_type: str | None = None, charset: str | None = None):
    """(tree, text, codec, decode_errors) of a page; str input counts as already decoded."""
    if isinstance(html, bytes):
        text, codec, bad = decode_html(html, content_type, charset)
    else:
        text, codec, bad = html, None, 0
    declaration = _RE_XML_DECL.match(text)
    if declaration:
        text = text[declaration.end():]
    if not text or text.isspace():
        raise errors.NotAnArticle("empty page")
    # Bytes that decoded as UTF-8 as they are go to libxml2 as they are: from a str it would read
    # CPython's UTF-16/32 copy and convert it back to UTF-8 first. The tree is the same (a BOM, an
    # XML declaration or a replaced byte takes the str way, which drops or mends them).
    as_bytes = (isinstance(html, bytes) and codec == "utf-8" and not bad and not declaration
                and not html.startswith(codecs.BOM_UTF8))
    parser = _html_parser("utf-8" if as_bytes else None)
    try:
        tree = lxml.html.document_fromstring(html if as_bytes else text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise errors.NotAnArticle(f"not an HTML page ({exc})") from None
    # libxml2 stops descending at 256 levels and silently drops what lies deeper: a body nested
    # that deep (no real page is) would come out as empty text, so the page counts as malformed
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        raise errors.MalformedPage("page nested deeper than the HTML parser's limit (256 levels); not extracted")
    return tree, text, codec, bad


# ------------------------------------------------------------------------------------------
# Off-template pages
# ------------------------------------------------------------------------------------------

#: Below this many characters trafilatura's precision mode "returned too little": its recall
#: mode runs too and wins when it finds more (short notices, pages with unusual markup).
FALLBACK_MIN_CHARS = 200
#: The site's whole-line rules may remove at most this share of trafilatura's text; removing
#: more means they are cutting the article on a layout they were not written for.
FALLBACK_MAX_CUT = 0.5


def _chars(blocks: list[Block]) -> int:
    """Non-space characters of blocks' text."""
    return sum(len("".join(b.text.split())) for b in blocks)


def _whole_page(tree, *, precision: bool, rescue: bool = True):
    """trafilatura on a whole page as ``trafilatura.extract`` runs it.

    rescue=False turns off trafilatura's "too short" rescue, which swaps a short result for a
    dump of the whole page (menus, footer): on a page whose side blocks are gone, a short
    result is the short article.
    """
    import trafilatura

    # bare_extraction works on a copy of the tree it is given; options are built per call: their
    # date bounds (for the metadata) are today's
    return trafilatura.bare_extraction(tree, options=_extractor(precision=precision, fast=False, rescue=rescue, metadata=True))


def fallback_body(tree, title_el=None, title_text: str | None = None) -> tuple[list[Block], dict]:
    """Article blocks and page metadata (title, date) of a page that is not a tpure post.

    Blocks that are never the article (comments, related news, sidebars: `rules.RE_SIDE_BLOCK_NAME`,
    `rules.SIDE_BLOCK_LABELS`; 政府信息公开 metadata tables) are dropped first, unless they hold
    the title heading or most of the page's text (a comment section its heading opens goes even
    then); layout tables are unwrapped and link lists dropped (`crawler.chrome`). trafilatura
    then chooses the article block (favor_precision; recall mode when precision keeps fewer than
    FALLBACK_MIN_CHARS characters, and the prose its rescue adds on such short pages); of the
    site's cleaning only the rules that match whole lines run (contact lines, notices, QR
    images), never the teaser rule; when they would cut more than FALLBACK_MAX_CUT of the text,
    trafilatura's own lines are kept; page chrome lines go (`crawler.chrome.chrome_rule`). The
    date: a time with a UTC offset in the page's metadata, a labelled or info-line date, else
    trafilatura's.
    """
    pruned = copy.deepcopy(tree)
    title_copy = _same_element(tree, pruned, title_el) if title_el is not None else None
    _drop_side_blocks(pruned, title_copy)
    chrome.unwrap_layout_tables(pruned)
    chrome.drop_link_lists(pruned, title_copy)
    # Captions are article text; trafilatura leaves <figcaption> out.
    for caption in pruned.iter("figcaption"):
        caption.tag = "p"
    doc, cleaned = None, []
    # The pruned page (no rescue when its title is known: the article is what is left), then the
    # whole page as trafilatura.extract sees it when nothing was found.
    for page, rescue in ((pruned, title_copy is None), (tree, True)):
        doc = _whole_page(page, precision=True, rescue=rescue)
        blocks = _plain(doc)
        if _chars(blocks) < FALLBACK_MIN_CHARS:
            recall = _whole_page(page, precision=False, rescue=rescue)
            more = _plain(recall)
            # Recall wins when it finds more, or the same text in more lines: on short pages the
            # precision mode can return its baseline, the whole body text run into one line.
            if _chars(more) > _chars(blocks) or (len(more) > len(blocks) and _chars(more) >= 0.9 * _chars(blocks)):
                doc, blocks = recall, more
            if not rescue:
                blocks = _with_rescued_prose(page, blocks)
        title = title_text if title_text is not None else (_text(title_el) if title_el is not None else "")
        cleaned = _fallback_clean(blocks, title)
        if not cleaned and page is pruned and title_copy is not None:
            # A very short article (one caption line) that trafilatura passes over: the
            # paragraphs after the title heading, in its block.
            cleaned = _after_title(title_copy)
        if cleaned:
            break
    meta = {"title": getattr(doc, "title", None) if doc is not None else None,
            "date": chrome.meta_time(tree, title_el)
            or chrome.local_to_china_time(tree, chrome.labelled_date(tree) or chrome.date_after(title_el))
            or (getattr(doc, "date", None) if doc is not None else None)}
    return cleaned, meta


#: A line trafilatura's rescue adds is kept only when it reads as prose: this long at least and
#: ending a sentence (a lead paragraph in a <div> of its own; menus and link titles never do).
RESCUED_PROSE_MIN_CHARS = 20
_RE_SENTENCE_END = re.compile(r"[。！？!?」”』）)]$")


def _with_rescued_prose(page, blocks: list[Block]) -> list[Block]:
    """blocks plus the prose lines trafilatura finds on the same (pruned) page with its "too short"
    rescue on: on a short article the rescue compares extractors and may keep a lead paragraph
    that stands in a ``<div>`` of its own (the summary above a broadcaster's article). Taken only
    when it keeps every line of blocks, in order, and adds nothing but prose."""
    rescued = _plain(_whole_page(page, precision=True, rescue=True))
    have = [b.text for b in blocks if b.kind != "image"]
    if not have:
        return blocks
    texts = [b.text for b in rescued if b.kind != "image"]
    it = iter(texts)
    if not all(any(t == line for t in it) for line in have):
        return blocks  # the rescue lost or reordered lines: not the same article
    extra = [t for t in texts if t not in have]
    if not extra or not all(len(t) >= RESCUED_PROSE_MIN_CHARS and _RE_SENTENCE_END.search(t) and not chrome.chrome_rule(t)
                            for t in extra):
        return blocks
    return rescued


def is_info_line(text: str) -> bool:
    """A news page's info line or post footer (two labels such as 发布时间/来源/作者/浏览 and a
    date or counter), which trafilatura sometimes keeps with the article."""
    if len(text) > rules.INFO_LINE_MAX_CHARS:
        return False
    labels = {m.group(1) for m in rules.RE_INFO_LABEL.finditer(text)}
    return len(labels) >= 2 and bool(rules.RE_INFO_EVIDENCE.search(text))


def _fallback_clean(blocks: list[Block], title: str = "") -> list[Block]:
    """trafilatura's lines minus whole-line site rules (unless they cut too much), info and footer
    lines, and the title (a field of its own, which trafilatura keeps as the first line)."""
    cleaned = [b for b in clean.drop_boilerplate(_mark_captions(blocks)) if b.kind != "image" and b.text]
    plain = [b for b in blocks if b.kind != "image" and b.text]
    if _chars(cleaned) < (1 - FALLBACK_MAX_CUT) * _chars(plain):
        cleaned = plain
    return [b for b in cleaned if not is_info_line(b.text) and not is_footer_line(b.text)
            and not rules.RE_PAGE_CHROME_LINE.match(b.text) and not chrome.chrome_rule(b.text)
            and not chrome.is_disclosure_line(b.text) and b.text != title]


def _after_title(title_el) -> list[Block]:
    """Paragraphs that follow the title heading inside its block (the smallest ancestor that has any)."""
    box = title_el.getparent()
    while box is not None:
        paras = [p for p in box.iter("p") if p is not title_el and title_el not in p.iterancestors()]
        if any(_text(p) for p in paras):
            break
        box = box.getparent()
    if box is None:
        return []
    after = False
    out = []
    for el in box.iter():
        if el is title_el:
            after = True
        elif after and el.tag == "p":
            text = clean.clean_line(_text(el))
            if text:
                out.append(Block("p", text))
    return _fallback_clean(out)


def is_footer_line(text: str) -> bool:
    """A site footer line (主办单位, ICP备案号, 版权所有 ...: rules.RE_FOOTER_LINE)."""
    return len(text) <= rules.FOOTER_LINE_MAX_CHARS and bool(rules.RE_FOOTER_LINE.search(text))


def _same_element(tree, copy_tree, el):
    """The element of copy_tree at el's position in tree (deepcopy keeps the structure)."""
    path = tree.getroottree().getpath(el)
    found = copy_tree.getroottree().xpath(path)
    return found[0] if found else None


def _para_chars(el) -> int:
    """Characters of running text under el (what trafilatura could take as the article)."""
    tags = ("p", "li", "dd", "td")
    # innermost text blocks only: an <li><p>…</p></li> counts once
    return sum(len("".join(p.text_content().split())) for p in el.iter(*tags)
               if not any(d is not p for d in p.iter(*tags)))


def _short_text(el, limit: int = 16) -> str | None:
    """The whitespace-free text of el when it is at most limit characters, else None (cheap on big blocks)."""
    parts, n = [], 0
    for piece in el.itertext():
        piece = "".join(piece.split())
        n += len(piece)
        if n > limit:
            return None
        parts.append(piece)
    return "".join(parts)


def _block_label(el) -> str | None:
    """A block heading's label without its "更多>>"/"查看全部" link, count ("（10条）") and
    punctuation (None for long text)."""
    text = _short_text(el, limit=24)
    if not text:
        return None
    text = rules.RE_LABEL_TAIL.sub("", rules.RE_LABEL_MORE.sub("", text))
    return rules.RE_LABEL_TAIL.sub("", rules.RE_LABEL_COUNT.sub("", text)) or text


_SIDE_LABELS = rules.SIDE_BLOCK_LABELS | rules.SIDE_BLOCK_LABELS_EXTRA


def _opens(head, block) -> bool:
    """head's text starts block: at most rules.SIDE_BLOCK_OPENING_CHARS characters come before it."""
    label = "".join(head.text_content().split())
    return 0 <= "".join(block.text_content().split()).find(label) <= rules.SIDE_BLOCK_OPENING_CHARS


def _drop_side_blocks(tree, title_el) -> None:
    """Remove comments, related-news blocks and sidebars (see rules.RE_SIDE_BLOCK_NAME) in place."""
    body = _first(tree, "//body")
    if body is None:
        return
    total = _para_chars(body)
    root = chrome.top(body)
    protected = set(title_el.iterancestors()) | {title_el} if title_el is not None else set()

    def drop(el, anchored: bool = True) -> None:
        if el in protected or el is body or el.getparent() is None:
            return
        # Without a title heading to anchor the article (or when only a heading names the
        # block), a block holding most of the page's text may be the article: leave it.
        if (title_el is None or not anchored) and _para_chars(el) > total / 2:
            return
        el.drop_tree()

    def side_name(el) -> bool:
        names = f"{el.get('class', '')} {el.get('id', '')}"
        return bool(rules.RE_SIDE_BLOCK_NAME.search(names) or rules.RE_SIDE_BLOCK_SUBSTRING.search(names)
                    or rules.RE_SIDE_BLOCK_EXTRA.search(names))

    # 政府信息公开 metadata tables (索引号/发布机构/文号 ...) above the document.
    for table in [t for t in body.iter("table") if chrome.is_disclosure_table(t)]:
        drop(table)

    # Forms (comment forms, search boxes) never hold article text.
    named = [el for el in body.iter() if isinstance(el.tag, str) and (el.tag in ("aside", "form") or side_name(el))]
    for el in named:
        drop(el)
    for head in list(body.iter("h2", "h3", "h4", "h5", "h6", "dt", "strong", "b", "span", "div", "li", "label")):
        if chrome.top(head) is not root:
            continue  # inside a block already dropped
        label = _block_label(head)
        if label not in _SIDE_LABELS:
            continue
        box = head
        while box.getparent() is not None and _block_label(box.getparent()) == label:
            box = box.getparent()
        parent = box.getparent()
        if parent is not None:
            # A block this heading opens is a comment/related section even when it holds most of
            # the text (comments longer than the article), once the title heading lies outside it.
            drop(parent, anchored=title_el is not None and _opens(box, parent))


def _plain(doc) -> list[Block]:
    """trafilatura's blocks with normalised lines (empty lines dropped, images kept)."""
    if doc is None or doc.body is None:
        return []
    out = []
    for b in trafilatura_blocks(doc.body):
        text = clean.clean_line(b.text)
        if text or b.kind == "image":
            out.append(Block(b.kind, text, b.image, b.alt, b.aligned))
    return out


_XP_TITLE_CANDIDATES = chrome.XP_TITLE_CANDIDATES
#: Meta tags naming the article title: og:title, TRS WCM's ArticleTitle (government sites).
_XP_META_TITLE = ("string(//meta[@property='og:title']/@content)", "string(//meta[@name='ArticleTitle']/@content)")


def _heading_texts(el) -> list[str]:
    """What a title heading may say: its whole text, and its text before the first child
    element (PHPCMS puts the info line in a ``<span>`` after a ``<br />`` inside the ``<h1>``)."""
    whole = _text(el)
    lead = " ".join((el.text or "").split())
    return [whole] + ([lead] if lead and lead != whole else [])


def _title_element(tree):
    """The heading that names the article: a heading whose text the page's ``<title>`` (or
    og:title, ArticleTitle) contains, preferring one the title starts with ("标题_栏目_站点")
    and that is not a link (the site logo's ``<h1><a>``); (element, its title text), or (None, "")."""
    titles = [t for t in (" ".join(tree.xpath(x).split()) for x in _XP_META_TITLE) if t]
    titles.append(_text(_first(tree, "//title")))
    titles = [t for t in titles if t]
    if not titles:
        return None, ""
    best, best_text, best_key = None, "", None
    for el in tree.xpath(_XP_TITLE_CANDIDATES):
        for text in _heading_texts(el):
            if not 4 <= len(text) <= 120 or not any(text in t for t in titles):
                continue
            link_only = any(_text(a) == text for a in el.iter("a"))
            key = (any(t.startswith(text) for t in titles), not link_only, len(text))
            if best_key is None or key > best_key:
                best, best_text, best_key = el, text, key
    return best, best_text


def _page_title(tree, title_text: str, meta_title: str | None, blocks: list[Block]) -> str:
    """The article title of an off-template page: its title heading, else the heading just
    before the article text, else trafilatura's title (og:title, ``<title>`` cut at its
    separators), else the first ``<h1>`` or the ``<title>``."""
    if title_text:
        return title_text
    before = chrome.title_before(tree, blocks[0].text) if blocks else ""
    if before:
        return before
    meta_title = " ".join((meta_title or "").split())
    return meta_title or _text(_first(tree, "//h1")) or _text(_first(tree, "//title"))


def extract_html(
    html: bytes,
    url: str | None,
    *,
    fetched_at: datetime | None = None,
    server_date: datetime | None = None,
    feed_published: datetime | None = None,
    archive_month: tuple[int, int] | None = None,
    options: ExtractOptions | None = None,
    content_type: str | None = None,
    charset: str | None = None,
) -> dict:
    """Extract one article record (crawler.items columns + ``inline_links``) from a post page.

    content_type: the HTTP ``Content-Type`` header (or a bare charset) the page came with;
    charset forces a codec (``parkcorpus extract --charset``). See `crawler.decode.decode_html`.
    """
    options = options or normalize.DEFAULT_OPTIONS
    fetched_at = clock.to_utc(fetched_at) or datetime.now(timezone.utc)
    tree, text, codec, decode_errors = _parse(html, content_type, charset)
    canonical = next(iter(pagemodel.head_values(tree, rules.XP_CANONICAL)), None)
    url = url or (canonical.strip() if canonical else None)
    base = url or ""
    page = pagemodel.TpurePage(tree, base)
    single = page.first(rules.SINGLE)
    h1 = page.first(rules.TITLE)
    # tpure by its theme assets, or a page saved without them that still has tpure's post markup.
    tpure = pagemodel.is_tpure(tree) or (single is not None and h1 is not None)
    single = single if tpure else None
    if tpure and single is None:
        classes = set(" ".join(tree.xpath(rules.XP_BODY_CLASS)).split())
        page_title = _text(_first(tree, "//title"))
        if classes & rules.NOT_FOUND_BODY_CLASSES or any(m in page_title for m in rules.NOT_FOUND_MARKERS):
            kind = "404 page"
        elif classes & rules.NON_POST_BODY_CLASSES:
            kind = "list page"
        else:
            kind = "page without a post body"
        raise errors.NotAnArticle(f"not a post page ({kind})" + (f": {url}" if url else ""))

    if single is not None:
        title = _text(h1)
        if not title:
            raise errors.MalformedPage("post page without a title" + (f": {url}" if url else ""))
        # the end tag is at the end: look there first, the whole page only if it is not
        if not (_END_OF_PAGE.search(text, max(0, len(text) - 2048)) or _END_OF_PAGE.search(text)):
            # lxml silently closes a cut-off document; a tpure page always ends with </html>.
            raise errors.MalformedPage("truncated post page (no </html>)" + (f": {url}" if url else ""))
        info = page.info()
        author = _text(_first(info, rules.XP_AUTHOR)) if info is not None else ""
        date_el = _first(info, rules.XP_DATE) if info is not None else None
        date_raw = _text(date_el) or None
        category, category_url = page.category(info)
        tags = page.tags()
        related = page.related()
        prev_url, next_url = page.link(rules.PREV), page.link(rules.NEXT)
        blocks = body_blocks(single)
        inline_links = _inline_links(single, base)
        template = "tpure"
    else:
        title, author, date_raw = "", "", None
        category = category_url = prev_url = next_url = None
        tags, related, inline_links = [], [], []
        title_el, title_text = _title_element(tree)
        blocks, meta = fallback_body(tree, title_el, title_text)
        title = _page_title(tree, title_text, meta["title"], blocks)
        # The title is a field of its own: trafilatura keeps the article's <h1> as its first line.
        while blocks and title and blocks[0].text == title:
            blocks = blocks[1:]
        date_raw = meta["date"]
        template = "fallback"
        if not blocks:
            raise errors.NotAnArticle("no article text found" + (f": {url}" if url else ""))

    raw_text = clean.blocks_to_text(blocks)
    if _japanese(raw_text):
        # Kanji are not traditional Chinese, and the ad-law swaps are Chinese usage: leave them.
        options = dataclasses.replace(options, convert="none", swaps=False)
    body_text, applied, masked = normalize.normalize_text(raw_text, options)
    lines = body_text.split("\n") if body_text else []
    published = dates.resolve_published(
        date_raw, server_date=server_date, fetched_at=fetched_at,
        feed_published=feed_published, archive_month=archive_month,
    )
    site = urlsplit(url).hostname if url else None
    record = items.empty_article(
        url=url,
        site=site,
        post_id=post_id_from_url(url) or post_id_from_url(canonical),
        title=normalize.normalize_field(title, options),
        text=body_text,
        published=published.value,
        published_precision=published.precision,
        published_raw=published.raw,
        category=normalize.normalize_field(category, options),
        category_url=category_url,
        tags=[normalize.normalize_field(t, options) for t in tags],
        # Related titles stay as the page shows them: they are link anchors (crawler.items.link_rows).
        related=related,
        prev_url=prev_url,
        next_url=next_url,
        author=author or None,
        source=_source(lines),
        reporter=_reporter(lines),
        char_count=len("".join(body_text.split())),  # non-space characters (split() knows isspace)
        paragraph_count=len(lines),
        normalizations=applied,
        masked_chars=masked,
        template=template,
        content_hash=items.content_hash(body_text),
        fetched_at=fetched_at,
        extractor_version=items.EXTRACTOR_VERSION,
        encoding=codec,
        decode_errors=decode_errors,
        # Inline anchors are article text: normalised like it (related titles are not, see above).
        inline_links=[dict(link, anchor=normalize.normalize_field(link["anchor"], options)) for link in inline_links],
    )
    return _with_facts(record, single, tree, options)


def _with_facts(record: dict, single, tree, options: ExtractOptions) -> dict:
    """record with tables, doc_type, topic, and the ``parcels``/``listings``/``fact_warnings`` keys.

    The tpure body is the pruned ``.single`` (its tables survive pruning). An off-template page
    has no such element: its tables are those of the page whose cells are article text (a layout
    table around the whole page holds navigation, not the body, and is left out).
    """
    from crawler import facts, sites

    tables = None
    if single is None:
        tables = [t for t in _page_tables(tree, options) if _in_text(t, record["text"])]
    found, doc_type, parcels, listings, warnings = facts.derive(record, single, options=options, tables=tables)
    record.update(tables=found, doc_type=doc_type, topic=sites.topic_of(record["site"], record["category"]),
                  parcels=parcels, listings=listings, fact_warnings=warnings)
    return record


def _page_tables(tree, options: ExtractOptions) -> list[dict]:
    from crawler.tables import extract_tables

    try:
        return extract_tables(tree.getroot() if hasattr(tree, "getroot") else tree, options)
    except Exception:  # noqa: BLE001 - broken markup costs the tables, never the article
        return []


def _in_text(table: dict, text: str) -> bool:
    """Most filled cells of table appear in the article text (a data table the body kept)."""
    cells = [c for row in [table.get("header") or []] + (table.get("rows") or []) for c in row if c]
    if len(cells) < 2:
        return False
    return sum(1 for c in set(cells) if c in text) >= 0.8 * len(set(cells))


# ------------------------------------------------------------------------------------------
# Saved files (what `parkcorpus extract` reads)
# ------------------------------------------------------------------------------------------

_RE_HTML_TAG = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|div|p|meta|title)\b", re.I)
#: Bytes that never occur in an HTML text file (NUL, most C0 controls).
_RE_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def page_files(paths) -> list:
    """The HTML files named by paths (a folder stands for the *.htm/*.html files under it)."""
    from pathlib import Path

    files = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".html", ".htm") and f.is_file())
            if not found:
                raise errors.InputError(f"no .html files in folder: {p}")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            # A path that does not exist is bad usage (exit 2), as click's own path checks say.
            raise errors.UsageError(f"no such file: {p}")
    return files


def read_page(path, limit: int = MAX_PAGE_BYTES) -> bytes:
    """The bytes of a saved page; InputError when it is not a regular file, larger than limit,
    empty, binary or not HTML."""
    import os
    import stat

    from crawler.safefile import kind_of

    try:
        # O_NONBLOCK: a FIFO must be refused by fstat, not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except IsADirectoryError:
        raise errors.InputError(f"is a folder, not a file: {path}") from None
    except OSError as exc:
        raise errors.InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise errors.InputError(f"is a folder, not a file: {path}")
        if not stat.S_ISREG(st.st_mode):
            raise errors.InputError(f"{path} is {kind_of(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise errors.InputError(f"{path} is larger than {limit // (1024 * 1024)} MB (the crawl's limit for "
                                    "one page); not read")
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise errors.InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:  # grew while we read it
        raise errors.InputError(f"{path} is larger than {limit // (1024 * 1024)} MB (the crawl's limit for one page); "
                                "not read")
    if not raw.strip():
        raise errors.InputError(f"empty file: {path}")
    head = raw[:65536]
    if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _RE_BINARY.search(head):
            raise errors.InputError(f"binary file, not HTML: {path}")
        if not _RE_HTML_TAG.search(head):
            raise errors.InputError(f"not an HTML file: {path}")
    return raw


def jsonable(record: dict) -> dict:
    """A record with datetimes as ISO 8601 strings (for JSON output)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items()}


def extract_files(
    paths,
    *,
    url: str | None = None,
    fetched_at: datetime | None = None,
    server_date: datetime | None = None,
    options: ExtractOptions | None = None,
    charset: str | None = None,
) -> list[dict]:
    """Extract saved pages; one result per file: {"file", "record"} or {"file", "error"}.

    charset stands for the HTTP ``Content-Type`` charset the pages were served with (a saved
    file has lost it): it wins over ``<meta>``, but a BOM and the UTF-8 check still apply.

    With a single file every problem raises (InputError, NotAnArticle ...). With several, a
    file that cannot be read (binary, special, too large) or is not an article is reported in
    its result so the others are still extracted. Without ``fetched_at``, the file's modification
    time stands for the fetch time (relative dates count from it).
    """
    if charset and decode.charset_label(charset) is None:
        raise errors.UsageError(f"unknown charset: {charset}")
    from crawler.record import Page, page_to_record  # record builds on this module

    files = page_files(paths)
    if url and len(files) > 1:
        raise errors.UsageError("--url names one page: give a single file with it")
    results = []
    # the server's clock travels as the Date header, as it does from the spider and the archive
    headers = [("Date", format_datetime(clock.to_utc(server_date), usegmt=True))] if server_date else []
    if charset:  # what the server's Content-Type header would have said
        headers.append(("Content-Type", f"text/html; charset={charset}"))
    for f in files:
        when = fetched_at or datetime.fromtimestamp(f.stat().st_mtime, timezone.utc)
        try:
            page = Page.of(url, read_page(f), None, headers, when)  # a saved file has no HTTP status
            rec = page_to_record(page, options=options)
        except errors.InputError as exc:  # one unreadable file in a batch: reported, the rest goes on
            if len(files) == 1:
                raise
            results.append({"file": str(f), "error": f"{type(exc).__name__}: {exc}"})
            continue
        except errors.NotAnArticle as exc:
            if len(files) == 1:
                raise errors.NotAnArticle(f"{f}: {exc}") from None
            results.append({"file": str(f), "error": f"{type(exc).__name__}: {exc}"})
            continue
        results.append({"file": str(f), "record": jsonable(rec)})
    return results
