"""An example pymemgpt storage backend (JSON files in a folder)."""
