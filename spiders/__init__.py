"""Scrapy spiders: discovery and routing only (parsing lives in crawler/)."""
