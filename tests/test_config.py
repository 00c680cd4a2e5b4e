"""crawler.config: precedence default < parkcorpus.toml < PARKCORPUS_* < command line, and its errors."""

import json

import pytest
from click.testing import CliRunner

from cli import main
from crawler.config import SETTINGS, env_name, load_config
from crawler.errors import ConfigError


def test_defaults_when_nothing_is_set(tmp_path):
    cfg = load_config(env={}, cwd=tmp_path)
    assert cfg.path is None
    for s in SETTINGS:
        assert cfg.get(s.name) == s.default
        assert cfg.source(s.name) == "default"


def test_precedence_toml_env_command_line(tmp_path):
    (tmp_path / "parkcorpus.toml").write_text(
        'out = "corpus"\ndelay = 2.5\nsites = ["laian.021cf.cn"]\n'
        '[cluster]\nnodes = ["http://127.0.0.1:6800"]\nshard_size = 10\n',
        encoding="utf-8",
    )
    env = {"PARKCORPUS_DELAY": "3", "PARKCORPUS_ARCHIVE": "no", "PARKCORPUS_CLUSTER_SHARD_SIZE": "7"}
    cfg = load_config(env=env, cwd=tmp_path, overrides={"out": "cli-out", "concurrency": None})
    assert (cfg.get("out"), cfg.source("out")) == ("cli-out", "command line")
    assert (cfg.get("delay"), cfg.source("delay")) == (3.0, "env PARKCORPUS_DELAY")
    assert (cfg.get("archive"), cfg.source("archive")) == (False, "env PARKCORPUS_ARCHIVE")
    assert (cfg.get("sites"), cfg.source("sites")) == (["laian.021cf.cn"], "parkcorpus.toml")
    assert cfg.get("cluster.nodes") == ["http://127.0.0.1:6800"]
    assert (cfg.get("cluster.shard_size"), cfg.source("cluster.shard_size")) == (7, "env PARKCORPUS_CLUSTER_SHARD_SIZE")
    # an option the user did not give (None) leaves the lower layers alone
    assert cfg.source("concurrency") == "default"
    assert cfg.scrapy_settings()["DOWNLOAD_DELAY"] == 3.0
    assert "sites" not in cfg.scrapy_settings() and None not in cfg.scrapy_settings()


def test_explicit_path_wins_over_working_folder(tmp_path):
    (tmp_path / "parkcorpus.toml").write_text('out = "here"\n', encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text('out = "there"\n', encoding="utf-8")
    cfg = load_config(other, env={}, cwd=tmp_path)
    assert cfg.get("out") == "there"
    assert cfg.source("out") == str(other)


def test_env_list_is_comma_separated(tmp_path):
    cfg = load_config(env={env_name("sites"): "a.021cf.cn, b.021cf.cn"}, cwd=tmp_path)
    assert cfg.get("sites") == ["a.021cf.cn", "b.021cf.cn"]


def test_corrupt_toml_names_file_and_line(tmp_path):
    p = tmp_path / "parkcorpus.toml"
    p.write_text('out = "data"\n\ndelay = = 2\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(env={}, cwd=tmp_path)
    assert f"{p} line 3 is not valid TOML" in str(e.value)


def test_unknown_key_names_key_and_closest(tmp_path):
    (tmp_path / "parkcorpus.toml").write_text("dealy = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown config key 'dealy' .*did you mean 'delay'\?"):
        load_config(env={}, cwd=tmp_path)


def test_unknown_key_inside_table(tmp_path):
    (tmp_path / "parkcorpus.toml").write_text("[cluster]\nnode = []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'cluster.node'.*did you mean 'cluster.nodes'"):
        load_config(env={}, cwd=tmp_path)


@pytest.mark.parametrize(
    "text, match",
    [
        ("delay = 'slow'\n", r"delay = 'slow' .* is not a valid float"),
        ("archive = 3\n", r"archive = 3 .* is not a valid bool"),
        ("convert = 'x2y'\n", r"convert = 'x2y' .* is not one of t2s, s2t, t2tw, none"),
    ],
)
def test_bad_values_are_rejected(tmp_path, text, match):
    (tmp_path / "parkcorpus.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_config(env={}, cwd=tmp_path)


def test_bad_env_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="environment variable PARKCORPUS_FLUSH_ROWS"):
        load_config(env={"PARKCORPUS_FLUSH_ROWS": "many"}, cwd=tmp_path)


def test_unrelated_parkcorpus_env_vars_are_ignored(tmp_path):
    # PARKCORPUS_DATA (the notebook's) and internal crawl variables are not config keys
    cfg = load_config(env={"PARKCORPUS_DATA": "x", "PARKCORPUS_RUN_ID": "r1"}, cwd=tmp_path)
    assert cfg.get("out") == "data"


def test_config_command_shows_value_and_source(tmp_path, monkeypatch):
    (tmp_path / "parkcorpus.toml").write_text('out = "corpus"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARKCORPUS_DELAY", "4")
    res = CliRunner().invoke(main, ["config", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["key"]: r for r in json.loads(res.stdout)["settings"]}
    assert (rows["out"]["value"], rows["out"]["source"]) == ("corpus", "parkcorpus.toml")
    assert (rows["delay"]["value"], rows["delay"]["source"]) == (4.0, "env PARKCORPUS_DELAY")
    assert rows["mask_phones"]["source"] == "default"
    res = CliRunner().invoke(main, ["config"])
    assert res.exit_code == 0
    assert "corpus" in res.output and "parkcorpus.toml" in res.output and "env PARKCORPUS_DELAY" in res.output


def test_config_command_with_explicit_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "cron.toml"
    p.write_text("max_errors = 3\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["--config", str(p), "config", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["file"] == str(p)
    rows = {r["key"]: r for r in data["settings"]}
    assert (rows["max_errors"]["value"], rows["max_errors"]["source"]) == (3, str(p))


def test_crawl_keys_share_defaults_with_crawler_settings():
    from crawler import settings as crawl_settings

    for s in SETTINGS:
        if s.scrapy is not None:
            assert s.default == getattr(crawl_settings, s.scrapy), s.name


def test_global_verbosity_and_log_file(tmp_path):
    from test_stats import sample_records, write_dataset

    out = write_dataset(tmp_path / "d", sample_records())
    log = tmp_path / "run.log"
    res = CliRunner().invoke(main, ["-v", "--log-file", str(log), "stats", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert f"INFO crawler.stats: read 10 articles from {out}" in log.read_text(encoding="utf-8")
    assert "INFO crawler.stats" in res.stderr
    res = CliRunner().invoke(main, ["-q", "stats", "--out", str(out), "--json"])
    assert res.exit_code == 0 and "INFO" not in res.stderr
    res = CliRunner().invoke(main, ["--log-file", str(tmp_path / "no" / "such" / "x.log"), "config"])
    assert res.exit_code == 2 and "--log-file" in res.output


def test_user_agent_that_triggers_the_mobile_layout_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"user_agent in environment variable PARKCORPUS_USER_AGENT contains "
                                          r"'linux': tpure would serve its mobile layout; leave it out"):
        load_config(env={"PARKCORPUS_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)"}, cwd=tmp_path)
    cfg = load_config(env={"PARKCORPUS_USER_AGENT": "mybot/1.0 (+https://example.org/bot)"}, cwd=tmp_path)
    assert cfg.get("user_agent") == "mybot/1.0 (+https://example.org/bot)"
