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
    assert len(README.splitlines()) <= 300, "README.md is for users: at most 300 lines, the rest goes to docs/"
    for heading in ("## Quick start", "## Crawling the real network", "## Reading the data", "## Commands",
                    "## Configuration", "## Limits"):
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


def test_readme_lists_every_column_and_links_the_schema():
    from crawler.items import ARTICLE_SCHEMA

    reading = README.split("## Reading the data", 1)[1].split("\n## ", 1)[0]
    for name in ARTICLE_SCHEMA.names:
        assert f"`{name}`" in reading, f"README 'Reading the data' does not list column {name}"
    assert "(docs/schema.md)" in reading


# The internals moved out of the README: each document keeps its sections and the README links it.
MOVED = {
    "docs/schema.md": ("# The parkcorpus dataset on disk", "## Partitions", "## The articles dataset"),
    "docs/extraction.md": ("# How extraction decides what is boilerplate", "## The rules are data", "## Dates",
                           "## Quality gate"),
    "docs/replica.md": ("# The offline replica", "## What it generates", "## Serving it: proxy, routes and faults"),
    "docs/cluster.md": ("# Running on several machines (Scrapyd)", "## Failures and retries",
                        "## Reading a corpus at scale"),
    "bench/README.md": ("# Benchmarks", "## Extraction", "## Crawl throughput and memory"),
}


@pytest.mark.parametrize("doc", sorted(MOVED))
def test_moved_documents_keep_their_sections_and_are_linked(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    for heading in MOVED[doc]:
        assert re.search(rf"^{re.escape(heading)}", text, re.M), f"{doc} has no section {heading!r}"
    assert f"]({doc})" in README, f"README.md does not link {doc}"


DOCS = ["README.md", "HACKING.md", *sorted(MOVED)]


@pytest.mark.parametrize("doc", DOCS)
def test_docs_read_as_documentation_not_a_work_log(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert not re.search(r"\bissue \d+", text, re.I), f"{doc} refers to an issue"
    assert not re.search(r"\b\d{1,2}:\d{2}(?:[–-]\d{1,2}:\d{2})? UTC\b", text), f"{doc} names a time of day"


@pytest.mark.parametrize("doc", DOCS)
def test_relative_links_resolve(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert ((ROOT / doc).parent / target).exists(), f"{doc} links {target}, which does not exist"


def test_readme_crontab_calls_the_venv_by_its_absolute_path():
    cron = re.findall(r"```cron\n(.*?)```", README, re.S)
    assert cron, "README has no crontab example"
    for line in "".join(cron).splitlines():
        assert re.search(r"\s/\S+/\.venv/bin/parkcorpus ", line), f"cron has no PATH with the venv: {line}"


def test_replica_doc_examples_run():
    """The Python examples of docs/replica.md run as printed."""
    text = (ROOT / "docs" / "replica.md").read_text(encoding="utf-8")
    text, edits_text = text.split("## Edits and failing posts", 1)
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    ns: dict = {}
    for code in blocks:
        exec(compile(code, "docs/replica.md", "exec"), ns)
    assert ns["gold"]["post_id"] == ns["pid"] and ns["gold"]["text"]
    assert len(ns["site"].post_ids()) == 153  # 150 posts, then publish(3)
    assert b"Disallow: /index.php/tags-" in ns["robots"] and b"Crawl-delay: 1" in ns["robots"]
    assert ns["srv"].count(host="jinshan.021cf.cn") == 1
    # the edits section is a story of its own: its examples run in a fresh namespace
    ns = {}
    for code in re.findall(r"```python\n(.*?)```", edits_text, re.S):
        exec(compile(code, "docs/replica.md", "exec"), ns)
    assert ns["down"] and set(ns["down"]) <= set(ns["net"].site("jinshan.021cf.cn").post_ids())
    assert any(e.post_id == ns["pid"] and e.kind == "title" for e in ns["edits"])


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
