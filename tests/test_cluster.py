"""crawler.cluster and `parkcorpus cluster`: shard planning, Scrapyd job handling, and a real
two-node Scrapyd run over the replica that loses a job midway and still ends equal to a
single-process crawl.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import main
from crawler import cluster
from crawler.errors import ClusterError, UsageError

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- plan


@given(
    low=st.integers(1, 5000),
    span=st.integers(0, 3000),
    shard_size=st.integers(1, 700),
    n_nodes=st.integers(1, 4),
)
@settings(max_examples=60, deadline=None)
def test_plan_ranges_cover_the_site_exactly_once(low, span, shard_size, n_nodes):
    nodes = [f"http://127.0.0.1:{6800 + i}" for i in range(n_nodes)]
    high = low + span
    shards = cluster.plan(["a.021cf.cn"], nodes, shard_size, known_sizes={"a.021cf.cn": (low, high)})
    if span + 1 <= shard_size:
        assert [(s.mode, s.ids) for s in shards] == [("full", None)]
        return
    covered = []
    for s in shards:
        assert s.mode == "ids" and s.ids[0] <= s.ids[1]
        assert s.ids[1] - s.ids[0] + 1 <= shard_size
        assert s.spider_args() == {"sites": "a.021cf.cn", "mode": "ids", "ids": f"{s.ids[0]}-{s.ids[1]}"}
        covered.extend(range(s.ids[0], s.ids[1] + 1))
    assert covered == list(range(low, high + 1))
    # spread evenly: no node gets two more shards than another
    per_node = [sum(s.node == n for s in shards) for n in nodes]
    assert max(per_node) - min(per_node) <= 1


def test_plan_mixes_whole_sites_and_split_sites():
    shards = cluster.plan(
        ["big.021cf.cn", "small.021cf.cn"], ["127.0.0.1:6800", "http://127.0.0.1:6801/"], 100,
        known_sizes={"big.021cf.cn": 250, "small.021cf.cn": (900, 960)},
    )
    assert [s.name for s in shards] == [
        "big.021cf.cn[1-100]", "big.021cf.cn[101-200]", "big.021cf.cn[201-250]", "small.021cf.cn",
    ]
    assert [s.node for s in shards] == ["http://127.0.0.1:6800", "http://127.0.0.1:6801"] * 2
    assert shards[3].spider_args() == {"sites": "small.021cf.cn", "mode": "full"}
    assert cluster.Shard.from_dict(json.loads(json.dumps(shards[1].to_dict()))) == shards[1]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sites=[], nodes=["127.0.0.1:6800"], shard_size=10), "no site"),
        (dict(sites=["a.021cf.cn"], nodes=[], shard_size=10), "no Scrapyd node"),
        (dict(sites=["a.021cf.cn"], nodes=["ftp://x"], shard_size=10), "not a Scrapyd node URL"),
        (dict(sites=["a.021cf.cn"], nodes=["127.0.0.1:6800"], shard_size=0), "at least 1"),
    ],
)
def test_plan_rejects_bad_requests(kwargs, message):
    with pytest.raises(UsageError, match=message):
        cluster.plan(known_sizes={"a.021cf.cn": 10}, **kwargs)


@pytest.mark.parametrize(
    "summary, ok",
    [
        ({"exit_code": 0, "finish_reason": "finished"}, True),
        ({"exit_code": 1, "finish_reason": "finished"}, False),
        ({"ok": True, "finish_reason": "shutdown"}, False),
        ({"status": "ok"}, True),
        ({"finish_reason": "finished"}, True),
        ({"finish_reason": "shutdown"}, False),
        ({}, False),
    ],
)
def test_summary_judgement(summary, ok):
    assert cluster.summary_ok(summary)[0] is ok


def test_failed_attempt_keeps_complete_files_and_drops_its_temp_files(tmp_path):
    part = tmp_path / "articles" / "site=a" / "year=2026" / "month=01"
    part.mkdir(parents=True)
    (tmp_path / ".tmp").mkdir()
    complete = part / "part-cX-s001-a1-00000.parquet"
    temp = tmp_path / ".tmp" / "part-cX-s001-a1-00001.parquet.1a2b.tmp"
    others = [part / "part-cX-s001-a2-00000.parquet", tmp_path / ".tmp" / "part-cX-s011-a1-00000.parquet.ff.tmp"]
    for p in [complete, temp, *others]:
        p.write_bytes(b"x")
    assert cluster.attempt_files(str(tmp_path), "cX-s001-a1") == (1, 1)
    assert complete.exists() and not temp.exists()
    assert all(p.exists() for p in others)


# --------------------------------------------------------------------------- CLI errors


def test_status_of_an_unreachable_node_is_one_error_line():
    port = free_port()
    result = CliRunner().invoke(main, ["cluster", "status", "--node", f"127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: Scrapyd node http://127.0.0.1:{port} unreachable: Connection refused"
    )


def test_run_with_no_reachable_node_fails_before_crawling(tmp_path):
    port = free_port()
    result = CliRunner().invoke(
        main,
        ["cluster", "run", "a.021cf.cn", "--newest", "a.021cf.cn=40", "--node", f"127.0.0.1:{port}",
         "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: Scrapyd node http://127.0.0.1:{port} unreachable: Connection refused"
    )
    assert not (tmp_path / "out" / "articles").exists()


def test_nodes_and_shard_size_come_from_the_config_file(tmp_path):
    port = free_port()
    cfg = tmp_path / "parkcorpus.toml"
    cfg.write_text(f'[cluster]\nnodes = ["http://127.0.0.1:{port}"]\nshard_size = 25\n', encoding="utf-8")
    runner = CliRunner()
    plan = runner.invoke(main, ["--config", str(cfg), "cluster", "plan", "a.021cf.cn", "--newest", "a.021cf.cn=60", "--json"])
    assert plan.exit_code == 0, plan.output
    shards = json.loads(plan.output)
    assert [s["ids"] for s in shards] == [[1, 25], [26, 50], [51, 60]]
    assert {s["node"] for s in shards} == {f"http://127.0.0.1:{port}"}
    status = runner.invoke(main, ["--config", str(cfg), "cluster", "status"])
    assert status.exit_code == 1
    assert status.output.splitlines()[-1].startswith(f"Error: Scrapyd node http://127.0.0.1:{port} unreachable")
    none = runner.invoke(main, ["--config", str(tmp_path / "parkcorpus.toml"), "cluster", "status", "--node", ""])
    assert none.exit_code == 2


def test_plan_cli_json_and_bad_newest():
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["cluster", "plan", "a.021cf.cn", "--node", "127.0.0.1:6800", "--shard-size", "20",
         "--newest", "a.021cf.cn=30-69", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert [s["ids"] for s in json.loads(result.output)] == [[30, 49], [50, 69]]
    bad = runner.invoke(main, ["cluster", "plan", "a.021cf.cn", "--node", "x:1", "--newest", "a.021cf.cn"])
    assert bad.exit_code == 2
    assert "--newest" in bad.output


# --------------------------------------------------------------------------- run loop, fake nodes


class FakeScrapyd:
    """A Scrapyd JSON API on loopback whose jobs run instantly: each listjobs call moves every job
    one step (pending -> running -> finished). `fail` decides, per spider-args dict, whether the
    job's log lacks Scrapy's final stats (a killed crawl)."""

    def __init__(self, fail=lambda args: False, project="parkcorpus"):
        import http.server
        from urllib.parse import parse_qs, urlsplit

        self.jobs: dict[str, dict] = {}
        self.cancelled: list[str] = []
        self.fail = fail
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, obj, ctype="application/json"):
                body = obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = urlsplit(self.path).path
                if path == "/daemonstatus.json":
                    self._send({"status": "ok", "pending": 0, "running": 0, "finished": 0, "node_name": "fake"})
                elif path == "/listprojects.json":
                    self._send({"status": "ok", "projects": [project]})
                elif path == "/listjobs.json":
                    lists = {"pending": [], "running": [], "finished": []}
                    for job in fake.jobs.values():
                        job["state"] = {"pending": "running", "running": "finished"}.get(job["state"], "finished")
                        lists[job["state"]].append({"id": job["id"], "pid": 1, "log_url": f"/logs/{job['id']}.log"})
                    self._send({"status": "ok", **lists})
                elif path.startswith("/logs/"):
                    job = fake.jobs[path[len("/logs/"):-len(".log")]]
                    self._send("Dumping Scrapy stats:\n{'finish_reason': 'finished'}" if not job["failed"]
                               else "Spider opened\n", "text/plain")
                else:
                    self.send_error(404)

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                if urlsplit(self.path).path == "/cancel.json":
                    fake.cancelled.append(form["job"][0])
                    self._send({"status": "ok", "prevstate": "running"})
                    return
                assert urlsplit(self.path).path == "/schedule.json"
                args = {k: v[0] for k, v in form.items() if k not in ("project", "spider", "jobid", "setting")}
                settings = dict(v.split("=", 1) for v in form.get("setting", []))
                job = form["jobid"][0]
                fake.jobs[job] = {"id": job, "state": "pending", "args": args, "settings": settings,
                                  "failed": fake.fail(args)}
                self._send({"status": "ok", "jobid": job})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_nodes():
    made = []

    def make(**kw):
        node = FakeScrapyd(**kw)
        made.append(node)
        return node

    yield make
    for n in made:
        n.stop()


def _shards(n_sites=3, nodes=("http://127.0.0.1:1",)):
    sizes = {f"s{i}.021cf.cn": 10 for i in range(n_sites)}
    return cluster.plan(list(sizes), list(nodes), 100, known_sizes=sizes)


def test_run_sends_every_shard_with_its_settings(fake_nodes, tmp_path):
    a, b = fake_nodes(), fake_nodes()
    shards = _shards(4, [a.url, b.url])
    summary = cluster.run(shards, str(tmp_path / "out"), [a.url, b.url], poll=0.01, validate=False,
                          proxy="http://127.0.0.1:9", settings={"DOWNLOAD_DELAY": "0"})
    assert summary["ok"] and [s["status"] for s in summary["shards"]] == ["ok"] * 4
    jobs = {**a.jobs, **b.jobs}
    assert sorted(j["args"]["sites"] for j in jobs.values()) == sorted(s.site for s in shards)
    for job in jobs.values():
        assert job["args"]["mode"] == "full"
        assert job["settings"]["PARKCORPUS_RUN_ID"] == job["id"]
        assert job["settings"]["PARKCORPUS_OUT"] == str(tmp_path / "out")
        assert job["settings"]["PARKCORPUS_PROXY"] == "http://127.0.0.1:9"
        assert job["settings"]["DOWNLOAD_DELAY"] == "0"
    assert a.jobs and b.jobs  # both nodes were used


def test_failed_shards_move_to_another_node(fake_nodes, tmp_path):
    bad = fake_nodes(fail=lambda args: True)
    good = fake_nodes()
    events = []
    summary = cluster.run(_shards(3, [bad.url]), str(tmp_path / "out"), [bad.url, good.url], poll=0.01,
                          validate=False, on_event=lambda kind, info: events.append(kind))
    for s in summary["shards"]:
        nodes = [a["node"] for a in s["attempts"]]
        states = [a["state"] for a in s["attempts"]]
        assert states[-1] == "ok" and nodes[-1] == good.url
        assert all(n == bad.url for n, st in zip(nodes, states) if st == "failed")
        assert len(set(nodes)) == len(nodes), "a shard was retried on the node that failed it"
    assert summary["retried"] >= 1 and "failed" in events


def test_a_shard_failing_everywhere_is_a_cluster_error(fake_nodes, tmp_path):
    a = fake_nodes(fail=lambda args: args["sites"] == "s1.021cf.cn")
    with pytest.raises(ClusterError, match=r"1 of 2 shards failed after 3 attempts: s1.021cf.cn \(crawl process died"):
        cluster.run(_shards(2), str(tmp_path / "out"), [a.url], poll=0.01, validate=False, retries=2)
    assert sorted(j["id"].rsplit("-", 1)[1] for j in a.jobs.values() if j["args"]["sites"] == "s1.021cf.cn") == ["a1", "a2", "a3"]


def test_unreachable_nodes_are_skipped_and_reported(fake_nodes, tmp_path):
    up = fake_nodes()
    down = f"http://127.0.0.1:{free_port()}"
    summary = cluster.run(_shards(2), str(tmp_path / "out"), [down, up.url], poll=0.01, validate=False)
    assert summary["ok"]
    assert summary["nodes"][up.url] == "up"
    assert summary["nodes"][down].startswith("down: Scrapyd node") and "Connection refused" in summary["nodes"][down]
    assert {a["node"] for s in summary["shards"] for a in s["attempts"]} == {up.url}


def test_a_node_that_dies_midway_loses_its_shards_to_the_others(fake_nodes, tmp_path):
    dying, other = fake_nodes(), fake_nodes()
    shards = _shards(2, [dying.url, other.url])
    events = []

    def on_event(kind, info):
        events.append((kind, info.get("node")))
        if kind == "scheduled" and info["node"] == dying.url:
            dying.stop()  # the node goes away right after accepting its job

    summary = cluster.run(shards, str(tmp_path / "out"), [dying.url, other.url], poll=0.01, validate=False,
                          on_event=on_event)
    assert summary["ok"]
    assert summary["nodes"][dying.url].startswith("down:")
    moved = [s for s in summary["shards"] if s["attempts"][0]["node"] == dying.url]
    assert moved and all([a["state"] for a in s["attempts"]] == ["lost", "ok"] for s in moved)
    assert ("node-down", dying.url) in events


@pytest.mark.parametrize("per_site", [1, 2])
def test_shards_of_one_site_run_at_most_per_site_at_a_time(fake_nodes, tmp_path, per_site):
    a, b = fake_nodes(), fake_nodes()
    shards = cluster.plan(["big.021cf.cn", "small.021cf.cn"], [a.url, b.url], 10,
                          known_sizes={"big.021cf.cn": 60, "small.021cf.cn": 5})
    active: dict[str, int] = {}
    peak: dict[str, int] = {}

    def on_event(kind, info):
        site = info.get("shard", "").split("[")[0]
        if kind == "scheduled":
            active[site] = active.get(site, 0) + 1
            peak[site] = max(peak.get(site, 0), active[site])
        elif kind in ("finished", "failed"):
            active[site] -= 1

    summary = cluster.run(shards, str(tmp_path / "out"), [a.url, b.url], poll=0.01, validate=False, slots=4,
                          per_site=per_site, on_event=on_event)
    assert summary["ok"] and len(summary["shards"]) == 7
    assert peak == {"big.021cf.cn": per_site, "small.021cf.cn": 1}


def test_ctrl_c_cancels_the_jobs_still_queued_or_running(fake_nodes, tmp_path):
    a = fake_nodes()

    def on_event(kind, info):
        if kind == "running":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cluster.run(_shards(3), str(tmp_path / "out"), [a.url], poll=0.01, validate=False, slots=3, on_event=on_event)
    assert a.cancelled and set(a.cancelled) <= set(a.jobs)


# --------------------------------------------------------------------------- with the replica


@pytest.fixture(scope="module")
def replica():
    from crawler.replica import Network, ReplicaServer

    net = Network(seed=7, sites=3, posts=40, now=datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc))
    with ReplicaServer(net) as srv:
        yield net, srv


def test_post_id_range_is_found_from_the_site(replica):
    net, srv = replica
    for host in net.hosts:
        ids = net.site(host).post_ids()
        assert cluster.post_id_range(host, proxy=srv.proxy_url) == (ids[0], ids[-1])


class Scrapyd:
    """One Scrapyd daemon on a free loopback port, working in its own folder."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = Path(cluster.node_config(folder, self.port, max_proc=2, poll_interval=0.2))
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self.log = open(self.folder / "scrapyd.out", "wb")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "scrapyd")], cwd=self.folder, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        node = cluster.Node(self.url, timeout=2)
        for _ in range(300):  # up to ~30 s on a loaded machine; returns as soon as the node answers
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "scrapyd.out").read_text())
            try:
                node.daemonstatus()
                return
            except ClusterError:
                time.sleep(0.1)
        raise RuntimeError("scrapyd did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _rows(out: Path):
    from crawler.store import load

    df = load(str(out), columns=["site", "post_id", "content_hash"], history=True)
    return sorted(zip(df["site"], df["post_id"].astype(int), df["content_hash"]))


@pytest.mark.cluster
def test_two_scrapyd_nodes_survive_a_killed_job_and_match_a_single_crawl(replica, tmp_path, s3_server, s3_bucket):
    # the nodes share nothing but the S3 store (a real SeaweedFS server): no shared folder
    net, srv = replica
    nodes = [Scrapyd(tmp_path / "node-a"), Scrapyd(tmp_path / "node-b")]  # they inherit the AWS_* variables
    try:
        _run_cluster_and_compare(net, srv, nodes, tmp_path, s3_server, s3_bucket)
    finally:
        for n in nodes:
            n.stop()


# Loopback crawling without politeness delays, but slow enough per shard (one request at a
# time, a short delay) that a job is still running when the test kills it, and writing a file
# every few posts so that the killed job has written some of its shard.
SHARD_SETTINGS = [
    "DOWNLOAD_DELAY=0.03", "DOWNLOAD_DELAY_JITTER=0", "AUTOTHROTTLE_ENABLED=False",
    "CONCURRENT_REQUESTS_PER_DOMAIN=1", "PARKCORPUS_RETRY_BACKOFF=0", "PARKCORPUS_ARCHIVE=False",
    "PARKCORPUS_FLUSH_ROWS=4", "PARKCORPUS_BUFFER_ROWS=4",
]

SINGLE_SETTINGS = [
    "DOWNLOAD_DELAY=0", "AUTOTHROTTLE_ENABLED=False", "CONCURRENT_REQUESTS_PER_DOMAIN=4",
    "PARKCORPUS_RETRY_BACKOFF=0", "PARKCORPUS_ARCHIVE=False",
]


def _run_cluster_and_compare(net, srv, nodes, tmp_path, s3_server, bucket):
    hosts = net.hosts
    out = f"s3://{bucket}/cluster-out"
    shard_size = 60  # each replica site spans ~100 post IDs: two shards per site, six in all
    planned = cluster.plan(hosts, [n.url for n in nodes], shard_size, proxy=srv.proxy_url)
    assert len(planned) >= 4

    cmd = [str(VENV_BIN / "parkcorpus"), "cluster", "run", *hosts, "--out", str(out),
           "--shard-size", str(shard_size), "--proxy", srv.proxy_url, "--json"]
    for n in nodes:
        cmd += ["--node", n.url]
    for s in SHARD_SETTINGS:
        cmd += ["-s", s]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True)
    reader.start()

    # SIGKILL a job of node A midway: once it has written its first Parquet file.
    victim = nodes[0]
    node = cluster.Node(victim.url)
    killed = None
    while killed is None and proc.poll() is None:
        running = [j for j in node.listjobs().get("running", []) if j.get("pid")]
        keys = s3_server.keys(bucket, "cluster-out/articles/") if running else []
        wrote = [j for j in running if any(f"/part-{j['id']}-" in k for k in keys)]
        if not wrote:
            time.sleep(0.02)
            continue
        try:
            os.kill(wrote[0]["pid"], signal.SIGKILL)
            killed = wrote[0]["id"]
        except ProcessLookupError:
            pass
    stdout, _ = proc.communicate(timeout=300)
    reader.join(5)
    assert killed, "the run ended before a job could be killed"
    assert proc.returncode == 0, "".join(stderr)[-3000:]
    summary = json.loads(stdout)

    # the killed job's shard failed on node A and was retried, successfully, on node B
    shard = next(s for s in summary["shards"] if s["attempts"][0]["job"] == killed)
    assert [a["node"] for a in shard["attempts"]] == [victim.url, nodes[1].url]
    assert [a["state"] for a in shard["attempts"]] == ["failed", "ok"]
    assert shard["attempts"][0]["files_kept"] >= 1
    assert all(s["status"] == "ok" for s in summary["shards"])
    assert len(summary["shards"]) == len(planned)
    assert summary["validation"]["ok"] is True

    # the same replica crawled by one ordinary process
    single = tmp_path / "single-out"
    cmd = [str(VENV_BIN / "parkcorpus"), "crawl", *hosts, "--out", str(single), "--proxy", srv.proxy_url]
    for s in SINGLE_SETTINGS:
        cmd += ["-s", s]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    merged, alone = _rows(out), _rows(single)
    keys = [(s, p) for s, p, _ in merged]
    assert len(keys) == len(set(keys)), "a post was written twice"
    assert merged == alone
    # the retry resumed: the killed attempt's rows are part of the union, the retry added the rest
    from crawler.store import load

    runs = set(load(str(out), columns=["run_id"], history=True)["run_id"])
    assert {a["job"] for a in shard["attempts"]} <= runs
    keys = s3_server.keys(bucket, "cluster-out/")
    assert all(k.endswith((".parquet", ".json")) or "/.parkcorpus/" in k or "/warc/" in k for k in keys), keys
    assert "cluster-out/.parkcorpus.lock" not in keys, "the cluster run released its lock"
    assert any(k.startswith("cluster-out/runs/") for k in keys), "job manifests went to the store"
    assert {(s, p) for s, p, _ in merged} == {(h, p) for h in hosts for p in net.site(h).post_ids()}


def test_plan_checks_site_names_before_any_lookup(monkeypatch):
    # an unknown name is a usage error (exit 2) raised before post_id_range touches the network
    from crawler import cluster
    from crawler.errors import UnknownSiteError

    def no_lookup(*a, **k):
        raise AssertionError("looked up a site on the network")

    monkeypatch.setattr(cluster, "post_id_range", no_lookup)
    with pytest.raises(UnknownSiteError, match="unknown site 'nosuchsite'"):
        cluster.plan(["nosuchsite"], ["http://127.0.0.1:1"], known_sizes={})


def test_plan_maps_short_names_to_hosts_once():
    from crawler import cluster

    shards = cluster.plan(["jinshan", "jinshan.021cf.cn"], ["http://127.0.0.1:1"],
                          known_sizes={"jinshan.021cf.cn": 100})
    assert [s.site for s in shards] == ["jinshan.021cf.cn"]
