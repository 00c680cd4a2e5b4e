"""The place matcher as it was before the Aho-Corasick scan, and the texts to compare the two on.

`PythonScanGazetteer` is crawler.places.Gazetteer with the two parts that changed put back as
they were: the character-by-character name scan (a dict of two-character prefixes probed at every
position, then a set lookup per candidate length) and `local_stems` as a dict comprehension over
every stem per region. Everything after the scan (the rules, the selection, the resolution) is
inherited, so a difference between the two can only come from the scan or the local stems.
Used by tests/test_places_scan.py (identical output) and bench/places.py (before/after ms).
"""

from __future__ import annotations

import random
from pathlib import Path

from crawler import places

HERE = Path(__file__).resolve().parent

#: Regions every text is read under: none, the registered subsites' counties, a prefecture, a
#: county far from all of them, and a code the gazetteer does not have.
EXTRA_REGIONS = (None, "341100", "110105", "440305", "999999")


class PythonScanGazetteer(places.Gazetteer):
    """The gazetteer with the pre-automaton name scan and local stems (the reference)."""

    def __init__(self, base: places.Gazetteer):
        # share the base's indexes (built from the same rows); only the scan structures are own
        self.__dict__.update({k: v for k, v in base.__dict__.items() if not k.startswith("_")})
        self._old_local: dict = {}
        self.starts: dict[str, list[int]] = {}
        for n in self.names:
            self.starts.setdefault(n[:2], set()).add(len(n))
        self.starts = {k: sorted(v, reverse=True) for k, v in self.starts.items()}

    def _occurrences(self, text: str) -> list[tuple[int, int]]:
        starts, names, n = self.starts, self.names, len(text)
        return [(i, L) for i in range(n - 1) for L in starts.get(text[i:i + 2], ())
                if i + L <= n and text[i:i + L] in names]

    def local_stems(self, region):
        if not region:
            return {}
        if region not in self._old_local:
            self._old_local[region] = {
                stem: [u for u in units if u.code == region]
                for stem, units in self.stem.items()
                if stem not in self.common and any(u.code == region for u in units)
            }
        return self._old_local[region]


def replica_texts(posts: int = 70, seed: int = 2026) -> list[tuple[str, str]]:
    """(host, title + text) of every post of a six-subsite replica (posts per subsite)."""
    from crawler.replica import Network

    net = Network(seed=seed, sites=6, posts=posts)
    out = []
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            gold = site.gold(pid)
            out.append((host, gold["title"] + "\n" + gold["text"]))
    return out


def page_texts() -> list[str]:
    """The visible text of every vendored real page (facts_real, offsite, the site samples)."""
    import lxml.html

    from crawler.decode import decode_html

    out = []
    for folder in (HERE / "facts_real", HERE / "offsite", HERE / "samples", HERE / "samples" / "offtemplate"):
        for path in sorted(folder.glob("*.htm*")):
            html, _, _ = decode_html(path.read_bytes())
            doc = lxml.html.fromstring(html.encode("utf-8"))
            for bad in doc.xpath("//script|//style"):
                bad.drop_tree()
            out.append(doc.text_content())
    return out


def gold_texts() -> list[tuple[str | None, str]]:
    """(region, text) of the labelled places set (tests/cases/places_gold.tsv)."""
    out = []
    for line in (HERE / "cases" / "places_gold.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            region, _, text = line.split("\t")
            out.append((None if region == "-" else region, text))
    return out


def name_soup(g: places.Gazetteer, count: int = 300, seed: int = 7) -> list[str]:
    """Texts made of gazetteer names run together with the words the rules look at around them
    (park suffixes, roads, 市场, person words, everyday words), so that names overlap, nest and
    straddle in every way, including astral characters that shift code-point positions."""
    rng = random.Random(seed)
    names = sorted(g.names)
    shorts = sorted(g.short)
    stems = sorted(g.stem)
    glue = ["", "", "", "工业区", "经济开发区", "路", "湾", "市场", "区域", "表示", "负责人", "镇", "的",
            "，", "安全", "带来", "😀", "𠀀", "\n", "A"]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(3, 40)):
            pool = rng.choice((names, shorts, stems))
            parts.append(rng.choice(pool) + rng.choice(glue))
        out.append("".join(parts))
    return out
