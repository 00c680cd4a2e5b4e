"""Places an article names, as GB/T 2260 administrative division codes.

`find_places(text, region_code=None) -> (codes, names)` looks the text up in a gazetteer shipped as
data (crawler/data/gazetteer.tsv.gz: provinces, prefectures and counties with their codes, and the
towns, subdistricts and development zones under each county; see docs/places.md for its source
and vintage). Codes change over time (counties become districts, districts merge), so a code is
the one in force in the gazetteer's vintage.

How a mention is read, and why:
- Full names (上海市, 金山区, 来安县, 山阳镇) are taken as written; short names (上海, 滁州, 来安)
  only with evidence, because many are everyday words or shared by several counties.
- Ambiguity (金山, 新安镇, 普陀区, 通州区) is resolved by context: a parent written right before
  (上海市金山区), the subsite's own county (`region_code`), its prefecture or province, or an area
  named unambiguously elsewhere in the same text.
- A town or park name (山阳镇, 枫泾工业区, 汊河经济开发区) maps to its county.
- Never from a substring inside a longer word: short names are rejected when an everyday word
  straddles their edge (带来|安全 around 来安) or a road/bay/brand follows (中山路, 通州湾,
  东方美谷).
- Codes are the most specific the text supports: 上海市金山区 gives 310116 only, and a province is
  dropped when a county inside it is also named.
"""

from __future__ import annotations

import functools
import gzip
import re
from dataclasses import dataclass
from importlib import resources

import ahocorasick_rs

GAZETTEER_FILE = "gazetteer.tsv.gz"
WORDS_FILE = "common_words.txt.gz"

LEVELS = ("province", "prefecture", "county", "town")

#: Generic names of units that exist in hundreds of counties (or are codes' bookkeeping rows):
#: never a place mention on their own.
GENERIC_NAMES = frozenset({
    "市直辖行政区划", "省直辖行政区划", "市辖区", "城区", "郊区", "矿区", "新区", "开发区", "高新区",
    "经济开发区", "经济技术开发区", "工业园区", "工业区", "园区", "城关镇", "城关街道", "城郊乡",
    "市区", "县城", "街道", "农场", "林场",
})

#: Short names that are everyday words or names of things other than the area, on top of the
#: jieba-derived list in common_words.txt.gz: they count only with a parent written before them,
#: a park suffix after them, or as the subsite's own county.
EXTRA_COMMON_SHORTS = frozenset({
    "中山",  # 中山路/中山公园/孙中山 in every city
    "来宾", "长安", "安康", "朝阳", "红河", "宝山", "普陀", "南山", "北海", "永安", "安宁", "江山",
    "青山", "平安", "太平", "新城", "新市", "民权", "光明", "兴业", "振兴", "红旗", "东区", "西区",
    "城中", "城东", "城西", "城北", "路南", "路北", "新兴", "定南", "通州", "鼓楼", "西湖", "龙华",
    # prefecture short names that are everyday words (the jieba list is only used for counties:
    # it also tags 嘉兴 and 合肥 as ordinary nouns)
    "大同", "白银", "开封", "日照", "大理",
    "东至",  # 东至县, and the boundary formula of every land notice: 东至XX路，南至XX路
})

#: After a short name, these make it part of a longer name that is not the area: roads, bridges,
#: bays (杭州湾, 通州湾), brands and parks named after an area (东方美谷).
_NOT_AREA_AFTER = re.compile(
    r"(?:[东西南北中]?(?:路|街(?!道)|大道|大街|巷|弄|桥|隧道)|湾|美谷|号|牌|话|菜|银行|大学|公园)"
)
#: Around a short name, words that make it a person's name (相关负责人邹平表示: 邹平 is a
#: county-level city and a common name), as in every report that quotes an official.
_PERSON_AFTER = re.compile(r"(?:表示|介绍|指出|认为|强调|透露|坦言|说|称|先生|女士|同志|书记|主任|局长|经理)")
_PERSON_BEFORE = re.compile(
    r"(?:负责人|书记|主任|局长|处长|科长|县长|区长|市长|镇长|经理|董事长|总裁|主席|记者|通讯员|编辑|审核|作者|"
    r"联系人|教授|专家|院士|代表)$"
)
#: After a full name ending in 市/区: 市场 (market) and 区域 (area) are other words.
_NOT_FULL_AFTER = {"市": "场", "区": "域"}

#: Suffixes that turn a town or county stem into a park/zone name (枫泾工业区, 来安经济开发区,
#: 汊河经济开发区, 亭林工业区, 山阳工业园区, 枫泾古镇): strong evidence for the stem.
_PARK_SUFFIX = re.compile(
    r"(?:高新技术产业开发区|经济技术开发区|经济开发区|高新区|经开区|开发区|工业园区|工业园|工业区|"
    r"产业园区|产业园|科技园|园区|古镇|新城|片区|镇区|港区)"
)
#: Town suffixes whose stem may carry a park suffix instead (枫泾镇 -> 枫泾工业区).
_TOWN_SUFFIX = re.compile(r"(?:街道|民族乡|镇|乡)$")


@dataclass(frozen=True)
class Unit:
    """One gazetteer row: code, level, full name, short name."""

    code: str
    level: str
    name: str
    short: str


@dataclass
class _Match:
    start: int
    end: int
    text: str
    kind: str  # full | town | park | short
    units: tuple  # candidate Units (towns: the county they lie in)
    fallback: tuple = ()  # candidates to use when no context applies (a county's own name)


class Gazetteer:
    """The name index of one gazetteer file (built once per process by `gazetteer()`)."""

    def __init__(self, rows, common_words=frozenset(), meta=None):
        self.meta = dict(meta or {})
        self.units: dict[str, Unit] = {}
        self.full: dict[str, list[Unit]] = {}
        self.short: dict[str, list[Unit]] = {}
        self.town: dict[str, list[Unit]] = {}
        self.stem: dict[str, list[Unit]] = {}
        towns = []
        for code, level, name, short in rows:
            if level == "town":
                towns.append((code, name))
                continue
            if "直辖" in name:  # bookkeeping rows (市直辖行政区划) reuse their parent's code
                continue
            u = Unit(code, level, name, short)
            self.units[code] = u
            if name in GENERIC_NAMES:
                continue
            self.full.setdefault(name, []).append(u)
            if short and len(short) >= 2 and short != name and not _generic(short):
                self.short.setdefault(short, []).append(u)
        for code, name in towns:
            county = self.units.get(code)
            if county is None or _generic(name) or len(name) < 3 or name in self.full:
                continue
            self.town.setdefault(name, []).append(county)
            stem = _TOWN_SUFFIX.sub("", name)
            if stem != name and len(stem) >= 2:
                self.stem.setdefault(stem, []).append(county)
        self.common = frozenset(common_words)
        #: short names that are everyday words: counties per the word list, plus the curated ones
        self.common_shorts = frozenset(
            s for s, us in self.short.items() if s in self.common and all(u.level == "county" for u in us)
        ) | EXTRA_COMMON_SHORTS
        names = set(self.full) | set(self.short) | set(self.town) | set(self.stem)  # local stems ⊂ stem
        self.names = frozenset(names)

    @functools.cached_property
    def _automaton(self):
        """Every name of two characters or more in one Aho-Corasick automaton (ahocorasick_rs),
        built on first use (~0.1 s, ~6 MB for 66k names); None for a gazetteer without names."""
        # Only names a rule in _candidates can take: a town stem that is an everyday word (工业, 建设,
        # 招商: a third of all occurrences in a notice) and nothing else is never a mention, not even a
        # local one, and one-character names never were (the scan started at two).
        names = [n for n in self.names if len(n) >= 2 and (
            n in self.full or n in self.town or n in self.short or n not in self.common)]
        return ahocorasick_rs.AhoCorasick(names) if names else None

    @functools.cached_property
    def _profiles(self) -> dict[str, tuple]:
        """Name -> _profile(name), filled as names occur (per process: a worker's own pages)."""
        return {}

    @functools.cached_property
    def _local_index(self) -> dict[str, dict[str, list[Unit]]]:
        """County code -> {town stem: [that county]} for the stems that are not everyday words,
        in one pass over all stems, so that a region's local stems are a lookup."""
        index: dict[str, dict[str, list[Unit]]] = {}
        for stem, units in self.stem.items():
            if stem in self.common:
                continue
            for u in units:  # a county with 新安镇 and 新安乡 lists itself twice, as the towns do
                index.setdefault(u.code, {}).setdefault(stem, []).append(u)
        return index

    def prepare(self) -> Gazetteer:
        """Build the indexes made on first use now (the fork server does, so workers share them)."""
        _ = self._automaton, self._local_index
        return self

    # -- lookups ------------------------------------------------------------------------------
    def unit(self, code: str) -> Unit | None:
        """The province, prefecture or county with this code, else None."""
        return self.units.get(str(code))

    def full_name(self, code: str) -> str | None:
        """The full name with its parents, e.g. 341122 -> 安徽省滁州市来安县 (None if unknown)."""
        code = str(code)
        if code not in self.units:
            return None
        parts = []
        for anc in (code[:2] + "0000", code[:4] + "00", code):
            u = self.units.get(anc)
            if u and u.name not in parts and "直辖" not in u.name:
                parts.append(u.name)
        return "".join(parts)

    # -- matching -----------------------------------------------------------------------------
    def local_stems(self, region: str | None) -> dict[str, list[Unit]]:
        """Town stems of the subsite's own county (车墩 of 车墩镇 on the songjiang subsite):
        local news names its towns without 镇, and far from home the stem is too often a word."""
        if not region:
            return {}
        return self._local_index.get(region, {})

    def _occurrences(self, text: str) -> list[tuple[int, int]]:
        """(start, length) of every name occurring in the text, overlapping ones included: by
        position, the longest name first at each (the order the rules were written for)."""
        auto = self._automaton
        if auto is None:
            return []
        # every occurrence, overlapping ones too, as (name index, start, end) in code points; sorted
        # as (start, -length) tuples (no key function: a Python call per occurrence)
        found = sorted([(start, start - end) for _, start, end in auto.find_matches_as_indexes(text, overlapping=True)])
        return [(start, -neg) for start, neg in found]

    def _profile(self, s: str) -> tuple:
        """What the rules of _candidates need to know about a name, looked up once per process:
        (full-name units, the word after it that makes it no name, town units, park stem?, own
        short-name units, park units, short name?)."""
        try:
            return self._profiles[s]
        except KeyError:
            pass
        full = tuple(self.full[s]) if s in self.full else None
        own = tuple(self.short.get(s, ()))
        p = (full, _NOT_FULL_AFTER.get(s[-1]) if full is not None else None,
             tuple(self.town[s]) if s in self.town else None,
             s in self.short or (s in self.stem and s not in self.common),
             own, own + tuple(self.stem.get(s, ())), s in self.short)
        self._profiles[s] = p
        return p

    def _candidates(self, text: str, region: str | None = None) -> list[_Match]:
        out: list[_Match] = []
        local = self.local_stems(region)
        # one lookup per occurrence in a memo instead of five or six in the big name indexes: in
        # a worker those are cold in the CPU cache between pages
        profile = self._profile
        for i, L in self._occurrences(text):
            end = i + L
            s = text[i:end]
            full, tail, town, park_stem, own, park_units, short = profile(s)
            if full is not None and not (tail and text.startswith(tail, end)):
                out.append(_Match(i, end, s, "full", full))
            if town is not None:
                out.append(_Match(i, end, s, "town", town))
            park = park_stem and _PARK_SUFFIX.match(text, end)
            if park:
                # 来安经济开发区 (county) or 枫泾工业区 (town); a county's own name wins
                # when no context says otherwise (昆山开发区, although there are 昆山镇s)
                out.append(_Match(i, park.end(), text[i:park.end()], "park", park_units, own))
            elif (short or s in local) and not _NOT_AREA_AFTER.match(text, end) \
                    and not self._straddles(text, i, end) and not self._person(text, i, end):
                units = own + tuple(local.get(s, ()))
                out.append(_Match(i, end, s, "short", units))
        return out

    def _straddles(self, text: str, start: int, end: int) -> bool:
        """An everyday word across the edge of a short name (带来|安全 around 来安)."""
        before = text[start - 1:start + 1] if start > 0 else ""
        after = text[end - 1:end + 1] if end < len(text) else ""
        return before in self.common or after in self.common

    @staticmethod
    def _person(text: str, start: int, end: int) -> bool:
        """A short name used as a person's name: 负责人邹平表示, 记者金山."""
        return bool(_PERSON_AFTER.match(text, end) or _PERSON_BEFORE.search(text[max(0, start - 4):start]))

    @staticmethod
    def _select(matches: list[_Match]) -> list[_Match]:
        """Non-overlapping matches: longest first, then full names over short ones, then leftmost."""
        rank = {"full": 0, "town": 0, "park": 0, "short": 1}
        level = {"province": 0, "prefecture": 1, "county": 2}
        matches.sort(key=lambda m: (-(m.end - m.start), rank[m.kind],
                                    min(level.get(u.level, 3) for u in m.units), m.start))
        taken: list[_Match] = []
        used = bytearray(max((m.end for m in matches), default=0))
        for m in matches:
            if any(used[m.start:m.end]):
                continue
            used[m.start:m.end] = b"\x01" * (m.end - m.start)
            taken.append(m)
        taken.sort(key=lambda m: m.start)
        return taken

    def find(self, text: str, region_code: str | None = None) -> tuple[list[str], list[str]]:
        """(codes, names as written) of the areas the text names; see the module docstring."""
        if not text:
            return [], []
        region = str(region_code) if region_code else None
        matches = self._select(self._candidates(text, region))
        # Areas named without ambiguity anchor the others (滁州 ... 全椒 -> 全椒县 of 滁州).
        anchors = {m.units[0].code for m in matches
                   if len(m.units) == 1 and m.kind in ("full", "park")}
        resolved: list[tuple[str, str, int, int]] = []  # code, name, start, end
        for m in matches:
            prev = resolved[-1] if resolved else None
            chained = None
            if prev and prev[3] == m.start:
                # written right after an area: a part of it (上海市|金山区|枫泾镇), else a name
                # of something in that area (来安|花红产业园), not another place
                chained = [u for u in m.units if u.code == prev[0] or _is_ancestor(prev[0], u.code)]
                if not chained:
                    continue
            if chained:
                unit = _pick(chained)
                if unit is None:
                    continue
                resolved[-1] = (unit.code, prev[1] + m.text, prev[2], m.end)
                continue
            unit = self._resolve(m, region, anchors)
            if unit is not None:
                resolved.append((unit.code, m.text, m.start, m.end))
        codes: list[str] = []
        names: list[str] = []
        for code, name, _, _ in resolved:
            if code not in codes:
                codes.append(code)
                names.append(name)
        keep = [i for i, c in enumerate(codes) if not any(_is_ancestor(c, o) for o in codes)]
        return [codes[i] for i in keep], [names[i] for i in keep]

    def _resolve(self, m: _Match, region: str | None, anchors: set[str]) -> Unit | None:
        """The one unit a mention stands for, or None when the evidence does not single it out."""
        units = list({u.code: u for u in m.units}.values())
        weak = m.kind == "short"
        if weak and m.text in self.common_shorts:
            # an everyday word: only the subsite's own county by its short name (金山 on jinshan)
            own = [u for u in units if u.code == region]
            return own[0] if own else None
        # the scopes from the narrowest: the subsite's county, its prefecture, an area named
        # unambiguously in the text, the subsite's province (written out rather than as a list
        # of lambdas: this runs for every mention)
        hit = None
        if region:
            hit = [u for u in units if u.code == region]
            if not hit and region[2:4] != "00":
                hit = [u for u in units if u.code[:4] == region[:4]]
        if not hit and anchors:
            inside = tuple(_prefix(a) for a in anchors)
            hit = [u for u in units if u.code.startswith(inside)]
        if not hit and region and not weak:  # a bare short name a province away is no better than none
            hit = [u for u in units if u.code[:2] == region[:2]]
        if hit:
            return _pick(hit)
        unit = _pick(list(m.fallback) or units)
        if unit is None:
            return None
        if weak and unit.level == "county" and not unit.name.endswith("市"):
            return None  # a bare county short name far from the subsite: too often a word
        return unit


def _generic(name: str) -> bool:
    """A unit name that says only what kind of unit it is (开发区, 高新技术产业开发区, 示范区)."""
    return name in GENERIC_NAMES or bool(_PARK_SUFFIX.fullmatch(name)) or name.endswith(
        ("示范区", "航空港", "产业园", "工业园", "合作区")) and len(name) <= 5


def _prefix(code: str) -> str:
    """The code prefix shared by everything inside an area (31 for 310000, 3411 for 341100)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _is_ancestor(a: str, b: str) -> bool:
    """True when area a contains area b (a province or prefecture code and a code inside it)."""
    return a != b and b.startswith(_prefix(a)) and _prefix(a) != a


def _pick(units: list[Unit]) -> Unit | None:
    """One unit out of candidates: the only one, or the broadest when they nest (吉安市 over
    吉安县, 吉林省 over 吉林市); None when they are unrelated namesakes."""
    if len(units) == 1:
        return units[0]
    top = min(units, key=lambda u: LEVELS.index(u.level))
    if all(u is top or _is_ancestor(top.code, u.code) for u in units):
        return top
    return None


def _read_lines(name: str) -> list[str]:
    raw = resources.files("crawler").joinpath("data", name).read_bytes()
    return gzip.decompress(raw).decode("utf-8").splitlines()


@functools.lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The packaged gazetteer, loaded once per process (~0.3 s)."""
    meta, rows = {}, []
    for line in _read_lines(GAZETTEER_FILE):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
            continue
        code, level, name, short = line.split("\t")
        rows.append((code, level, name, short))
    words = {w for w in _read_lines(WORDS_FILE) if w and not w.startswith("#")}
    return Gazetteer(rows, words, meta)


def find_places(text: str | None, region_code: str | None = None) -> tuple[list[str], list[str]]:
    """GB/T 2260 codes of the areas `text` names and the names as written (parallel lists).

    `region_code` is the county the text comes from (the subsite's `Site.region_code`): it
    resolves short and ambiguous names (金山区 on a Shanghai subsite is 310116).
    """
    return gazetteer().find(text or "", region_code)


def full_name(code: str) -> str | None:
    """The full name of a code with its parents (341122 -> 安徽省滁州市来安县)."""
    return gazetteer().full_name(code)


def vintage() -> str:
    """The gazetteer's vintage and source, as recorded in its header."""
    g = gazetteer()
    return f"{g.meta.get('vintage', '?')} ({g.meta.get('source', '?')})"
