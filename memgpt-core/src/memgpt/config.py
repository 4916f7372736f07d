"""The configuration file: ``$MEMGPT_HOME/config`` (INI, like the original MemGPT).

Sections::

    [defaults]          preset, persona, human
    [model]             model_endpoint_type, model_endpoint, model, context_window
    [embedding]         embedding_endpoint_type, embedding_endpoint, embedding_model,
                        embedding_dim, embedding_chunk_size
    [archival_storage]  type = <backend>, then that backend's settings
    [recall_storage]    type = <backend>, then that backend's settings
    [client]            anon_clientid (the default user id)
    [version]           memgpt_version

The file is written atomically and readable by its owner only, because a
backend setting (a Postgres URI) may hold a password. Sections and keys memgpt
does not know are kept as they are.
"""

from __future__ import annotations

import configparser
import os
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from memgpt._version import __version__
from memgpt.errors import ConfigError
from memgpt.kinds import CONFIGURED_ROLES
from memgpt.paths import config_path, memgpt_home

if TYPE_CHECKING:
    from memgpt.embeddings.provider import EmbeddingConfig

STORAGE_ROLES: tuple[str, ...] = tuple(role.value for role in CONFIGURED_ROLES)
"""The storage sections of the file: ``[archival_storage]`` and ``[recall_storage]``."""


def default_user_id() -> str:
    """The user id of a home without a config file: stable for that ``MEMGPT_HOME``.

    Stable, so that data written before ``memgpt configure`` stays visible after
    it (configure keeps it); derived from the home, so separate installations
    sharing one database server stay apart.
    """
    return uuid.uuid5(uuid.NAMESPACE_URL, f"memgpt-home:{memgpt_home()}").hex


@dataclass
class StorageConfig:
    """Which backend holds one role, and that backend's saved settings."""

    type: str = "local"
    settings: dict[str, str] = field(default_factory=dict)


# (section, key, attribute) for every plain value of MemGPTConfig
_PLAIN_KEYS: tuple[tuple[str, str, str], ...] = (
    ("defaults", "preset", "preset"),
    ("defaults", "persona", "persona"),
    ("defaults", "human", "human"),
    ("model", "model_endpoint_type", "model_endpoint_type"),
    ("model", "model_endpoint", "model_endpoint"),
    ("model", "model", "model"),
    ("model", "context_window", "context_window"),
    ("embedding", "embedding_endpoint_type", "embedding_endpoint_type"),
    ("embedding", "embedding_endpoint", "embedding_endpoint"),
    ("embedding", "embedding_model", "embedding_model"),
    ("embedding", "embedding_dim", "embedding_dim"),
    ("embedding", "embedding_chunk_size", "embedding_chunk_size"),
    ("client", "anon_clientid", "anon_clientid"),
)


@dataclass
class MemGPTConfig:
    """Everything ``memgpt configure`` asks, as saved in the config file."""

    preset: str = "memgpt_chat"
    persona: str = "sam_pov"
    human: str = "cs_phd"
    model_endpoint_type: str = "openai"
    model_endpoint: str = "https://api.openai.com/v1"
    model: str = "gpt-4"
    context_window: int = 8192
    embedding_endpoint_type: str = "hashing"
    embedding_endpoint: str = ""
    embedding_model: str = "lexical-hash-384"
    embedding_dim: int = 384
    embedding_chunk_size: int = 300
    archival_storage: StorageConfig = field(default_factory=StorageConfig)
    recall_storage: StorageConfig = field(default_factory=StorageConfig)
    anon_clientid: str = field(default_factory=lambda: default_user_id())
    path: Path | None = field(default=None, compare=False)
    _extra: configparser.ConfigParser | None = field(default=None, compare=False, repr=False)

    def storage(self, role: str) -> StorageConfig:
        """The storage configuration of ``archival`` or ``recall``."""
        if role not in STORAGE_ROLES:
            raise ValueError(f"unknown storage role {role!r}")
        return self.archival_storage if role == "archival" else self.recall_storage

    def embedding(self) -> EmbeddingConfig:
        """The ``[embedding]`` section as an :class:`~memgpt.embeddings.EmbeddingConfig`."""
        from memgpt.embeddings.provider import EmbeddingConfig

        return EmbeddingConfig(
            provider=self.embedding_endpoint_type,
            model=self.embedding_model,
            dim=int(self.embedding_dim),
            endpoint=self.embedding_endpoint,
            chunk_size=int(self.embedding_chunk_size),
        )

    def llm(self) -> dict[str, object]:
        """The ``[model]`` section, as agents record it."""
        return {
            "model_endpoint_type": self.model_endpoint_type,
            "model_endpoint": self.model_endpoint,
            "model": self.model,
            "context_window": self.context_window,
        }

    @property
    def user_id(self) -> str:
        """The default user that records are written for."""
        return self.anon_clientid

    # -- reading ----------------------------------------------------------------------
    @classmethod
    def fresh(cls, path: Path | None = None) -> MemGPTConfig:
        """The defaults of a new home: embeddings from the preferred installed provider (``local`` when installed)."""
        from memgpt.embeddings.installed import preferred_provider

        config = cls(path=path)
        try:
            provider = preferred_provider()
            config.embedding_endpoint_type = provider.name
            config.embedding_model = provider.default_model
            config.embedding_dim = provider.dimension(provider.default_model)
            config.embedding_endpoint = provider.default_endpoint or ""
        except Exception:  # a broken plugin must not stop the defaults: keep the built-in hashing embedder
            config = cls(path=path)
        return config

    @classmethod
    def exists(cls, path: Path | None = None) -> bool:
        return (path or config_path()).is_file()

    @classmethod
    def load(cls, path: Path | None = None) -> MemGPTConfig:
        """Read the config file; a missing file gives the defaults (not saved)."""
        path = path or config_path()
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except FileNotFoundError:
            return cls.fresh(path)
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}; fix it or run memgpt configure") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        config = cls(path=path, _extra=parser)
        types = {f.name: f.type for f in fields(cls)}
        for section, key, attr in _PLAIN_KEYS:
            if parser.has_option(section, key):
                raw = parser.get(section, key)
                if types[attr] in ("int", int):
                    try:
                        setattr(config, attr, int(raw))
                    except ValueError:
                        raise ConfigError(f"{path}: [{section}] {key} must be an integer, got {raw!r}") from None
                else:
                    setattr(config, attr, raw)
        for role in STORAGE_ROLES:
            section = f"{role}_storage"
            if parser.has_section(section):
                values = dict(parser.items(section))
                storage_type = values.pop("type", "local") or "local"
                setattr(config, f"{role}_storage", StorageConfig(storage_type, values))
        return config

    @classmethod
    def recover(cls, path: Path | None = None) -> tuple[MemGPTConfig, Path | None]:
        """What can still be read of a damaged config file, and where the damaged file was moved (``None``: not moved).

        Each readable ``key = value`` line under its ``[section]`` is kept
        (above all the user id, without which a user's memories would seem
        gone); the rest takes its default. The damaged file is kept beside the
        new one as ``config.broken-<time>``.
        """
        import re
        import time

        path = path or config_path()
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return cls(path=path), None
        salvaged: dict[str, dict[str, str]] = {}
        section = None
        for line in text.splitlines():
            header = re.match(r"\s*\[([A-Za-z_]+)\]?\s*$", line)
            if header:
                section = header.group(1)
                continue
            pair = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.*?)\s*$", line)
            if pair and section and "\ufffd" not in pair.group(2):
                salvaged.setdefault(section, {})[pair.group(1).lower()] = pair.group(2)
        backup = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, backup)
            os.chmod(backup, 0o600)
        except OSError:
            backup = None
        clean = configparser.ConfigParser(interpolation=None)
        clean.read_dict(salvaged)
        config = cls(path=path)
        for section_name, key, attr in _PLAIN_KEYS:
            if clean.has_option(section_name, key):
                value = clean.get(section_name, key)
                if isinstance(getattr(config, attr), int):
                    if not value.strip().isdigit():
                        continue
                    value = int(value)  # type: ignore[assignment]
                setattr(config, attr, value)
        for role in STORAGE_ROLES:
            if clean.has_section(f"{role}_storage"):
                values = dict(clean.items(f"{role}_storage"))
                setattr(config, f"{role}_storage", StorageConfig(values.pop("type", "local") or "local", values))
        return config, backup

    # -- writing ----------------------------------------------------------------------
    def to_parser(self) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(interpolation=None)
        if self._extra is not None:
            parser.read_dict(self._extra)
        for section, key, attr in _PLAIN_KEYS:
            if not parser.has_section(section):
                parser.add_section(section)
            parser.set(section, key, str(getattr(self, attr)))
        for role in STORAGE_ROLES:
            section = f"{role}_storage"
            if parser.has_section(section):
                parser.remove_section(section)
            parser.add_section(section)
            storage = self.storage(role)
            parser.set(section, "type", storage.type)
            for key, value in storage.settings.items():
                parser.set(section, key, str(value))
        if not parser.has_section("version"):
            parser.add_section("version")
        parser.set("version", "memgpt_version", __version__)
        return parser

    def save(self, path: Path | None = None) -> Path:
        """Write the file atomically, readable by its owner only (mode 0600)."""
        from io import StringIO

        from memgpt.files import describe_os_error, write_private

        path = path or self.path or config_path()
        text = StringIO()
        self.to_parser().write(text)
        try:
            write_private(path, text.getvalue())
        except OSError as exc:
            raise ConfigError(f"cannot write the config file {path}: {describe_os_error(exc)}") from None
        self.path = path
        return path
