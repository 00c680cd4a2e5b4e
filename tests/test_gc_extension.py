"""crawler.extensions.LongLivedObjects: a crawl process's collector skips what exists when the spider
opens and collects the young generation less often; the spider's close restores both."""

from __future__ import annotations

import gc

import pytest
from scrapy import signals
from scrapy.signalmanager import SignalManager

from crawler.extensions import LongLivedObjects


class _Crawler:
    def __init__(self):
        self.signals = SignalManager()


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield before
    gc.unfreeze()
    gc.set_threshold(*before)


def test_the_objects_of_an_open_crawl_are_frozen_and_given_back_at_close(restore_gc):
    crawler = _Crawler()
    ext = LongLivedObjects.from_crawler(crawler)  # noqa: F841 - Scrapy keeps its extensions (signals hold weak refs)
    kept = object.__new__(type("Kept", (), {}))  # a tracked object that exists before the spider opens
    assert gc.is_tracked(kept) and gc.get_freeze_count() == 0
    crawler.signals.send_catch_log(signals.spider_opened, spider=None)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (LongLivedObjects.YOUNG_THRESHOLD, *restore_gc[1:])
    crawler.signals.send_catch_log(signals.spider_closed, spider=None, reason="finished")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == restore_gc


def test_a_process_with_automatic_collection_off_keeps_it_off(restore_gc):
    gc.set_threshold(0)
    crawler = _Crawler()
    ext = LongLivedObjects.from_crawler(crawler)  # noqa: F841 - Scrapy keeps its extensions (signals hold weak refs)
    crawler.signals.send_catch_log(signals.spider_opened, spider=None)
    assert gc.get_threshold()[0] == 0
    crawler.signals.send_catch_log(signals.spider_closed, spider=None, reason="finished")
    assert gc.get_threshold()[0] == 0


def test_the_crawl_settings_enable_it():
    from crawler import settings

    assert "crawler.extensions.LongLivedObjects" in settings.EXTENSIONS
