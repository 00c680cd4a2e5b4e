"""Item pipelines: thin Scrapy adapters that validate, de-duplicate and write (crawler.store)."""
