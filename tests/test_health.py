"""Run status, exit codes and --max-failed (crawler.health); the failed-post ledger (crawler.debt)."""

from __future__ import annotations

import datetime as dt
import json
import os
from fractions import Fraction

import pytest

from crawler.debt import MAX_RUNS, FailedPosts, backoff
from crawler.errors import DatasetError, UsageError
from crawler.health import MaxFailed, crawl_health, parse_max_failed, run_status

UTC = dt.timezone.utc
NIGHT = dt.datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 02:00 China time
HOST = "jinshan.021cf.cn"


# -- parse_max_failed / run_status ---------------------------------------------------------------

@pytest.mark.parametrize("text, count, percent", [
    ("5", 5, None), ("0", 0, None), (" 12 ", 12, None), (7, 7, None),
    ("2%", None, Fraction(2)), ("2.5%", None, Fraction(5, 2)), ("100%", None, Fraction(100)),
    (None, 0, None), ("", 0, None),
])
def test_parse_max_failed(text, count, percent):
    got = parse_max_failed(text)
    assert (got.count, got.percent) == (count, percent)
    assert parse_max_failed(str(got)) == got  # str() round-trips


@pytest.mark.parametrize("text", ["-1", "abc", "5 posts", "2.5", "101%", "%", "1e3", True])
def test_parse_max_failed_rejects(text):
    with pytest.raises(UsageError, match="--max-failed"):
        parse_max_failed(text)


def test_percentage_is_of_the_posts_settled_and_exact():
    two = parse_max_failed("2%")
    assert two.allows(2, 100) and not two.allows(3, 100)
    assert two.allows(1, 50) and not two.allows(1, 49)
    assert not two.allows(1, 0)
    assert MaxFailed().allows(0, 0) and not MaxFailed().allows(1, 1000)


@pytest.mark.parametrize("counts, max_failed, expected", [
    ({"posts": 180, "failed": 0}, None, ("ok", 0)),
    ({"posts": 0, "failed": 0}, None, ("ok", 0)),
    ({"posts": 180, "failed": 25}, None, ("partial", 3)),
    ({"posts": 180, "failed": 25}, "25", ("partial", 0)),
    ({"posts": 180, "failed": 25}, "24", ("partial", 3)),
    ({"posts": 180, "failed": 25}, "14%", ("partial", 0)),   # 13.9 %
    ({"posts": 180, "failed": 25}, "13%", ("partial", 3)),
    ({"posts": 25, "failed": 25}, "100%", ("failed", 1)),     # nothing got through
    ({"posts": 180, "failed": 25, "interrupted": True}, None, ("interrupted", 1)),
    ({"posts": 180, "failed": 0, "error": "folder locked"}, "100%", ("failed", 1)),
])
def test_run_status(counts, max_failed, expected):
    assert run_status(counts, max_failed) == expected


def test_crawl_health_from_runs_and_debt():
    runs = [
        {"run_id": "a", "status": "ok", "finished": "2026-11-10T18:30:00+00:00", "sites": [{"host": HOST}]},
        {"run_id": "b", "status": "partial", "finished": "2026-11-18T18:30:00+00:00",
         "sites": [{"host": HOST}, {"host": "laian.021cf.cn"}]},
        {"run_id": "c", "status": "failed", "finished": "2026-11-19T18:30:00+00:00", "exit_code": 1,
         "sites": [{"host": HOST}]},
    ]
    debt = {HOST: {"missing": 3, "abandoned": 1}, "laian.021cf.cn": {"missing": 2, "abandoned": 0}}
    h = crawl_health(runs, debt, [HOST, "laian.021cf.cn", "songjiang.021cf.cn"], NIGHT)
    assert h["missing_posts"] == 5 and h["abandoned_posts"] == 1
    assert h["last_run"] == {"run_id": "c", "status": "failed", "finished": "2026-11-19T18:30:00+00:00",
                             "exit_code": 1}
    # the failed run does not count as a crawl of the site
    assert h["sites_not_crawled_since"] == {HOST: 1, "laian.021cf.cn": 1, "songjiang.021cf.cn": None}
    assert crawl_health([], {}, [], NIGHT)["last_run"] is None


# -- FailedPosts ------------------------------------------------------------------------------------

def test_failed_posts_survive_a_new_process_and_settle(tmp_path):
    folder = tmp_path / ".parkcorpus" / "failed"
    debt = FailedPosts(folder)
    for pid in (3756, 3760, 3801):
        debt.add_failed(HOST, pid, NIGHT, run_id="r1", url=f"http://{HOST}/index.php/post/{pid}.html",
                        reason="http_503")
    debt.add_failed(HOST, 3756, NIGHT, run_id="r1")  # retried within the same run: still one run
    debt.save()
    doc = json.loads((folder / f"{HOST}.json").read_text())
    assert doc["posts"]["3756"]["runs"] == 1 and doc["posts"]["3756"]["reason"] == "http_503"

    night2 = NIGHT + dt.timedelta(days=1)
    again = FailedPosts(folder)
    assert again.due(HOST, night2) == [3756, 3760, 3801]
    assert again.recovered(HOST, 3756) and not again.recovered(HOST, 9999)
    again.add_failed(HOST, 3760, night2, run_id="r2")
    again.save()
    third = FailedPosts(folder)
    e = third.entries(HOST)
    assert sorted(e) == [3760, 3801]
    assert e[3760]["runs"] == 2 and e[3760]["first_failed"] == NIGHT.isoformat()
    assert e[3760]["last_failed"] == night2.isoformat()
    assert third.counts() == {HOST: {"missing": 2, "abandoned": 0}}
    third.recovered(HOST, 3760)
    third.recovered(HOST, 3801)
    third.save()
    assert not (folder / f"{HOST}.json").exists() and FailedPosts(folder).counts() == {}


def test_backoff_across_nights_then_abandoned(tmp_path):
    debt = FailedPosts(tmp_path, max_runs=MAX_RUNS)
    night, retried = NIGHT, []
    for n in range(30):  # one run a night for a month; the post never comes back
        if n == 0 or debt.due(HOST, night):
            retried.append(n)
            debt.add_failed(HOST, 5, night, run_id=f"r{n}")
        night += dt.timedelta(days=1, minutes=37 * (n % 3))  # cron drifts a little
    assert len(retried) == MAX_RUNS
    assert retried[:3] == [0, 1, 2]  # the next nights retry at once
    gaps = [b - a for a, b in zip(retried, retried[1:])]
    assert gaps == sorted(gaps) and gaps[-1] > 1  # then less and less often
    assert debt.abandoned(HOST) == [5] and debt.due(HOST, night) == []
    assert debt.counts() == {HOST: {"missing": 0, "abandoned": 1}}
    assert debt.revive(HOST) == 1 and debt.due(HOST, night) == [5]
    assert backoff(0) == backoff(1) == dt.timedelta(0)


def test_two_writers_do_not_lose_each_others_entries(tmp_path):
    a, b = FailedPosts(tmp_path), FailedPosts(tmp_path)
    a.add_failed(HOST, 1, NIGHT, run_id="s1")
    b.add_failed(HOST, 2, NIGHT, run_id="s2")
    b.add_failed("laian.021cf.cn", 7, NIGHT, run_id="s2")
    a.save()
    b.save()
    (tmp_path / "Not A Host.json").write_text("{}")  # a stray file is not a site
    fresh = FailedPosts(tmp_path)
    assert sorted(fresh.entries(HOST)) == [1, 2] and fresh.sites() == [HOST, "laian.021cf.cn"]


def test_symlinks_are_refused_not_followed(tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text("keep me")
    folder = tmp_path / "failed"
    folder.mkdir()
    os.symlink(victim, folder / f"{HOST}.json")
    debt = FailedPosts(folder)
    with pytest.raises(DatasetError, match="symlink"):
        debt.due(HOST, NIGHT)
    assert victim.read_text() == "keep me"
    # a folder that is itself a symlink
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    linked = FailedPosts(tmp_path / "link")
    with pytest.raises(DatasetError, match="symlink"):
        linked.entries(HOST)
    assert list(real.iterdir()) == []


def test_save_refuses_a_symlink_planted_after_loading(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    folder = tmp_path / "failed"
    debt = FailedPosts(folder)
    debt.add_failed(HOST, 1, NIGHT, run_id="r")  # folder not created yet: nothing read
    folder.mkdir()
    os.symlink(victim, folder / f"{HOST}.json")
    with pytest.raises(DatasetError):
        debt.save()  # replaying on the current file refuses the link
    assert victim.read_text() == "keep me"


def test_a_corrupt_file_is_moved_aside(tmp_path, caplog):
    (tmp_path / f"{HOST}.json").write_text("{not json")
    debt = FailedPosts(tmp_path)
    assert debt.entries(HOST) == {}
    assert any(p.name.startswith(f"{HOST}.json.corrupt-") for p in tmp_path.iterdir())
    assert "unreadable" in caplog.text


def test_bad_host_names_never_become_paths(tmp_path):
    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(ValueError):
            FailedPosts(tmp_path).add_failed(bad, 1, NIGHT)
