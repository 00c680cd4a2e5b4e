"""parkcorpus configuration: one table of settings, read from parkcorpus.toml, PARKCORPUS_* and the CLI.

Precedence, lowest first: the defaults in ``SETTINGS``, ``parkcorpus.toml`` (in the working folder,
or the file given by ``--config``), environment variables ``PARKCORPUS_<KEY>`` (dots become
underscores: ``cluster.nodes`` -> ``PARKCORPUS_CLUSTER_NODES``), then command-line options.
A key that feeds a crawl maps to one Scrapy/PARKCORPUS_* setting (``Setting.scrapy``) and takes
its default from ``crawler/settings.py``, so the two tables cannot drift; ``scrapy_settings()``
builds the dict a crawl subprocess receives.

Nothing here is global: callers load a ``Config`` and pass it (or values from it) on.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from crawler.errors import ConfigError
from crawler.sites import DEFAULT_SITE

logger = logging.getLogger(__name__)

#: The file looked up in the working folder when --config is not given.
CONFIG_FILENAME = "parkcorpus.toml"
ENV_PREFIX = "PARKCORPUS_"


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default, type, one line of help and the crawl setting it feeds."""

    name: str
    default: Any
    type: type
    help: str
    scrapy: str | None  # the Scrapy/PARKCORPUS_* setting it feeds; None: read by parkcorpus itself
    item_type: type | None = None  # element type when type is list
    choices: tuple[str, ...] | None = None
    forbid: tuple[str, ...] = ()  # substrings (any case) a value must not contain ...
    forbid_reason: str = ""  # ... and why
    lo: float | None = None  # smallest valid number (inclusive); floats must also be finite
    hi: float | None = None  # largest valid number (inclusive)
    url: bool = False  # a non-empty value must be an http(s)://HOST[:PORT] URL


def _crawl(name: str, scrapy: str, type_: type, help_: str | None = None, **kw: Any) -> Setting:
    """A key whose default (and help) come from crawler/settings.py, so the two tables never disagree."""
    from crawler import settings as crawl_settings

    default = getattr(crawl_settings, scrapy)
    if help_ is None:
        help_ = crawl_settings.PARKCORPUS_SETTINGS[scrapy][1]
    return Setting(name, default, type_, help_, scrapy, **kw)


#: Every setting a user can put in parkcorpus.toml. Keys that feed a crawl take their default from
#: crawler/settings.py (the Scrapy settings module); the others are read by parkcorpus itself.
SETTINGS: tuple[Setting, ...] = (
    Setting("sites", [DEFAULT_SITE], list, "subsites crawled when none are named (host names or short names)", None, str),
    _crawl("out", "PARKCORPUS_OUT", str),
    # an hour between requests is already a crawl that never ends; inf/NaN hang the scheduler
    _crawl("delay", "DOWNLOAD_DELAY", float, "seconds between requests to one host (robots.txt Crawl-delay wins when larger)",
           lo=0, hi=3600),
    # 0 requests at a time never finishes; more than 64 per host is an attack, not a crawl
    _crawl("concurrency", "CONCURRENT_REQUESTS_PER_DOMAIN", int, "parallel requests per host", lo=1, hi=64),
    _crawl("autothrottle", "AUTOTHROTTLE_ENABLED", bool, "adapt the delay to the server's latency (Scrapy AutoThrottle)"),
    # tpure serves its mobile layout (other markup) to a User-Agent with any of these words
    _crawl("user_agent", "USER_AGENT", str, "User-Agent header (must not contain linux/android/Mobile: tpure's mobile layout)",
           forbid=("linux", "android", "mobile"), forbid_reason="tpure would serve its mobile layout"),
    _crawl("proxy", "PARKCORPUS_PROXY", str, url=True),
    _crawl("convert", "PARKCORPUS_CONVERT", str, choices=("t2s", "s2t", "t2tw", "none")),
    _crawl("swaps", "PARKCORPUS_SWAPS", bool),
    _crawl("mask_phones", "PARKCORPUS_MASK_PHONES", bool),
    _crawl("archive", "PARKCORPUS_ARCHIVE", bool),
    _crawl("flush_rows", "PARKCORPUS_FLUSH_ROWS", int, lo=1, hi=10_000_000),
    _crawl("max_errors", "PARKCORPUS_MAX_ERRORS", int, lo=0),
    _crawl("max_failed", "PARKCORPUS_MAX_FAILED", str),
    _crawl("revisit_days", "PARKCORPUS_REVISIT_DAYS", int, lo=0, hi=3650),
    _crawl("revisit_sample", "PARKCORPUS_REVISIT_SAMPLE", int, lo=0, hi=1_000_000),
    _crawl("workers", "PARKCORPUS_WORKERS", int, lo=0, hi=256),
    Setting("cluster.nodes", [], list, "Scrapyd URLs for `parkcorpus cluster`", None, str),
    Setting("cluster.shard_size", 2000, int, "post IDs per shard when a large subsite is split", None,
            lo=1, hi=1_000_000),
)

#: PARKCORPUS_* environment variables that are not config keys but are read on purpose
#: (the extraction quality gate's escape hatch, tests/test_quality.py)
OTHER_ENV = frozenset({"PARKCORPUS_LOWER_FLOORS"})

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_name(key: str) -> str:
    """The environment variable that overrides a config key."""
    return ENV_PREFIX + key.upper().replace(".", "_")


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    """value converted to the setting's type; ConfigError naming the key and its source otherwise."""
    want = setting.type
    try:
        if want is bool:
            if isinstance(value, bool):
                out = value
            elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                out = value.strip().lower() in _TRUE
            else:
                raise ValueError
        elif want is int:
            if isinstance(value, bool) or isinstance(value, float):
                raise ValueError
            out = int(value)
        elif want is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
        elif want is list:
            if isinstance(value, str):
                # env vars and -s style overrides: comma-separated
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)):
                raise ValueError
            out = [setting.item_type(v) if setting.item_type else v for v in value]
        else:
            if not isinstance(value, str):
                raise ValueError
            out = value
    except (TypeError, ValueError):
        raise ConfigError(
            f"{setting.name} = {value!r} in {where} is not a valid {want.__name__}; "
            f"expected {_a(want)} ({setting.help})"
        ) from None
    bad = [w for w in setting.forbid if isinstance(out, str) and w in out.lower()]
    if bad:
        raise ConfigError(f"{setting.name} in {where} contains {bad[0]!r}: {setting.forbid_reason}; leave it out")
    if isinstance(out, (int, float)) and not isinstance(out, bool) and (setting.lo is not None or setting.hi is not None):
        if not math.isfinite(out) or (setting.lo is not None and out < setting.lo) or (
                setting.hi is not None and out > setting.hi):
            if setting.lo is None or setting.lo == -math.inf:
                span = "that is finite"
            elif setting.hi is None:
                span = f"of at least {_num(setting.lo)}"
            else:
                span = f"from {_num(setting.lo)} to {_num(setting.hi)}"
            raise ConfigError(f"{setting.name} = {value!r} in {where} is out of range: expected {_a(want)} "
                              f"{span} ({setting.help})")
    if setting.url and out and not _is_http_url(out):
        raise ConfigError(f"{setting.name} = {value!r} in {where} is not a URL: expected http://HOST:PORT")
    if setting.choices and out not in setting.choices:
        raise ConfigError(
            f"{setting.name} = {out!r} in {where} is not one of {', '.join(setting.choices)}"
        )
    return out


def _is_http_url(text: str) -> bool:
    """http(s)://HOST[:PORT] (a bare HOST:PORT counts as http), with a valid port when given."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text if "://" in text else f"http://{text}")
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _a(kind: type) -> str:
    return ("an " if kind.__name__[0] in "aeiou" else "a ") + kind.__name__


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _unknown_key(key: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(SETTINGS_BY_NAME), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(SETTINGS_BY_NAME)}"
    return ConfigError(f"unknown config key {key!r} in {where}{hint}")


def _flatten(data: Mapping[str, Any], where: str, prefix: str = "") -> dict[str, Any]:
    """TOML tables to dotted keys ([cluster] nodes = ... -> cluster.nodes); unknown keys rejected."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = prefix + key
        if isinstance(value, dict):
            if not any(s.startswith(name + ".") for s in SETTINGS_BY_NAME):
                raise _unknown_key(name, where)
            flat.update(_flatten(value, where, name + "."))
        elif name not in SETTINGS_BY_NAME:
            raise _unknown_key(name, where)
        else:
            flat[name] = value
    return flat


def read_toml(path: Path) -> dict[str, Any]:
    """The flattened settings of one parkcorpus.toml; ConfigError naming file and line when corrupt."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; create it or drop --config") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError carries the position only in its message: "... (at line 3, column 7)"
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        at = f" line {m.group(1)}" if m else ""
        raise ConfigError(f"config file {path}{at} is not valid TOML: {reason}; fix or remove it") from None
    return _flatten(data, str(path))


class Config:
    """The effective configuration: a value and its source for every key of SETTINGS."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str], path: Path | None = None):
        self._values = values
        self._sources = sources
        #: the parkcorpus.toml that was read, or None
        self.path = path

    def get(self, key: str) -> Any:
        """The effective value of a key."""
        if key not in self._values:
            raise _unknown_key(key, "the request")
        return self._values[key]

    def source(self, key: str) -> str:
        """Where the value came from: default, parkcorpus.toml, env PARKCORPUS_X or command line."""
        if key not in self._sources:
            raise _unknown_key(key, "the request")
        return self._sources[key]

    def as_dict(self) -> dict[str, Any]:
        """Every key with its value, in table order."""
        return {s.name: self._values[s.name] for s in SETTINGS}

    def describe(self) -> list[dict[str, Any]]:
        """Rows for `parkcorpus config`: key, value, source, env variable, help."""
        return [
            {
                "key": s.name,
                "value": self._values[s.name],
                "source": self._sources[s.name],
                "env": env_name(s.name),
                "help": s.help,
            }
            for s in SETTINGS
        ]

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "Config":
        """A copy with command-line values on top (None means the option was not given)."""
        values, sources = dict(self._values), dict(self._sources)
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            setting = SETTINGS_BY_NAME.get(key)
            if setting is None:
                raise _unknown_key(key, "the command line")
            values[key] = _coerce(setting, value, "the command line")
            sources[key] = "command line"
        return Config(values, sources, self.path)

    def scrapy_settings(self) -> dict[str, Any]:
        """The crawl settings these values feed (see Setting.scrapy), for a crawl subprocess."""
        return {
            SETTINGS_BY_NAME[k].scrapy: v
            for k, v in self._values.items()
            if SETTINGS_BY_NAME[k].scrapy is not None
        }

    def __repr__(self) -> str:
        return f"Config({self.as_dict()!r})"


_warned_env: set[str] = set()  # each misspelt variable is reported once per process


def _warn_unknown_env(env: Mapping[str, str]) -> None:
    """Warn about PARKCORPUS_* variables that set nothing, naming the closest valid one."""
    valid = [env_name(s.name) for s in SETTINGS]
    for name in env:
        if not name.startswith(ENV_PREFIX) or name in valid or name in OTHER_ENV or name in _warned_env:
            continue
        _warned_env.add(name)
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"valid names: {', '.join(valid)}"
        logger.warning("environment variable %s is not a parkcorpus setting and is ignored; %s", name, hint)


def load_config(
    path: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults, then parkcorpus.toml (path, or the one in cwd), then PARKCORPUS_* env, then overrides."""
    env = os.environ if env is None else env
    values = {s.name: s.default for s in SETTINGS}
    sources = {s.name: "default" for s in SETTINGS}

    toml_path: Path | None
    if path is not None:
        toml_path = Path(path)
    else:
        candidate = Path(cwd if cwd is not None else os.getcwd()) / CONFIG_FILENAME
        toml_path = candidate if candidate.is_file() else None
    if toml_path is not None:
        label = CONFIG_FILENAME if toml_path.name == CONFIG_FILENAME else str(toml_path)
        for key, value in read_toml(toml_path).items():
            values[key] = _coerce(SETTINGS_BY_NAME[key], value, str(toml_path))
            sources[key] = label

    _warn_unknown_env(env)
    for s in SETTINGS:
        name = env_name(s.name)
        if name in env:
            values[s.name] = _coerce(s, env[name], f"environment variable {name}")
            sources[s.name] = f"env {name}"

    return Config(values, sources, toml_path).with_overrides(overrides)


def check_crawl_settings(pairs: Mapping[str, Any], where: str = "-s") -> dict[str, Any]:
    """`-s NAME=VALUE` overrides checked before a crawl starts: a setting that feeds a config key is
    range-checked like that key; any other Scrapy/PARKCORPUS_* setting whose default is a number or
    a flag must parse as one (finite). ConfigError names the first bad pair."""
    from crawler import settings as crawl_settings

    by_scrapy = {s.scrapy: s for s in SETTINGS if s.scrapy}
    out: dict[str, Any] = {}
    for name, value in pairs.items():
        label = f"{where} {name}"
        if name in by_scrapy:
            out[name] = _coerce(by_scrapy[name], value, label)
            continue
        default = getattr(crawl_settings, name, None)
        if default is None:
            default = _scrapy_default(name)
        kind = type(default) if isinstance(default, (bool, int, float)) else None
        if kind is None or not isinstance(value, str):
            out[name] = value
            continue
        out[name] = _coerce(Setting(name, default, kind, f"Scrapy setting {name}, default {default!r}", name,
                                    lo=-math.inf if kind is not bool else None), value, label)
    return out


def _scrapy_default(name: str) -> Any:
    """Scrapy's own default of a setting (None when Scrapy has no such setting)."""
    from scrapy.settings import default_settings

    return getattr(default_settings, name, None)


#: Days a --since/--until may name: the network's posts start in the 2010s; far-off years
#: (0001-01-01, 9999-12-31) overflow when shifted by a time zone or a day
DAY_BOUNDS = ("1990-01-01", "2100-12-31")


def check_day_bounds(value: Any, option: str) -> None:
    """ConfigError when a --since/--until day lies outside DAY_BOUNDS (bad syntax is left to the parser)."""
    import datetime as dt

    from crawler.errors import UsageError
    from crawler.clock import parse_day  # the one day parser

    try:
        parsed = parse_day(value, option)
    except (UsageError, OverflowError):
        return
    if parsed is None:
        return
    lo, hi = (dt.datetime.fromisoformat(d).replace(tzinfo=dt.timezone.utc) for d in DAY_BOUNDS)
    if not lo - dt.timedelta(days=1) <= parsed <= hi + dt.timedelta(days=1):
        raise ConfigError(f"{option} {value} is out of range: use a day from {DAY_BOUNDS[0]} to {DAY_BOUNDS[1]}")
