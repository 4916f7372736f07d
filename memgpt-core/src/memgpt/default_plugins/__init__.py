"""Plugins that ship with memgpt-core, registered exactly like third-party ones."""
