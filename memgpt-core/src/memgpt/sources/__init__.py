"""Data sources: reading documents, chunking them into passages, loading them into storage."""
