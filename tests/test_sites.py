"""Site registry and URL patterns (crawler.sites)."""

from __future__ import annotations

import pytest

from crawler import sites
from crawler.errors import UnknownSiteError


def test_registry_has_the_sample_sites():
    reg = sites.load_registry()
    assert {"jinshan.021cf.cn", "laian.021cf.cn"} <= set(reg)
    assert reg["jinshan.021cf.cn"].name == "jinshan"
    assert all(s.registered for s in reg.values())


def test_resolve_default_names_urls_and_all():
    got, warnings = sites.resolve_sites(None)
    assert [s.host for s in got] == [sites.DEFAULT_SITE] and warnings == []
    got, _ = sites.resolve_sites(["laian", "http://jinshan.021cf.cn/index.php/post/1.html", "LAIAN.021cf.cn"])
    assert [s.host for s in got] == ["laian.021cf.cn", "jinshan.021cf.cn"]
    everything, _ = sites.resolve_sites(None, all_sites=True)
    assert {s.host for s in everything} == set(sites.load_registry())


def test_unregistered_host_warns_bad_name_raises():
    got, warnings = sites.resolve_sites(["pinghu.021cf.cn"])
    assert got[0].host == "pinghu.021cf.cn" and not got[0].registered
    assert warnings == ["pinghu.021cf.cn is not in the site registry; crawling it with default settings "
                        "(it must run Z-BlogPHP with the tpure theme)"]
    for bad in ("no such", "-bad-.cn", "localhost", "x_y.com"):
        with pytest.raises(UnknownSiteError, match="unknown site"):
            sites.resolve_sites([bad])


@pytest.mark.parametrize("url,kind", [
    ("http://jinshan.021cf.cn/index.php/post/3756.html", "post"),
    ("http://jinshan.021cf.cn/index.php?id=3756", "post"),
    ("http://jinshan.021cf.cn/", "home"),
    ("http://jinshan.021cf.cn/index.php/page_3.html", "home"),
    ("http://jinshan.021cf.cn/index.php/category-1.html", "category"),
    ("http://jinshan.021cf.cn/index.php/category-1_6.html", "category"),
    ("http://jinshan.021cf.cn/index.php/date-2026-11.html", "date"),
    ("http://jinshan.021cf.cn/feed.php", "feed"),
    ("http://jinshan.021cf.cn/index.php/tags-3.html", "trap"),
    ("http://jinshan.021cf.cn/index.php/author-1.html", "trap"),
    ("http://jinshan.021cf.cn/zb_system/login.php", "trap"),
    ("http://jinshan.021cf.cn/zb_system/cmd.php?act=search&q=x", "trap"),
    ("http://jinshan.021cf.cn/index.php/2.html", "other"),
])
def test_classify(url, kind):
    assert sites.classify(url) == kind


def test_both_post_url_forms_are_one_post():
    assert sites.post_id_of("http://h.cn/index.php?id=42") == sites.post_id_of("http://h.cn/index.php/post/42.html") == 42
    assert sites.post_url("h.cn", 42) == "http://h.cn/index.php/post/42.html"
    assert sites.archive_month("http://h.cn/index.php/date-2025-3_2.html") == (2025, 3)


@pytest.mark.parametrize("pid", [1, 42, 3756, 999_999])
def test_post_url_grammar_round_trips(pid):
    # the one grammar: the canonical URL, the dynamic ?id= form and the rewrite without index.php/
    url = sites.post_url("jinshan.021cf.cn", pid)
    assert sites.post_id_of(url) == pid and sites.classify(url) == "post"
    assert sites.post_id_of(f"http://jinshan.021cf.cn/index.php?id={pid}") == pid
    assert sites.post_id_of(f"http://jinshan.021cf.cn/post/{pid}.html") == pid
    assert sites.POST_LINK_RE.findall(f'<a href="{url}">x</a>') == [str(pid)]


def test_every_user_of_post_urls_reads_the_one_grammar():
    from crawler import cluster, extract, items
    from crawler.replica.model import Network
    from crawler.replica.server import ROUTES

    url = "http://jinshan.021cf.cn/index.php/post/3756.html"
    assert extract.post_id_from_url(url) == items._post_id(url) == sites.post_id_of(url) == 3756
    assert extract.post_id_from_url("http://jinshan.021cf.cn/index.php?id=3756") == 3756
    assert cluster.POST_LINK_RE is sites.POST_LINK_RE
    assert dict(ROUTES)["post"] is sites.POST_PATH_RE
    net = Network(seed=1, sites=1, posts=3)
    site = net.site(net.hosts[0])
    assert all(sites.post_id_of(site.post_url(p)) == p for p in site.post_ids())
    for bad in ("http://h.cn/index.php/category-1.html", "http://h.cn/index.php?id=x", "http://h.cn/post/1.htm"):
        assert sites.post_id_of(bad) is None and extract.post_id_from_url(bad) is None


@pytest.mark.parametrize("url, key", [
    ("http://jinshan.021cf.cn/index.php/post/3756.html", ("jinshan.021cf.cn", 3756)),
    ("http://LAIAN.021cf.cn/index.php?id=1414", ("laian.021cf.cn", 1414)),
    ("http://jinshan.021cf.cn/index.php/category-1.html", None),
    ("http://jinshan.021cf.cn/index.php?id=abc", None),
])
def test_post_key_is_host_and_post_id_in_one_parse(url, key):
    from crawler.sites import post_id_of, post_key

    assert post_key(url) == key
    assert (post_key(url) or (None, None))[1] == post_id_of(url)
