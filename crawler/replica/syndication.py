"""Syndicated copies across subsites: the same story reposted with other boilerplate, with gold groups.

The network reposts a story from one subsite (or the press release behind it) on others: the
copy keeps the story's paragraphs but carries its own subsite's page furniture (teasers, contact
block, category and tags), its own attribution line, often a sentence added by the reposting
editor, now and then a paragraph dropped, and a rewritten headline. Copies are chosen from the
hash of (seed, host, post_id) like everything else in the replica, so nothing is stored:

    Syndication(rate=0.12).attach(net)        # 12 % of posts are copies of an earlier story
    net.site(host).gold(pid)["syndicated_from"]  # URL of the original, None for an original
    gold_groups(net) -> [{(host, pid), ...}]  # every story with its copies (2+ posts each)

A copy's source is an earlier post of another subsite that is not itself a copy and not an
image-only post (the network reposts stories, not photo captions).
"""

from __future__ import annotations

import numpy as np

from crawler.replica.model import stable_int, stable_rng

#: Sentences a reposting editor adds (a lead-in or a closing remark of their own).
ADDED = ["记者从现场了解到，项目建设各项准备工作已基本就绪。",
         "业内人士表示，这将进一步提升区域产业竞争力。",
         "据悉，相关部门将持续跟进服务，确保项目顺利推进。",
         "该消息发布后，引起了园区企业和投资机构的广泛关注。",
         "本站将持续关注后续进展。"]
#: How a repost rewrites the headline ({t}: the original title, {short}: the source county's short name).
HEADLINES = ["{t}", "{t}", "{short}：{t}", "关注｜{t}", "{t}（附详情）", "转发：{t}"]
#: How far back (in the source subsite's posts) a copied story may lie.
WINDOW = 40
#: Attribution lines the extractor files under `source` and keeps in the text (as the generator does).
_SOURCE_KEYS = ("来源：", "责任编辑：", "原标题：")


class Syndication:
    """A syndication rate; attach it to a Network to have its server and gold carry copies."""

    def __init__(self, rate: float = 0.12):
        if not 0 <= rate < 1:
            raise ValueError("rate must be in [0, 1)")
        self.rate = float(rate)

    def attach(self, net) -> "Syndication":
        """Make `net` (its pages, list titles and gold) show syndicated copies."""
        net.syndication = self
        return self

    # -- which posts are copies ----------------------------------------------------------------
    def _drawn(self, net, host: str, pid: int) -> bool:
        return len(net.hosts) > 1 and stable_int(net.seed, host, int(pid), "syndicate") % 10_000 < self.rate * 10_000

    def source_of(self, net, host: str, pid: int) -> tuple[str, int] | None:
        """(host, post_id) of the story a post copies, None for an original."""
        if not self._drawn(net, host, pid):
            return None
        from crawler.replica import content

        rng = stable_rng(net.seed, host, int(pid), "syndicate-source")
        published = net.site(host).meta(pid)["published"].timestamp()
        others = [h for h in net.hosts if h != host]
        for src_host in rng.sample(others, len(others)):
            src = net.site(src_host)
            ids, times = src._state[0], src._state[1]
            k = int(np.searchsorted(times, int(published) - 3600))  # posted at least an hour earlier
            if k == 0:
                continue
            for _ in range(8):
                i = rng.randrange(max(0, k - WINDOW), k)
                spid = int(ids[i])
                if self._drawn(net, src_host, spid):
                    continue  # copies of copies join the original's group through it: keep one level
                if content.post_facts(src, src.meta(spid))["one_image"]:
                    continue
                return src_host, spid
        return None

    # -- the copy ------------------------------------------------------------------------------
    def title(self, net, host: str, pid: int, title: str) -> str:
        """The headline a post shows (the rewritten original's for a copy)."""
        src = self.source_of(net, host, pid)
        if src is None:
            return title
        return _headline(net, host, pid, net.site(src[0]).post_title(src[1]), src[0])

    def apply(self, site, post: dict) -> dict:
        """The post as the page shows it: a copy of its source story, or itself (gold `syndicated_from`)."""
        net = site.network
        src = self.source_of(net, site.host, post["post_id"])
        post["syndicated_from"] = None
        if src is None:
            return post
        from crawler.replica import content

        orig = net.site(src[0]).post(src[1], edited=False)
        rng = stable_rng(net.seed, site.host, post["post_id"], "syndicate-copy")
        blocks = [b for b in orig["_blocks"] if not (b[0] == "p" and b[1].startswith(_SOURCE_KEYS))]
        paras = [i for i, b in enumerate(blocks) if b[0] == "p"]
        if len(paras) > 5 and rng.random() < 0.25:
            del blocks[rng.choice(paras[1:])]  # the repost drops a paragraph
        if rng.random() < 0.5:
            indent = next((b[2] for b in blocks if b[0] == "p"), "full")
            blocks.insert(rng.randrange(1, len(blocks) + 1), ("p", rng.choice(ADDED), indent))
        outlet = rng.choice(orig_region(net, src[0])["sources"])
        blocks.append(("p", f"来源：{outlet}", "none"))
        paragraphs = content.blocks_paragraphs(blocks)
        post.update({
            "title": _headline(net, site.host, post["post_id"], orig["title"], src[0]),
            "paragraphs": paragraphs,
            "text": "\n".join(paragraphs),
            "source": outlet,
            "reporter": orig["reporter"],
            "editor": None,
            "original_title": None,
            "opener": orig["opener"],
            "syndicated_from": orig["url"],
            "_blocks": tuple(blocks),
        })
        for key in ("kind", "doc_type", "parcels", "listings", "traditional", "swaps", "masks",
                    "inline_links", "one_image", "long"):
            value = orig[key]
            post[key] = list(value) if isinstance(value, list) else value
        return post


def orig_region(net, host: str) -> dict:
    """The vocabulary region of a subsite."""
    return net.site(host).region


def _headline(net, host: str, pid: int, title: str, src_host: str) -> str:
    rng = stable_rng(net.seed, host, int(pid), "syndicate-title")
    short = orig_region(net, src_host)["short"]
    tpl = rng.choice(HEADLINES)
    if "{short}" in tpl and title.startswith(short):
        tpl = "{t}"
    return tpl.format(t=title, short=short)


def gold_groups(net) -> list[set[tuple[str, int]]]:
    """Every story that has copies among the visible posts: the original and its copies."""
    syn = getattr(net, "syndication", None)
    if syn is None:
        return []
    groups: dict[tuple[str, int], set] = {}
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            src = syn.source_of(net, host, pid)
            if src is not None and net.site(src[0]).has_post(src[1]):
                groups.setdefault(src, {src}).add((host, pid))
    return list(groups.values())


def gold_pairs(net) -> set[frozenset]:
    """All unordered pairs of posts that carry the same story (for pairwise precision/recall)."""
    out = set()
    for g in gold_groups(net):
        members = sorted(g)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                out.add(frozenset((a, b)))
    return out


__all__ = ["Syndication", "gold_groups", "gold_pairs"]
