"""The `parkcorpus` command line. The only module that imports click.

Each command parses its options, makes one `crawler.api` call and prints the result.
Heavy libraries (scrapy, pyarrow, pandas) are imported lazily inside `crawler.api`
so that `parkcorpus --help` is instant.
"""

from __future__ import annotations

import functools
import json
import sys

import click

from crawler import __version__
from crawler import errors


class ParkcorpusClickError(click.ClickException):
    """A ClickException that keeps the exit code of the library error it wraps."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def handle_errors(fn):
    """Turn library errors into one `Error: ...` line and an exit code (no traceback unless --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = bool((ctx.find_root().obj or {}).get("debug"))
        try:
            return fn(*args, **kwargs)
        except errors.ParkcorpusError as exc:
            if debug:
                raise
            raise ParkcorpusClickError(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise ParkcorpusClickError("interrupted", 1) from None
        except OSError as exc:
            if debug:
                raise
            name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            raise ParkcorpusClickError(f"{exc.strerror or exc}:{name}".rstrip(":"), 1) from None

    return wrapper


def echo_json(obj) -> None:
    """Print obj as indented JSON (UTF-8, dates as ISO strings)."""
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parkcorpus")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Settings file (default: ./parkcorpus.toml when present). See `parkcorpus config`.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Only errors in the log output.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also append log messages to this file.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, config_path, verbose: int, quiet: int, log_file) -> None:
    """Crawl the 中国产业园区招商网 network into a clean Parquet corpus.

    \b
    Example:
        parkcorpus demo            # crawl the bundled offline replica into ./data
        parkcorpus crawl jinshan.021cf.cn --out data
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    # Global options every command may read: the config file path (loaded lazily by crawler.api,
    # so a broken file never breaks --help), the log verbosity (-1 quiet, 0 default, 1 info, 2 debug)
    # and a log file.
    ctx.obj["config"] = config_path
    ctx.obj["verbosity"] = verbose - quiet
    ctx.obj["log_file"] = log_file
    _setup_logging(verbose - quiet, log_file)


def _setup_logging(verbosity: int, log_file) -> None:
    """stderr logging at the level -v/-q ask for, plus --log-file when given."""
    import logging

    class _Stderr(logging.StreamHandler):
        # Resolve sys.stderr at emit time: click's test runner and pytest swap it between calls.
        def emit(self, record):
            self.stream = sys.stderr
            super().emit(record)

    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(verbosity, 2)), logging.DEBUG
    )
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_parkcorpus", False)]:
        root.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [_Stderr()]
    handlers[0].setLevel(level)
    if log_file:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            raise click.BadParameter(f"cannot open {log_file}: {exc.strerror}", param_hint="--log-file")
        handlers[1].setLevel(min(level, logging.INFO))
    for h in handlers:
        h.setFormatter(fmt)
        h._parkcorpus = True
        root.addHandler(h)
    root.setLevel(min(h.level for h in handlers))


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_context
@handle_errors
def config_cmd(ctx: click.Context, as_json: bool) -> None:
    """Print the effective configuration and where each value came from.

    Values come from defaults, then parkcorpus.toml (or --config FILE), then
    PARKCORPUS_* environment variables, then command-line options.

    \b
    Example:
        parkcorpus config
        PARKCORPUS_DELAY=2 parkcorpus --config cron.toml config --json
    """
    from crawler import api

    info = api.config_info(ctx.obj.get("config"))
    if as_json:
        echo_json(info)
        return
    click.echo(f"config file: {info['file'] or '(none: defaults and environment only)'}")
    width = max(len(r["key"]) for r in info["settings"])
    for r in info["settings"]:
        click.echo(f"{r['key']:<{width}}  {json.dumps(r['value'], ensure_ascii=False):<28}  {r['source']}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
