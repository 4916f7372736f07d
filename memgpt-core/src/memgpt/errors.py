"""Errors users see.

Every error raised on purpose by memgpt derives from :class:`MemGPTError`. Its
message is one line that says what went wrong and what to do about it, and it
never contains a secret: the CLI prints ``Error: <message>`` and exits non-zero.
Anything else escaping to the CLI is a bug and keeps its traceback.
"""

from __future__ import annotations


class MemGPTError(Exception):
    """Base class: a one-line, secret-free message meant for the user."""

    def __init__(self, message: str) -> None:
        # Collapse to one line: messages from drivers can span several.
        super().__init__(" ".join(str(message).split()))


class ConfigError(MemGPTError):
    """The configuration file or a configuration value is unusable."""


class UnknownBackend(MemGPTError):
    """No installed plugin registers a backend of that name."""


class BackendNotInstalled(UnknownBackend):
    """A first-party backend was asked for but its distribution is not installed."""


class PluginError(MemGPTError):
    """A plugin broke the plugin contract (for example registered a duplicate name)."""


class UnsupportedRecordKind(MemGPTError):
    """The backend does not declare the record kind that was asked of it."""


class UnsupportedOperation(MemGPTError):
    """The backend declares that it cannot perform this operation."""


class InvalidRecord(MemGPTError):
    """A record is malformed, or lies outside the scope it is written through."""


class InvalidName(InvalidRecord):
    """A source, agent or user name cannot be used (for example it would escape a folder)."""


class EmbeddingMismatch(MemGPTError):
    """A vector's dimension or model differs from the one its collection holds."""


class EmbeddingError(MemGPTError):
    """The embedding provider failed: refused credentials, unknown model, malformed answer."""


class EmbeddingUnavailable(EmbeddingError):
    """The embedding endpoint could not be reached, or kept failing after retries."""


class LLMError(MemGPTError):
    """The LLM server refused or did not understand a request: credentials, an unknown model, a malformed answer."""


class LLMUnavailable(LLMError):
    """The LLM server could not be reached, or kept failing after retries."""


class ScopeViolation(MemGPTError):
    """A backend returned a record outside the scope it was asked for (a backend bug)."""


class StorageError(MemGPTError):
    """The storage engine failed: unreachable, refused credentials, locked, corrupt..."""


class StorageUnavailable(StorageError):
    """The storage engine cannot be reached or refuses the connection."""


class StorageLocked(StorageError):
    """Another process holds the storage location exclusively."""


class NotFound(MemGPTError):
    """A named agent or data source does not exist."""


class AlreadyExists(MemGPTError):
    """A named agent or data source exists already."""
