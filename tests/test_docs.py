"""Documentation gates: every command has --help with an example and a README mention; --help is instant."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def all_commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path registered under cli.main, groups and their subcommands included."""
    paths = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        paths.append(prefix + (name,))
        if isinstance(cmd, click.Group):
            paths += all_commands(cmd, prefix + (name,))
    return paths


COMMANDS = all_commands()


def test_the_cli_has_the_commands_of_the_contract():
    names = {p[0] for p in COMMANDS}
    assert {"config", "sites", "stats", "report"} <= names


@pytest.mark.parametrize("path", [()] + COMMANDS, ids=lambda p: " ".join(p) or "parkcorpus")
def test_help_has_an_example(path):
    res = CliRunner().invoke(main, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Example" in res.output, f"`parkcorpus {' '.join(path)} --help` has no example"
    # the example must actually show the command being run
    example = res.output.split("Example", 1)[1]
    assert f"parkcorpus {' '.join(path)}".strip() in example


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_readme_mentions_command(path):
    assert re.search(rf"parkcorpus {re.escape(' '.join(path))}\b", README), (
        f"README.md never mentions `parkcorpus {' '.join(path)}`"
    )


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_commands_table_lists_command(path):
    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert any(f"`parkcorpus {' '.join(path)}" in row for row in rows), (
        f"the README's Commands table has no row for `parkcorpus {' '.join(path)}`"
    )


def test_readme_has_the_user_sections():
    for heading in ("## Quick start", "## Crawling the real network", "## Reading the data", "## Schema",
                    "## How extraction decides what is boilerplate", "## Commands", "## Configuration",
                    "## Benchmarks", "## Limits"):
        assert heading in README
    config_section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    from crawler.config import SETTINGS, env_name

    rows = {line.split("|")[1].strip(): line for line in config_section.splitlines() if line.startswith("| `")}
    for s in SETTINGS:
        row = rows.get(f"`{s.name}`")
        assert row, f"README Configuration table has no row for {s.name}"
        assert f"`{env_name(s.name)}`" in row
        if s.name != "user_agent":  # shown as a pattern, the real one carries the version
            assert f"`{json.dumps(s.default, ensure_ascii=False)}`" in row, f"README default of {s.name} is stale"


def test_help_does_not_import_heavy_libraries():
    # `parkcorpus --help` must be instant: cli.py imports scrapy, pyarrow and pandas lazily
    code = (
        "import sys, cli\n"
        "from click.testing import CliRunner\n"
        "r = CliRunner().invoke(cli.main, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('scrapy', 'pyarrow', 'pandas', 'matplotlib', 'twisted') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"cli imports {proc.stdout.strip()} at module level"
