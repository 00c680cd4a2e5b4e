"""Gold place mentions of replica posts: every place name the replica can write, with its GB/T 2260 code.

The replica's vocabulary is closed: its texts name places only through the region vocabulary
(crawler.replica.content.REGIONS: province, city, county, towns, parks, outlets, news cities) and a
few fixed template phrases. This table gives each of those names the code of the area it lies in,
as the generator means it (新安镇 of the laian vocabulary is 来安县's, 漕河泾开发区松江园区 is in
松江区, 东方美谷产业园 in 奉贤区), so the gold is what the text says, independent of how
crawler.places reads it. `gold_places(text)` finds the names (longest first, left to right) and
keeps the most specific codes, as crawler.places does.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crawler.replica.content import REGIONS

#: County codes of the replica regions (GB/T 2260, vintage 2023).
REGION_CODES = {
    "shanghai_jinshan": "310116", "anhui_laian": "341122", "shanghai_songjiang": "310117",
    "zhejiang_jiashan": "330421", "shanghai_fengxian": "310120", "jiangsu_kunshan": "320583",
}

#: Names outside a region's own county: provinces, prefectures, other counties and zones.
OTHER_NAMES = {
    # provinces (short and full)
    "上海": "310000", "上海市": "310000", "安徽": "340000", "安徽省": "340000", "浙江": "330000",
    "浙江省": "330000", "江苏": "320000", "江苏省": "320000",
    # prefecture-level cities the news and the outlets name
    "滁州": "341100", "滁州市": "341100", "嘉兴": "330400", "嘉兴市": "330400", "苏州": "320500",
    "苏州市": "320500", "镇江": "321100", "镇江市": "321100", "常州": "320400", "常州市": "320400",
    "南通": "320600", "南通市": "320600", "湖州": "330500", "湖州市": "330500", "扬州": "321000",
    "扬州市": "321000", "合肥": "340100", "合肥市": "340100", "马鞍山": "340500", "马鞍山市": "340500",
    "无锡": "320200", "无锡市": "320200", "宁波": "330200", "宁波市": "330200",
    # county-level cities and districts named beside the subsite's own
    "天长": "341181", "天长市": "341181", "明光": "341182", "明光市": "341182", "平湖": "330482",
    "平湖市": "330482", "海宁": "330481", "海宁市": "330481", "桐乡": "330483", "桐乡市": "330483",
    "太仓": "320585", "太仓市": "320585", "常熟": "320581", "常熟市": "320581", "全椒": "341124",
    "全椒县": "341124", "定远": "341125", "定远县": "341125", "琅琊区": "341102", "京口区": "321102",
    "润州区": "321111", "句容市": "321183", "扬中市": "321182", "丹阳": "321181", "丹阳市": "321181",
    "昆山": "320583", "昆山市": "320583",
    # zones with their own area: the laian vocabulary's parks of neighbouring counties
    "琅琊经济开发区": "341102", "定远盐化工业园": "341125", "全椒经济开发区": "341124",
    "苏滁现代产业园": "341171", "滁州高新区": "341100", "镇江高新区": "321100",
    "平湖经开区": "330482", "嘉兴港区": "330400",
}


@lru_cache(maxsize=1)
def place_table() -> dict[str, str]:
    """{name as written: GB/T 2260 code} for every place name of the replica."""
    table = dict(OTHER_NAMES)
    for key, region in REGIONS.items():
        county = REGION_CODES[key]
        for name in [region["district"], region["short"], *region["towns"], *region["parks"]]:
            table.setdefault(name, county)  # other-county parks above keep their own code
        # tourist towns and zones the templates name with a region's town stem
        for town in region["towns"]:
            stem = re.sub(r"(?:街道|镇)$", "", town)
            for suffix in ("古镇", "工业区", "工业园区"):
                table.setdefault(stem + suffix, county)
    return table


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    names = sorted(place_table(), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names)))


def _ancestor(a: str, b: str) -> bool:
    """a is a province or prefecture that contains b."""
    if a == b:
        return False
    if a.endswith("0000"):
        return b[:2] == a[:2]
    return a.endswith("00") and b[:4] == a[:4]


def gold_places(text: str) -> set[str]:
    """The most specific codes of the places a replica text names."""
    table = place_table()
    codes = {table[m.group(0)] for m in _pattern().finditer(text or "")}
    return {c for c in codes if not any(_ancestor(c, o) for o in codes)}


__all__ = ["OTHER_NAMES", "REGION_CODES", "gold_places", "place_table"]
