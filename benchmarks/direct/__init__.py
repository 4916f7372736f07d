"""Each engine's own client doing what memgpt does, for the overhead ratio (one module per backend name)."""
