"""The offline replica of the 中国产业园区招商网 network (Z-BlogPHP 1.7.5 + tpure 5.0.2).

`Network` generates the sites and their posts deterministically from a seed; the render
functions produce the pages a real subsite serves; `SiteModel.gold()` is the exact clean record
of each post. The HTTP proxy server (`server.py`) routes requests to these functions.
"""

from crawler.replica.model import (
    HOSTS,
    NETWORK_NAME,
    Network,
    SiteModel,
    format_date,
    relative_date,
)
from crawler.replica.render import render_404, render_feed, render_list, render_page, render_post
from crawler.replica.faults import Faults
from crawler.replica.server import ReplicaServer

__all__ = [
    "HOSTS",
    "NETWORK_NAME",
    "Network",
    "SiteModel",
    "format_date",
    "relative_date",
    "render_404",
    "render_feed",
    "render_list",
    "render_page",
    "render_post",
]
