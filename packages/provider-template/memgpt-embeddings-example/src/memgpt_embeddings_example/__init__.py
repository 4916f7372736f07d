"""An example pymemgpt embedding provider (character-trigram sketches, offline)."""
