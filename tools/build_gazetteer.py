"""Rebuild crawler/data/gazetteer.tsv.gz from jionlp's china_location.txt.

Usage: python tools/build_gazetteer.py path/to/china_location.txt [--jieba-dict path/to/jieba/dict.txt]

Also writes crawler/data/common_words.txt.gz from jieba's dict.txt (MIT): everyday words that
(a) equal a short place name (东方, 合作, 公安, 来宾: such a short name needs stronger evidence), or
(b) are two characters that straddle the edge of a short place name (带来|安全 around 来安).

jionlp (Apache-2.0) ships the county-level code list of the Ministry of Civil Affairs with the
town-level units (乡镇/街道/开发区) of the statistical division code list under each county, in a
tab-indented tree: province / prefecture / county (name, code, short name) / town / village.
We keep provinces, prefectures, counties and towns (no villages) in one flat TSV:
    code<TAB>level<TAB>name<TAB>short
where a town row carries the code of its county. Taiwan, Hong Kong and Macao keep their
province-level row only: GB/T 2260 assigns no codes below 710000/810000/820000.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "crawler" / "data" / "gazetteer.tsv.gz"
WORDS_OUT = OUT.with_name("common_words.txt.gz")
#: jieba frequency from which a word counts as everyday vocabulary
MIN_FREQ = 200


#: County-level changes the source had not applied yet (old code -> new code, new name, short):
#: 无为县 became 无为市 (国函〔2019〕); 米林县 and 错那县 became cities (民政部 2023-04-03).
PATCHES = {
    "340225": ("340281", "无为市", "无为"),
    "540422": ("540481", "米林市", "米林"),
    "540530": ("540581", "错那市", "错那"),
}


def patched(rows_):
    """Apply PATCHES to counties and to the towns under them."""
    for code, level, name, short in rows_:
        if code in PATCHES:
            new, new_name, new_short = PATCHES[code]
            if level == "county":
                name, short = new_name, new_short
            code = new
        yield code, level, name, short


def rows(lines):
    """Yield (code, level, name, short) from the indented jionlp tree."""
    province = prefecture = county = None
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip().split("\t")
        if depth == 0 and len(parts) == 3:
            province, prefecture, county = parts[1], None, None
            yield parts[1], "province", parts[0], parts[2]
        elif depth == 1 and len(parts) == 3:
            prefecture, county = parts[1], None
            if province[:2] in ("71", "81", "82") or parts[1] == province:
                continue  # municipalities repeat their province row; no codes below 71/81/82
            yield parts[1], "prefecture", parts[0], parts[2].split("/")[0]
        elif depth == 2 and len(parts) == 3:
            county = parts[1]
            if province[:2] in ("71", "81", "82"):
                county = None
                continue
            yield parts[1], "county", parts[0], parts[2]
        elif depth == 3 and county:
            yield county, "town", parts[0], ""


def write_words(dict_path: Path, gazetteer_rows) -> None:
    """Keep the jieba words (not tagged as place names) that can bite a short place name."""
    shorts = {r[3] for r in gazetteer_rows if r[3] and len(r[3]) >= 2}
    firsts = {s[0] for s in shorts}
    lasts = {s[-1] for s in shorts}
    keep = set()
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        word, freq, pos = line.split()
        if int(freq) < MIN_FREQ or pos.startswith("ns"):
            continue
        if word in shorts or (len(word) == 2 and (word[1] in firsts or word[0] in lasts)):
            keep.add(word)
    with gzip.open(WORDS_OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write(f"# source: jieba 0.42.1 dict.txt, words with frequency >= {MIN_FREQ}, not tagged ns\n")
        f.write("\n".join(sorted(keep)) + "\n")
    print(f"{WORDS_OUT}: {len(keep)} words", file=sys.stderr)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source_file")
    ap.add_argument("--source", default="jionlp 1.5.31 dictionary/china_location.txt")
    ap.add_argument("--vintage", default="2023")
    ap.add_argument("--jieba-dict", default=None)
    args = ap.parse_args(argv)
    text = Path(args.source_file).read_text(encoding="utf-8").splitlines()
    out = sorted(set(patched(rows(text))), key=lambda r: (r[0], ["province", "prefecture", "county", "town"].index(r[1]), r[2]))
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write(f"# source: {args.source}\n# vintage: {args.vintage}\n# columns: code level name short\n")
        for r in out:
            f.write("\t".join(r) + "\n")
    print(f"{OUT}: {len(out)} rows", file=sys.stderr)
    if args.jieba_dict:
        write_words(Path(args.jieba_dict), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
