"""A labelled syndication set for crawler.dedup: replica stories, their copies, their template siblings.

Stories are the offline replica's clean texts (every kind: factory listings, land results, land
notices, planning notices, project, policy and statistics news). A copy is the same story as the
network reposts it: other boilerplate before and after, a sentence added, the headline changed,
sometimes a paragraph dropped or the text in Traditional script. A template sibling is a second
post from the same template with other facts (area, price, parcel, dates): never the same story.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from crawler.replica import Network

UTC = dt.timezone.utc
HOSTS = ["jinshan.021cf.cn", "laian.021cf.cn", "songjiang.021cf.cn", "jiashan.021cf.cn",
         "fengxian.021cf.cn", "kunshan.021cf.cn"]

HEADS = ["来源：{src}", "（来源：{src}）", "本文转自{src}，版权归原作者所有。", "编辑：{name}　审核：{name2}",
         "【{src}讯】", "原标题：{title}"]
TAILS = ["（本文转载自{src}，如有侵权请联系删除）", "责任编辑：{name}", "更多园区招商信息，请关注本站。",
         "声明：本站转载此文目的在于传递更多信息，并不代表本站赞同其观点。", "编辑：{name}"]
ADDED = ["记者从现场了解到，项目建设各项准备工作已基本就绪。", "业内人士表示，这将进一步提升区域产业竞争力。",
         "据悉，相关部门将持续跟进服务，确保项目顺利推进。", "该消息一经发布，便引起了业内广泛关注。"]
SOURCES = ["上观新闻", "滁州日报", "金山区融媒体中心", "嘉兴日报", "中国产业园区招商网", "新华日报"]
NAMES = ["王婕", "李海涛", "张立新", "陈凌云", "赵佳琪", "周子涵"]


def _fill(tpl: str, rng: random.Random, title: str) -> str:
    return tpl.format(src=rng.choice(SOURCES), name=rng.choice(NAMES), name2=rng.choice(NAMES), title=title)


def copy_of(text: str, title: str, rng: random.Random, *, traditional: bool = False) -> tuple[str, str]:
    """(title, text) of a syndicated copy: boilerplate, maybe an added sentence, a new headline."""
    paras = text.split("\n")
    if len(paras) > 5 and rng.random() < 0.3:
        del paras[rng.randrange(1, len(paras))]  # the repost drops a paragraph
    if rng.random() < 0.6:
        paras.insert(rng.randrange(0, len(paras) + 1), rng.choice(ADDED))
    paras = [_fill(rng.choice(HEADS), rng, title)] + paras + [_fill(rng.choice(TAILS), rng, title)]
    new_title = title if rng.random() < 0.4 else rng.choice(["【转载】", "关注｜", ""]) + title[:max(6, len(title) - 4)] + rng.choice(["", "！", "（附详情）"])
    out = "\n".join(paras)
    if traditional:
        from crawler.replica.content import opencc

        out = opencc("s2t").convert(out)
    return new_title, out


def _bump(m: re.Match, rng: random.Random) -> str:
    s = m.group(0)
    if "." in s:
        whole, frac = s.split(".")
        return f"{int(whole) + rng.randrange(1, 50)}.{frac}"
    n = int(s)
    if 1990 <= n <= 2035:  # a year: template siblings are often of the same year
        return s
    return str(n + rng.randrange(1, max(3, n // 3 + 2)))


def sibling_of(text: str, rng: random.Random) -> str:
    """Same template, other facts: every number except years changed (two parcels, two factories)."""
    return re.sub(r"\d+(?:\.\d+)?", lambda m: _bump(m, rng), text)


def labelled_set(n_stories: int = 300, seed: int = 4, copies=(0, 3), siblings: int = 40):
    """(rows, gold pairs as frozensets of (site, post_id)).

    Rows carry site, post_id, url, title, text, published, content_hash like article rows.
    """
    rng = random.Random(seed)
    net = Network(seed=seed, sites=6, posts=n_stories // 6 + 1,
                  now=dt.datetime(2026, 11, 30, tzinfo=UTC))
    stories = []
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            stories.append(site.gold(pid))
    stories = stories[:n_stories]
    rows, gold = [], set()
    next_id = {h: 50_000 for h in HOSTS}

    def row(host, title, text, published):
        next_id[host] += 1
        pid = next_id[host]
        return {"site": host, "post_id": pid, "url": f"http://{host}/index.php/post/{pid}.html",
                "title": title, "text": text, "published": published, "content_hash": f"{host}-{pid}"}

    for g in stories:
        orig = row(g["site"], g["title"], g["text"], g["published"])
        rows.append(orig)
        group = [orig]
        for _ in range(rng.randrange(copies[0], copies[1] + 1)):
            t, x = copy_of(g["text"], g["title"], rng, traditional=rng.random() < 0.1)
            c = row(rng.choice(HOSTS), t, x, g["published"] + dt.timedelta(hours=rng.randrange(1, 200)))
            rows.append(c)
            group.append(c)
        keys = [(r["site"], r["post_id"]) for r in group]
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                gold.add(frozenset((a, b)))
    numeric = [g for g in stories if g.get("kind") in ("factory", "land_result", "land_notice", "planning")]
    for g in rng.sample(numeric, min(siblings, len(numeric))):
        rows.append(row(g["site"], g["title"], sibling_of(g["text"], rng), g["published"] + dt.timedelta(days=3)))
    rng.shuffle(rows)
    return rows, gold
