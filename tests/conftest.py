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


#: AWS_* variables that could point a test's S3 client somewhere else; cleared by s3_env.
AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 server (SeaweedFS `weed`, loopback, free ports) for the session; skipped only when weed cannot run.

    .endpoint, .env() (AWS_* variables with Admin credentials), .bucket() (a fresh bucket),
    .client() (botocore), .keys(bucket, prefix).
    """
    from s3server import S3Server, find_weed, weed_unusable_reason

    weed = find_weed()
    reason = weed_unusable_reason(weed)
    if reason:
        pytest.skip(reason)
    with S3Server(tmp_path_factory.mktemp("s3server"), weed) as server:
        yield server


@pytest.fixture
def s3_env(s3_server, monkeypatch, tmp_path):
    """The process environment pointed at s3_server (AWS_* set, any other AWS profile or file hidden)."""
    for name in AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    # a developer's ~/.aws files must not leak into the tests
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server.env()


@pytest.fixture
def s3_bucket(s3_server, s3_env):
    """A fresh, empty bucket on s3_server (with s3_env set); its name."""
    return s3_server.bucket()
