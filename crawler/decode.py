"""Page bytes -> text, by the book: BOM, HTTP charset, ``<meta>``, then detection among CJK codecs.

w3lib (what Scrapy uses) reads the BOM, the ``Content-Type`` charset and the ``<meta>``
declaration and maps labels to Python codecs the way browsers do (gbk/gb2312 -> gb18030,
shift_jis -> cp932). Two things it does not do are needed on Chinese servers:

* mislabelled pages: a page labelled GBK (or any legacy CJK charset) whose bytes are valid
  UTF-8 is UTF-8 (real GBK/Big5/Shift_JIS text practically never forms valid UTF-8), and a page
  labelled UTF-8 whose bytes are not UTF-8 is some legacy codec;
* detection that does not let GB18030 win by default: GB18030 decodes almost any byte string,
  so Shift_JIS, EUC-JP and Big5 pages without a usable label would come out as mojibake. The
  codecs that decode the bytes strictly are scored by how much of the text is made of the
  common characters of their language (charset-normalizer decides when none of them fits).
"""

from __future__ import annotations

import codecs
import functools

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

__all__ = ["decode_html", "charset_label"]

#: Legacy CJK codecs tried when no declaration decodes the page, in tie-break order.
#: EUC-KR is left out: GB2312 text decodes as valid EUC-KR hangul, so it would need its own
#: evidence; a Korean page gets it from its label or from charset-normalizer.
DETECT_CODECS = ("gb18030", "big5hkscs", "cp932", "euc_jp")

#: Language of each detection codec (which common-character table scores it).
_LANG = {"gb18030": "zh", "big5hkscs": "zh", "big5": "zh", "cp950": "zh",
         "cp932": "ja", "shift_jis": "ja", "euc_jp": "ja"}

#: The 500 most frequent characters of modern Chinese (simplified; the traditional forms are
#: added at first use). Text decoded with the right codec is mostly made of them; mojibake is not.
_ZH_COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
    "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还"
    "因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结"
    "解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级"
    "少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领"
    "七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每"
    "目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影"
    "算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准"
    "精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听"
    "该铁价严企园项目投招镇街县区市省"
)

#: Frequent kanji of Japanese news text; with the kana they score the Japanese codecs.
_JA_KANJI = (
    "日一国会人年大十二本中長出三同時政事自行社見月分議後前民生連五発間対上部東者党地合市業内相方四定今回新場金員九入"
    "選立開手米力学問高代明実円関決子動京全目表戦経通外最言氏現理調体化田当八六約主題下首意法不来作性的要用制治度務強"
    "気小七成期公持野協取都和統以機平総加山思家話世受区領多県続進正安設保改数記院女初北午指権心界支第産結百派点教報済"
    "書府活原先共得解名交資予川向際査勝面委告軍文反元重近千考判認画海参売利組知案道信策集在件団別物側任引使求所次水半"
    "品昨論計死官増係感特情投示変打男基私各始島直両朝革価式確村提運終挙果西勢減台広容必応演電歳住争談能無再位置企真流"
    "格有疑口過局少放税検藤町常校料沢裁状工建語球営空職証土与急止送援供可役構木割聞身費付施切由説転食比難防補車優夫研"
    "収断井何南石足違消境神番規術護展態導鮮備宅害配副算視条幹独警宮究育席輸訪楽起万着乗店述残想線率病農州武声質念待試"
    "族象銀域助労例衛然早張映限親額監環験追審商葉義伝働形景落欧担好退準賞訴辺造英被株頭技低毎医復仕去姿味負閣渡失移差"
    "衆個門写評課末守若脳極種美岡影命含福蔵量望松非撃佐核観察整段横融型白深字答夜製票況音申様財港識注呼渉達良響阪帰針"
    "専推折器駅県"
)

#: Share of scored characters above which a detection is taken without asking charset-normalizer.
_CONFIDENT = 0.25


@functools.lru_cache(maxsize=1)
def _common_sets() -> dict[str, frozenset]:
    """Common-character tables per language (traditional Chinese forms added through OpenCC)."""
    zh = set(_ZH_COMMON)
    try:
        import opencc

        zh |= set(opencc.OpenCC("s2t").convert(_ZH_COMMON))
        zh |= set(opencc.OpenCC("s2tw").convert(_ZH_COMMON))
    except Exception:  # OpenCC missing: simplified forms still score most traditional text
        pass
    return {"zh": frozenset(zh), "ja": frozenset(_JA_KANJI)}


def _is_kana(ch: str) -> bool:
    """Hiragana or katakana (full-width; the prolonged sound mark included)."""
    return "\u3041" <= ch <= "\u30ff"


def _score(text: str, lang: str) -> float:
    """Share of the letters (non-ASCII, non-punctuation) of text that are common in lang."""
    common = _common_sets()[lang]
    letters = hits = 0
    for ch in text:
        if ch < "\u0080" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or "\u2000" <= ch <= "\u206f":
            continue  # ASCII markup, CJK and full-width punctuation: the same in every codec
        letters += 1
        if ch in common or (lang == "ja" and _is_kana(ch)):
            hits += 1
    return hits / letters if letters else 0.0


def charset_label(value: str | None) -> str | None:
    """Python codec for a charset name or a ``Content-Type`` header value; None when unknown."""
    if not value:
        return None
    value = value.strip()
    if "/" in value or "=" in value or ";" in value:
        return http_content_type_encoding(value)
    return resolve_encoding(value)


def _strict(raw: bytes, codec: str) -> str | None:
    """raw decoded strictly with codec, None when it does not decode."""
    try:
        return raw.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_multibyte_legacy(codec: str) -> bool:
    """A legacy (non-Unicode) codec: a label that valid UTF-8 bytes overrule."""
    return not codecs.lookup(codec).name.startswith(("utf-", "utf_"))


def _detect(raw: bytes) -> tuple[str, str] | None:
    """(text, codec) of the best CJK codec that decodes raw strictly; None when none fits."""
    scored = []
    for i, codec in enumerate(DETECT_CODECS):
        text = _strict(raw, codec)
        if text is not None:
            scored.append((_score(text, _LANG[codec]), -i, codec, text))
    if not scored:
        return None
    best = max(scored)
    if best[0] >= _CONFIDENT or len(scored) == 1:
        return best[3], best[2]
    return None


def _normalizer(raw: bytes) -> str | None:
    """charset-normalizer's guess (for pages that are neither UTF-8 nor common CJK text)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency of requests, always present
        return None
    match = from_bytes(raw).best()
    return resolve_encoding(match.encoding) if match is not None else None


def decode_html(raw: bytes, http_charset: str | None = None,
                declared_override: str | None = None) -> tuple[str, str, int]:
    """Decode page bytes; returns (text, codec, decode_errors = number of U+FFFD inserted).

    http_charset is the charset of the HTTP ``Content-Type`` header (or the whole header value);
    declared_override forces a codec (nothing is sniffed; undecodable bytes become U+FFFD).
    Order otherwise: BOM, HTTP charset, ``<meta>`` charset, each checked by strict decoding
    (valid UTF-8 overrules a legacy label), then detection among UTF-8 and the CJK codecs.
    """
    if declared_override:
        codec = charset_label(declared_override)
        if codec is None:
            raise LookupError(f"unknown charset: {declared_override}")
        return _with_errors(raw, codec)
    bom = read_bom(raw)
    if bom[0]:
        return _with_errors(raw[len(bom[1]):], resolve_encoding(bom[0]) or bom[0])
    labels = []
    for codec in (charset_label(http_charset), html_body_declared_encoding(raw[:4096])):
        if codec and codec not in labels:
            labels.append(codec)
    utf8 = _strict(raw, "utf-8")
    non_ascii = utf8 is not None and not raw.isascii()
    for codec in labels:
        if non_ascii and _is_multibyte_legacy(codec):
            return utf8, "utf-8", 0  # a legacy label on UTF-8 bytes: the label is wrong
        text = utf8 if codec == "utf-8" else _strict(raw, codec)
        if text is not None:
            return text, codec, 0
    if utf8 is not None:
        return utf8, "utf-8", 0
    found = _detect(raw)
    if found is not None:
        return found[0], found[1], 0
    guess = _normalizer(raw)
    if guess:
        text = _strict(raw, guess)
        if text is not None:
            return text, guess, 0
    # Nothing decodes cleanly (corrupt bytes): the codec whose text reads best, few replacements.
    best = None
    for i, codec in enumerate(labels + [c for c in DETECT_CODECS if c not in labels] + ["utf-8"]):
        text, name, bad = _with_errors(raw, codec)
        rank = _score(text, _LANG.get(codec, "zh")) - 10 * bad / max(1, len(text) - text.count(" ")), -i
        if best is None or rank > best[0]:
            best = rank, (text, name, bad)
    return best[1]


def _with_errors(raw: bytes, codec: str) -> tuple[str, str, int]:
    """raw decoded with replacement characters, counted."""
    text = raw.decode(codec, errors="replace")
    return text, codec, text.count("\ufffd")
