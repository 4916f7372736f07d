"""The version every pymemgpt distribution carries (kept in this one place)."""

__version__ = "0.7.1"
