"""Helpers several job families use: object storage, Elasticsearch."""
