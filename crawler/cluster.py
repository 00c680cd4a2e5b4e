"""Sharding a crawl over Scrapyd nodes: plan the shards, schedule and follow them, report.

This is a thin layer over Scrapyd's JSON API (``schedule.json``, ``listjobs.json``,
``cancel.json``, ``daemonstatus.json``), not a scheduler of its own: Scrapyd queues and runs the
jobs; we only decide which shard goes to which node, notice a shard that failed, and send it
again to another node. Every shard writes into the same output location with its own run id,
so file names never collide and the merged dataset is simply the union of the shards' files.

A shard is one subsite crawled in ``mode=full``, or one post-ID range of a large subsite
crawled in ``mode=ids``; the spider arguments are exactly the ones ``spiders/zblog.py`` takes.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urljoin, urlsplit

import requests

from crawler.clock import new_run_id
from crawler.errors import ClusterError, UsageError
from crawler.sites import HOME_PAGE_RE, POST_LINK_RE  # the URL grammar of the sites

#: Where a Z-BlogPHP subsite lists its newest posts: the RSS feed (small, newest first) and the
#: home page (tpure's first list page, whose pagebar also names the last list page).
NEWEST_POST_PAGES = ("/feed.php", "/")

#: The Scrapyd project name parkcorpus nodes use (a ``[settings] parkcorpus = crawler.settings``
#: line in the node's scrapy.cfg); a node that only knows one project gets that one.
DEFAULT_PROJECT = "parkcorpus"
SPIDER = "zblog"

#: Seconds an HTTP call to a node may take before the node counts as unreachable.
HTTP_TIMEOUT = 10.0
#: Consecutive failed polls after which a node is treated as down and its shards move elsewhere.
NODE_DOWN_AFTER = 3

#: Folder under the output where each shard job writes its run summary; hidden (dot) so that
#: dataset discovery and `validate` skip it. A finished job's summary moves to <out>/runs/.
SUMMARY_DIR = ".cluster"

#: The Scrapy stats line a crawl that ended normally leaves in its log (Scrapyd serves the log).
FINISHED_RE = re.compile(r"""['"]finish_reason['"]:\s*['"]finished['"]""")


@dataclass(frozen=True)
class Shard:
    """One unit of work: a subsite in full, or one post-ID range of it."""

    index: int
    site: str
    mode: str  # "full" or "ids"
    ids: tuple[int, int] | None = None
    node: str | None = None  # the node the plan suggests; run() may move it

    @property
    def name(self) -> str:
        """A short label: jinshan.021cf.cn or jinshan.021cf.cn[2001-4000]."""
        return self.site if self.ids is None else f"{self.site}[{self.ids[0]}-{self.ids[1]}]"

    def spider_args(self) -> dict[str, str]:
        """The zblog spider arguments for this shard (what schedule.json passes as -a)."""
        args = {"sites": self.site, "mode": self.mode}
        if self.ids is not None:
            args["ids"] = f"{self.ids[0]}-{self.ids[1]}"
        return args

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for --json and plan files)."""
        d = asdict(self)
        d["name"] = self.name
        d["ids"] = list(self.ids) if self.ids else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Shard":
        """Inverse of to_dict."""
        ids = d.get("ids")
        return cls(int(d["index"]), d["site"], d["mode"], tuple(ids) if ids else None, d.get("node"))


# --------------------------------------------------------------------------- nodes


def normalize_node(url: str) -> str:
    """A node URL with scheme and without trailing slash; UsageError when it is not http(s)."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise UsageError(f"not a Scrapyd node URL: {url!r} (expected e.g. http://127.0.0.1:6800)")
    return url


def _nodes(nodes: Iterable[str]) -> list[str]:
    out: list[str] = []
    for n in nodes:
        n = normalize_node(n)
        if n not in out:
            out.append(n)
    if not out:
        raise UsageError("no Scrapyd node given; pass --node URL or set cluster.nodes in parkcorpus.toml")
    return out


class Node:
    """A Scrapyd daemon seen through its JSON API."""

    def __init__(self, url: str, session: requests.Session | None = None, timeout: float = HTTP_TIMEOUT):
        self.url = normalize_node(url)
        self.session = session or requests.Session()
        # Loopback and cluster-internal nodes must not go through the crawl's http_proxy.
        self.session.trust_env = False
        self.timeout = timeout

    def _call(self, method: str, endpoint: str, **kwargs) -> dict:
        try:
            resp = self.session.request(method, f"{self.url}/{endpoint}", timeout=self.timeout, **kwargs)
            resp.raise_for_status()
            data = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise ClusterError(f"Scrapyd node {self.url} unreachable: {_short(exc)}") from None
        if data.get("status") != "ok":
            raise ClusterError(f"Scrapyd node {self.url} refused {endpoint}: {data.get('message', data)}")
        return data

    def daemonstatus(self) -> dict:
        """daemonstatus.json: pending, running, finished counts and node_name."""
        return self._call("GET", "daemonstatus.json")

    def projects(self) -> list[str]:
        """listprojects.json."""
        return self._call("GET", "listprojects.json")["projects"]

    def listjobs(self, project: str | None = None) -> dict:
        """listjobs.json: {pending: [...], running: [...], finished: [...]}."""
        params = {"project": project} if project else None
        return self._call("GET", "listjobs.json", params=params)

    def schedule(self, project: str, spider: str, jobid: str, args: Mapping[str, str], settings: Mapping[str, Any]) -> str:
        """schedule.json with our own job id; returns the job id."""
        data: list[tuple[str, str]] = [("project", project), ("spider", spider), ("jobid", jobid)]
        data += [("setting", f"{k}={v}") for k, v in settings.items()]
        data += list(args.items())
        return self._call("POST", "schedule.json", data=data)["jobid"]

    def cancel(self, project: str, job: str) -> None:
        """cancel.json (SIGINT: the crawl shuts down and its summary says so)."""
        self._call("POST", "cancel.json", data={"project": project, "job": job})

    def log(self, log_url: str | None) -> str | None:
        """The text of a job's log as the node serves it, or None."""
        if not log_url:
            return None
        try:
            resp = self.session.get(urljoin(self.url + "/", log_url.lstrip("/")), timeout=self.timeout)
        except requests.RequestException:
            return None
        return resp.text if resp.ok else None

    def project_for(self, project: str | None) -> str:
        """The Scrapyd project to use on this node (explicit, else parkcorpus, else the only one)."""
        names = self.projects()
        if project:
            if project not in names:
                raise ClusterError(f"Scrapyd node {self.url} has no project {project!r} (it has: {', '.join(names) or 'none'})")
            return project
        if DEFAULT_PROJECT in names:
            return DEFAULT_PROJECT
        if len(names) == 1:
            return names[0]
        raise ClusterError(
            f"Scrapyd node {self.url} has projects {names or 'none'}; start it in a folder whose scrapy.cfg "
            f"has '[settings] {DEFAULT_PROJECT} = crawler.settings' or pass --project"
        )


def _short(exc: BaseException) -> str:
    """One line for a requests error (they nest the whole urllib3 story otherwise)."""
    text = str(exc)
    for reason in ("Connection refused", "timed out", "Name or service not known", "Temporary failure in name resolution",
                   "Connection reset", "Remote end closed connection", "Max retries exceeded"):
        if reason in text:
            return reason
    return text.splitlines()[0][:200] if text else type(exc).__name__


def node_config(folder: str | os.PathLike, port: int, max_proc: int = 2, poll_interval: float = 0.5) -> str:
    """Write scrapyd.conf and scrapy.cfg for a node working in folder; returns the folder.

    Run ``scrapyd`` with that folder as working directory. The node uses the pip-installed
    parkcorpus through ``[settings]`` (no egg deploy), leaves ``items_dir`` empty so parkcorpus's
    own pipelines write, and keeps its eggs, logs and queues inside the folder.
    """
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "scrapyd.conf"), "w", encoding="utf-8") as f:
        f.write(
            "[scrapyd]\n"
            "bind_address = 127.0.0.1\n"
            f"http_port = {int(port)}\n"
            f"max_proc = {int(max_proc)}\n"
            f"poll_interval = {float(poll_interval)}\n"
            f"eggs_dir = {os.path.join(folder, 'eggs')}\n"
            f"logs_dir = {os.path.join(folder, 'logs')}\n"
            f"dbs_dir = {os.path.join(folder, 'dbs')}\n"
            "items_dir =\n"
            "jobs_to_keep = 100\n"
            "finished_to_keep = 1000\n"
        )
    with open(os.path.join(folder, "scrapy.cfg"), "w", encoding="utf-8") as f:
        # Scrapyd lists one project per [settings] line; schedule.json fails without one.
        f.write(f"[settings]\n{DEFAULT_PROJECT} = crawler.settings\n")
    return folder


# --------------------------------------------------------------------------- plan


def probe(session: requests.Session, url: str, host: str, timeout: float = HTTP_TIMEOUT,
          proxies: Mapping[str, str] | None = None) -> str:
    """The text of one page of `host`, under the crawl's own rules: redirects followed only on that
    host (at most REDIRECT_MAX_TIMES), DOWNLOAD_MAXSIZE bytes after decompression, `timeout` per
    read and 3x that in all; ClusterError naming the URL otherwise."""
    from crawler import settings as crawl_settings  # the crawl's limits, so a probe is never laxer than a crawl

    deadline = time.monotonic() + 3 * timeout
    for _hop in range(crawl_settings.REDIRECT_MAX_TIMES + 1):
        target = (urlsplit(url).hostname or "").lower()
        if target != host.lower():  # the crawl's off-site guard: never a byte to another host
            raise ClusterError(f"{url}: off-site redirect to {target or url}, not followed")
        try:
            resp = session.get(url, timeout=timeout, proxies=proxies, allow_redirects=False, stream=True,
                               headers={"User-Agent": crawl_settings.USER_AGENT})
        except requests.RequestException as exc:
            raise ClusterError(f"{url}: {_short(exc)}") from None
        with resp:
            if resp.is_redirect:
                url = urljoin(url, resp.headers.get("Location", ""))
                continue
            if not resp.ok:
                raise ClusterError(f"{url}: HTTP {resp.status_code}")
            body = bytearray()
            try:
                for chunk in resp.iter_content(64 * 1024):  # decompressed: a gzip bomb stops here too
                    body += chunk
                    if len(body) > crawl_settings.DOWNLOAD_MAXSIZE:
                        raise ClusterError(f"{url}: larger than {crawl_settings.DOWNLOAD_MAXSIZE // (1024 * 1024)} MB, "
                                           "not read further")
                    if time.monotonic() > deadline:
                        raise ClusterError(f"{url}: took longer than {3 * timeout:g} s, not read further")
            except requests.RequestException as exc:
                raise ClusterError(f"{url}: {_short(exc)}") from None
            return bytes(body).decode(resp.encoding or "utf-8", errors="replace")
    raise ClusterError(f"{url}: more than {crawl_settings.REDIRECT_MAX_TIMES} redirects")


def post_id_range(site: str, proxy: str | None = None, timeout: float = HTTP_TIMEOUT) -> tuple[int, int]:
    """(oldest, newest) post ID of a subsite, from its feed, home page and last list page.

    The feed and home page list the newest posts; tpure's last home list page lists the oldest
    (every other link on a page points to a post in between). ClusterError when none is found.
    """
    session = requests.Session()
    proxies = {"http": proxy, "https": proxy} if proxy else None
    errors: list[str] = []

    def get(url: str) -> str | None:
        try:
            return probe(session, url, site, timeout=timeout, proxies=proxies)
        except ClusterError as exc:
            errors.append(str(exc))
            return None

    ids: list[int] = []
    for path in NEWEST_POST_PAGES:
        text = get(f"http://{site}{path}")
        ids += [int(m) for m in POST_LINK_RE.findall(text or "")]
        if path == "/" and text:
            pages = [int(m.group(1)) for m in map(HOME_PAGE_RE.search, re.findall(r"""href=["']https?://[^/"']+(/[^"']*)""", text)) if m]
            if pages:
                last = get(f"http://{site}/index.php/page_{max(pages)}.html")
                ids += [int(m) for m in POST_LINK_RE.findall(last or "")]
    if not ids:
        raise ClusterError(f"cannot find the posts of {site}: " + ("; ".join(errors) or "no post links"))
    return min(ids), max(ids)


def plan(
    sites: Iterable[str],
    nodes: Iterable[str],
    shard_size: int = 2000,
    known_sizes: Mapping[str, int | tuple[int, int]] | None = None,
    proxy: str | None = None,
) -> list[Shard]:
    """Split sites into shards: one per subsite, or post-ID ranges of shard_size for large ones.

    known_sizes maps a site to its newest post ID (or an (oldest, newest) pair); sites missing from
    it are asked (see post_id_range; through proxy when given). Shards go round-robin over nodes.
    """
    sites = list(dict.fromkeys(s.strip() for s in sites if s.strip()))
    if not sites:
        raise UsageError("no site to plan; name at least one subsite")
    if shard_size < 1:
        raise UsageError(f"--shard-size must be at least 1, got {shard_size}")
    # names are checked against the registry before anything is looked up on the network
    from crawler.sites import resolve_sites

    hosts = {name: resolve_sites([name])[0][0].host for name in sites}
    node_list = _nodes(nodes)
    known_sizes = dict(known_sizes or {})
    shards: list[Shard] = []
    for name in dict((hosts[n], n) for n in sites).values():  # one entry per host
        site = hosts[name]
        size = known_sizes.get(site, known_sizes.get(name))
        if size is None:
            size = post_id_range(site, proxy=proxy)
        low, high = (1, int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
        if high < low:
            raise UsageError(f"bad post-ID range for {site}: {low}-{high}")
        if high - low + 1 <= shard_size:
            ranges: list[tuple[int, int] | None] = [None]
        else:
            ranges = [(a, min(a + shard_size - 1, high)) for a in range(low, high + 1, shard_size)]
        for r in ranges:
            i = len(shards)
            shards.append(Shard(i, site, "full" if r is None else "ids", r, node_list[i % len(node_list)]))
    return shards


# --------------------------------------------------------------------------- run


@dataclass
class Attempt:
    """One scheduling of a shard on a node."""

    node: str
    job: str
    state: str = "pending"  # pending, running, ok, failed, lost
    reason: str = ""
    started: float = field(default_factory=time.time)
    ended: float | None = None
    files_kept: int = 0  # complete files a failed attempt wrote (kept; the retry resumes)


@dataclass
class _Track:
    shard: Shard
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def current(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def status(self) -> str:
        cur = self.current
        return "waiting" if cur is None else cur.state


def _run_prefix() -> str:
    """A run id prefix unique per cluster run, sortable by time (the one run-id format, marked c)."""
    return "c" + new_run_id()


def job_outcome(node: Node, finished: Mapping[str, Any], summary_file: str | None) -> tuple[bool, str]:
    """Whether a finished Scrapyd job crawled its shard completely, and why not.

    Scrapyd's listjobs does not report exit codes, so we read what the crawl left behind: the
    run summary the job wrote (PARKCORPUS_SUMMARY_FILE) when there is one, else the Scrapy stats
    in the job's log (a crawl that was cancelled or killed never logs finish_reason 'finished').
    """
    summary = read_summary(summary_file) if summary_file else None
    if summary is not None:
        return summary_ok(summary)
    text = node.log(finished.get("log_url"))
    if text is None:
        return False, "no run summary and no log"
    if FINISHED_RE.search(text):
        return True, ""
    m = re.search(r"""['"]finish_reason['"]:\s*['"]([^'"]+)['"]""", text)
    return False, f"finish_reason {m.group(1)}" if m else "crawl process died (no summary, no final stats in its log)"


def read_summary(path: str) -> dict | None:
    """The JSON run summary a crawl wrote at path, or None when it is absent or unreadable."""
    try:
        if _on_store(path):
            from crawler.store import as_path  # noqa: PLC0415 - pyarrow is heavy

            data = json.loads(as_path(path).read_text(encoding="utf-8"))
        else:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _on_store(path: str) -> bool:
    """True for an s3:// path: the dataset (and the jobs' summaries) live on an object store."""
    return str(path)[:5].lower() == "s3://"


def summary_ok(summary: Mapping[str, Any]) -> tuple[bool, str]:
    """Judge a crawl's run summary: success, or the reason it is not."""
    reason = summary.get("finish_reason")
    if "exit_code" in summary:
        ok = summary["exit_code"] == 0
    elif "ok" in summary:
        ok = bool(summary["ok"])
    elif "status" in summary:
        ok = str(summary["status"]).lower() in ("ok", "success", "finished", "complete")
    else:
        ok = reason == "finished"
    if ok and reason not in (None, "finished"):
        ok = False  # a crawl that was shut down early cannot have finished its shard
    if ok:
        return True, ""
    why = summary.get("error") or summary.get("status") or reason or "failed"
    return False, f"run summary says {why}"


def _keep_manifest(out: str, summary_file: str | None) -> None:
    """Move a finished job's summary to <out>/runs/<run_id>.json, as a local crawl leaves it."""
    summary = read_summary(summary_file) if summary_file else None
    if summary is None or not summary.get("run_id"):
        return
    from crawler.store import write_run_manifest  # noqa: PLC0415 - pyarrow is heavy

    write_run_manifest(out, summary)
    if _on_store(summary_file):
        from crawler.store import as_path  # noqa: PLC0415

        as_path(summary_file).unlink(missing_ok=True)
    else:
        os.remove(summary_file)


def attempt_files(out: str, run_id: str) -> tuple[int, int]:
    """(complete Parquet files, temporary files) a job attempt left in out; temp files removed.

    Complete files stay: they are part of the dataset, and the retry skips the posts they hold
    (the spider reads the stored posts at start), so a retried shard resumes where it stopped.
    Temporary files under .tmp/ of a dead job can never complete and are deleted.
    """
    kept = removed = 0
    if _on_store(out):  # an object store has no temporary files: every object is complete
        from crawler.store import as_path  # noqa: PLC0415 - pyarrow is heavy

        loc = as_path(out).loc
        return sum(1 for rel in loc.list_files("articles", ".parquet") if run_id in rel.rsplit("/", 1)[-1]), 0
    import fsspec  # noqa: PLC0415 - only needed when an attempt failed

    fs, root = fsspec.core.url_to_fs(out)
    paths: list[str] = []
    for sub in ("articles", ".tmp"):
        try:
            paths += fs.find(f"{root.rstrip('/')}/{sub}")
        except FileNotFoundError:
            pass
    for path in paths:
        rel = path[len(root):].lstrip("/")
        name = rel.rsplit("/", 1)[-1]
        if run_id not in name:
            continue
        if rel.startswith(".tmp/"):
            try:
                fs.rm(path)
                removed += 1
            except FileNotFoundError:
                pass
        elif name.endswith(".parquet"):
            kept += 1
    return kept, removed


def run(shards: list[Shard], out: str, nodes: Iterable[str], *, use_lock: bool = True, **kw: Any) -> dict:
    """Run the shards (see _run) holding the dataset's lock, so no local crawl writes meanwhile.

    The Scrapyd jobs write files named after their own run ids and take no lock; use_lock=False
    (`--no-lock`) runs without the coordinator's lock too, e.g. two cluster runs on disjoint sites.
    """
    if not use_lock or not shards:
        return _run(shards, out, nodes, **kw)
    from crawler.lock import dataset_lock  # noqa: PLC0415
    from crawler.store import ensure_dataset  # noqa: PLC0415 - pyarrow is heavy
    from crawler.store.layout import location  # noqa: PLC0415

    out_abs = out if "://" in out else os.path.abspath(out)
    ensure_dataset(out_abs, create=True)  # before the lock: a foreign prefix gets nothing written
    with dataset_lock(location(out_abs), run_id=kw.get("run_prefix") or "cluster"):
        return _run(shards, out, nodes, **kw)


def _run(
    shards: list[Shard],
    out: str,
    nodes: Iterable[str],
    *,
    project: str | None = None,
    settings: Mapping[str, Any] | None = None,
    proxy: str | None = None,
    retries: int = 2,
    slots: int = 2,
    per_site: int = 1,
    poll: float = 1.0,
    run_prefix: str | None = None,
    on_event: Callable[[str, dict], None] | None = None,
    validate: bool = True,
) -> dict:
    """Schedule shards over Scrapyd nodes, follow them, retry failures elsewhere, then validate out.

    At most `slots` jobs run per node and `per_site` jobs per subsite (politeness: every job
    keeps its own per-host delay). Returns a summary dict (run, shards with their attempts,
    nodes, validation). Raises ClusterError when no node is reachable or a shard failed on
    every attempt.
    """
    if not shards:
        raise UsageError("nothing to run: the plan has no shards")
    prefix = run_prefix or _run_prefix()
    emit = on_event or (lambda kind, info: None)
    out_abs = out if "://" in out else os.path.abspath(out)
    if "://" not in out or _on_store(out):
        from crawler.store import ensure_dataset  # noqa: PLC0415 - pyarrow is heavy

        # make the dataset (marker included) before any job does, so concurrent jobs find it ready;
        # on an object store this also fails fast on a missing bucket, bad credentials or endpoint
        ensure_dataset(out_abs, create=True)

    alive: dict[str, Node] = {}
    projects: dict[str, str] = {}
    done_nodes: dict[str, str] = {}  # node url -> why it was dropped
    for url in _nodes(nodes):
        node = Node(url)
        try:
            node.daemonstatus()
            projects[node.url] = node.project_for(project)
        except ClusterError as exc:
            done_nodes[node.url] = str(exc)
            emit("node-down", {"node": node.url, "error": str(exc)})
            continue
        alive[node.url] = node
    if not alive:
        raise ClusterError("; ".join(done_nodes.values()))

    job_settings = dict(settings or {})
    if proxy:
        job_settings["PARKCORPUS_PROXY"] = proxy
    # The stats dump at INFO is how job_outcome tells a finished crawl from a killed one.
    job_settings.setdefault("LOG_LEVEL", "INFO")
    job_settings["PARKCORPUS_OUT"] = out_abs
    job_settings["PARKCORPUS_DERIVED"] = False  # shards share the dataset: rebuilt once at the end
    # Each job's run summary goes next to the data (a shared folder every node sees); the
    # leading underscore keeps it out of Parquet dataset discovery.
    summary_dir = f"{out_abs}/{SUMMARY_DIR}" if _on_store(out) else None if "://" in out \
        else os.path.join(out_abs, SUMMARY_DIR)
    if summary_dir and not _on_store(out):
        os.makedirs(summary_dir, exist_ok=True)

    tracks = [_Track(s) for s in shards]
    misses: dict[str, int] = {u: 0 for u in alive}

    def load(url: str) -> int:
        return sum(1 for t in tracks if t.current and t.current.node == url and t.status in ("pending", "running"))

    def dispatch(track: _Track) -> bool:
        # Each job keeps its own per-host delay, so two shards of one subsite running at once
        # would hit that host twice as often: at most per_site of them run at a time.
        site_jobs = sum(1 for t in tracks if t.shard.site == track.shard.site and t.status in ("pending", "running"))
        if site_jobs >= per_site:
            return False
        tried = {a.node for a in track.attempts}
        # A retry goes to a node that has not failed this shard yet (waiting for a free slot
        # there), and back to a tried node only when no other node is up.
        fresh = [u for u in alive if u not in tried]
        candidates = sorted(fresh or alive, key=lambda u: (load(u), u != track.shard.node))
        for url in candidates:
            if load(url) >= slots:
                continue
            n = len(track.attempts) + 1
            job = f"{prefix}-s{track.shard.index:03d}-a{n}"
            s = dict(job_settings, PARKCORPUS_RUN_ID=job)
            if summary_dir:
                s["PARKCORPUS_SUMMARY_FILE"] = os.path.join(summary_dir, f"{job}.json")
            try:
                alive[url].schedule(projects[url], SPIDER, job, track.shard.spider_args(), s)
            except ClusterError as exc:
                emit("schedule-failed", {"node": url, "shard": track.shard.name, "error": str(exc)})
                _drop(url, str(exc))
                continue
            track.attempts.append(Attempt(url, job))
            emit("scheduled", {"node": url, "shard": track.shard.name, "job": job, "attempt": n})
            return True
        return False

    def _drop(url: str, why: str) -> None:
        alive.pop(url, None)
        done_nodes[url] = why
        emit("node-down", {"node": url, "error": why})
        for t in tracks:
            cur = t.current
            if cur and cur.node == url and cur.state in ("pending", "running"):
                cur.state, cur.reason, cur.ended = "lost", f"node down: {why}", time.time()
                _after_failure(t)

    def _after_failure(track: _Track) -> None:
        cur = track.current
        if summary_dir:
            # an interrupted job's summary is still history (what it wrote, why it stopped)
            _keep_manifest(out_abs, os.path.join(summary_dir, f"{cur.job}.json"))
        cur.files_kept, removed = attempt_files(out_abs, cur.job)
        emit("failed", {"node": cur.node, "shard": track.shard.name, "job": cur.job,
                        "reason": cur.reason, "files_kept": cur.files_kept, "temp_removed": removed})

    try:
        while True:
            # hand out waiting shards and retries
            for t in tracks:
                if t.status == "waiting" or (t.status in ("failed", "lost") and len(t.attempts) <= retries):
                    if not alive:
                        break
                    dispatch(t)
            active = [t for t in tracks if t.status in ("pending", "running")]
            retryable = [t for t in tracks if t.status in ("waiting",) or (t.status in ("failed", "lost") and len(t.attempts) <= retries)]
            if not active and not retryable:
                break
            if not alive:
                raise ClusterError("every Scrapyd node went down: " + "; ".join(f"{u}: {w}" for u, w in done_nodes.items()))
            time.sleep(poll)
            for url in list(alive):
                node = alive[url]
                try:
                    jobs = node.listjobs(projects[url])
                except ClusterError as exc:
                    misses[url] += 1
                    if misses[url] >= NODE_DOWN_AFTER:
                        _drop(url, str(exc))
                    continue
                misses[url] = 0
                state = {j["id"]: ("pending", j) for j in jobs.get("pending", [])}
                state.update({j["id"]: ("running", j) for j in jobs.get("running", [])})
                state.update({j["id"]: ("finished", j) for j in jobs.get("finished", [])})
                for t in tracks:
                    cur = t.current
                    if not cur or cur.node != url or cur.state not in ("pending", "running"):
                        continue
                    seen = state.get(cur.job)
                    if seen is None:
                        # Scrapyd keeps jobs in memory: a restarted node forgets them.
                        cur.state, cur.reason, cur.ended = "lost", "job vanished from the node", time.time()
                        _after_failure(t)
                    elif seen[0] == "running" and cur.state == "pending":
                        cur.state = "running"
                        emit("running", {"node": url, "shard": t.shard.name, "job": cur.job, "pid": seen[1].get("pid")})
                    elif seen[0] == "finished":
                        summary_file = os.path.join(summary_dir, f"{cur.job}.json") if summary_dir else None
                        ok, why = job_outcome(node, seen[1], summary_file)
                        cur.ended = time.time()
                        if ok:
                            cur.state = "ok"
                            _keep_manifest(out_abs, summary_file)
                            emit("finished", {"node": url, "shard": t.shard.name, "job": cur.job})
                        else:
                            cur.state, cur.reason = "failed", why
                            _after_failure(t)

    except KeyboardInterrupt:
        # Ctrl-C stops the whole run, not just this coordinator: cancel what is queued or running
        for t in tracks:
            cur = t.current
            if cur and cur.state in ("pending", "running") and cur.node in alive:
                try:
                    alive[cur.node].cancel(projects[cur.node], cur.job)
                    emit("cancelled", {"node": cur.node, "shard": t.shard.name, "job": cur.job})
                except ClusterError:
                    pass
        raise
    if summary_dir and not _on_store(out):
        try:
            os.rmdir(summary_dir)  # only when empty: summaries of unfinished jobs stay for a look
        except OSError:
            pass
    summary: dict[str, Any] = {
        "run": prefix,
        "out": out,
        "nodes": {**{u: "up" for u in alive}, **{u: f"down: {why}" for u, why in done_nodes.items()}},
        "shards": [
            {
                **t.shard.to_dict(),
                "status": t.status,
                "attempts": [asdict(a) for a in t.attempts],
            }
            for t in tracks
        ],
        "retried": sum(1 for t in tracks if len(t.attempts) > 1),
    }
    failed = [t for t in tracks if t.status != "ok"]
    summary["ok"] = not failed
    from crawler.archive import _rebuild_derived  # noqa: PLC0415 - duplicate groups, search index

    summary.update(_rebuild_derived(out, prefix))
    if validate:
        summary["validation"] = _validate(out)
        summary["ok"] = summary["ok"] and summary["validation"].get("ok", False)
    if failed:
        names = ", ".join(f"{t.shard.name} ({t.current.reason if t.current else 'never scheduled'})" for t in failed)
        err = ClusterError(f"{len(failed)} of {len(tracks)} shards failed after {retries + 1} attempts: {names}")
        err.summary = summary  # type: ignore[attr-defined]
        raise err
    return summary


def _validate(out: str) -> dict:
    """`parkcorpus validate` (crawler.validate) on the merged output, as a dict."""
    from crawler.validate import validate as _v  # noqa: PLC0415 - pyarrow is heavy

    report = _v(out)
    if hasattr(report, "to_dict"):
        d = report.to_dict()
    elif hasattr(report, "__dataclass_fields__"):
        d = asdict(report)
    else:
        d = dict(vars(report))
    if "ok" not in d:
        d["ok"] = bool(getattr(report, "ok", not d.get("problems") and not d.get("errors")))
    return d


# --------------------------------------------------------------------------- status


def status(nodes: Iterable[str], project: str | None = None) -> list[dict]:
    """For each node: reachable or not, its job counts, and the jobs it is running or queueing."""
    rows = []
    for url in _nodes(nodes):
        node = Node(url)
        row: dict[str, Any] = {"node": node.url}
        try:
            ds = node.daemonstatus()
            jobs = node.listjobs(project)
        except ClusterError as exc:
            row.update(reachable=False, error=str(exc))
            rows.append(row)
            continue
        row.update(
            reachable=True,
            node_name=ds.get("node_name"),
            pending=ds.get("pending", 0),
            running=ds.get("running", 0),
            finished=ds.get("finished", 0),
            jobs=[
                {"id": j["id"], "state": state, "spider": j.get("spider"), "pid": j.get("pid"),
                 "start_time": j.get("start_time"), "end_time": j.get("end_time")}
                for state in ("running", "pending")
                for j in jobs.get(state, [])
            ],
        )
        rows.append(row)
    return rows
