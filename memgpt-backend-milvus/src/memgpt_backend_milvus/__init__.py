"""Milvus storage backend for pymemgpt (registered through the ``memgpt`` entry points)."""
