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
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Crawl the 中国产业园区招商网 network into a clean Parquet corpus.

    \b
    Example:
        parkcorpus demo            # crawl the bundled offline replica into ./data
        parkcorpus crawl jinshan.021cf.cn --out data
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
