"""Shared fixtures: the replica on a free loopback port, a CLI runner, small-crawl settings.

Teammates may append fixtures here with small edits.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

#: Politeness off for tests against the loopback replica (the real defaults are in crawler/settings.py).
FAST = {
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_DELAY_JITTER": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "PARKCORPUS_RETRY_BACKOFF": 0,
    "PARKCORPUS_PROGRESS_INTERVAL": 0.1,
}

#: The same as -s NAME=VALUE options for the CLI.
FAST_ARGS = [x for k, v in FAST.items() for x in ("-s", f"{k}={v}")]


def _replica_classes():
    try:
        from crawler.replica import Faults, Network, ReplicaServer
    except ImportError:
        from crawler.replica.faults import Faults
        from crawler.replica.model import Network
        from crawler.replica.server import ReplicaServer
    return Faults, Network, ReplicaServer


@pytest.fixture(scope="session")
def replica():
    """A read-only replica (2 sites x 40 posts, no faults) served once per session on loopback.

    Do not publish() on it; use make_replica for a network a test changes.
    """
    Faults, Network, ReplicaServer = _replica_classes()
    net = Network(seed=2026, sites=2, posts=40)
    with ReplicaServer(net, faults=Faults()) as srv:
        yield srv


@pytest.fixture
def make_replica():
    """Factory: make_replica(sites=1, posts=40, faults="5xx=7", seed=2026) -> a started server."""
    Faults, Network, ReplicaServer = _replica_classes()
    started = []

    def make(sites: int = 1, posts: int = 40, faults: str | None = None, seed: int = 2026):
        net = Network(seed=seed, sites=sites, posts=posts)
        srv = ReplicaServer(net, faults=Faults.parse(faults) if faults else Faults()).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def run_cli():
    """run_cli(*args, env=None) -> click Result of `parkcorpus ARGS` run in-process."""
    from cli import main

    def run(*args, env=None, input=None):
        runner = CliRunner()
        return runner.invoke(main, [str(a) for a in args], env=env, input=input, catch_exceptions=False)

    return run


@pytest.fixture
def no_proxy_env(monkeypatch):
    """Clear http_proxy & co. so a crawl only uses the proxy a test names."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


@pytest.fixture
def fast_settings():
    """FAST as a dict a test may extend (politeness off for the loopback replica)."""
    return dict(FAST)


@pytest.fixture
def fast_args():
    """FAST as CLI options: -s NAME=VALUE ..."""
    return list(FAST_ARGS)
