"""Finding plugins: default plugins, ``memgpt`` entry points, and what they register.

Every entry point in the ``memgpt`` group is loaded on its own. One that fails
to import is reported once on stderr, with its distribution and version, and
left out; the CLI keeps working. ``MEMGPT_LOAD_PLUGINS`` limits which
distributions load (comma-separated names; empty means none), which is how
tests and debugging sessions keep the machine's other plugins out.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from memgpt import entry_point_cache, hookspecs
from memgpt._version import __version__
from memgpt.distributions import backend_names, install_hint
from memgpt.errors import BackendNotInstalled, PluginError, UnknownBackend

ENTRY_POINT_GROUP = "memgpt"
LOAD_PLUGINS_ENV = "MEMGPT_LOAD_PLUGINS"
CORE_DISTRIBUTION = "memgpt-core"

DEFAULT_PLUGINS = (
    "memgpt.default_plugins.local_backend",
    "memgpt.default_plugins.embeddings",
    "memgpt.default_plugins.readers",
    "memgpt.default_plugins.llm",
)

FIRST_PARTY_BACKENDS = backend_names()
"""Backends published from this repository (see :mod:`memgpt.distributions`)."""


@dataclass
class PluginInfo:
    """A loaded (or failed) plugin, as ``memgpt plugins`` shows it."""

    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Registered:
    """Something a plugin registered (a backend, an embedding provider, a reader) and where it came from."""

    item: Any
    plugin: str
    distribution: str
    version: str

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def backend(self) -> Any:
        """Deprecated: :attr:`item` (the backend, provider or reader registered); goes away in memgpt 0.7."""
        from memgpt.deprecation import warn_renamed

        warn_renamed("Registered.backend", "Registered.item")
        return self.item


_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_plugins: dict[str, PluginInfo] = {}
_reported: set[str] = set()


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _allowed() -> set[str] | None:
    value = os.environ.get(LOAD_PLUGINS_ENV)
    if value is None:
        return None
    return {_normalize(v) for v in value.split(",") if v.strip()}


def _report(key: str, message: str) -> None:
    if key not in _reported:
        _reported.add(key)
        print(f"memgpt: {message}", file=sys.stderr)


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed = _allowed()
    if allowed is not None and not allowed:
        return  # MEMGPT_LOAD_PLUGINS set empty: no entry point loads, so none needs finding
    seen: set[tuple[str, str]] = set()
    for ep in entry_point_cache.entry_points(ENTRY_POINT_GROUP):
        dist_name, version = ep.distribution, ep.version
        key = (_normalize(dist_name), ep.name)
        if key in seen:  # editable installs can expose one distribution twice
            continue
        seen.add(key)
        if allowed is not None and _normalize(dist_name) not in allowed and _normalize(ep.name) not in allowed:
            continue
        plugin_name = f"{dist_name}:{ep.name}"
        try:
            module = ep.load()
            pm.register(module, name=plugin_name)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            _plugins[plugin_name] = PluginInfo(plugin_name, dist_name, version, error=error)
            _report(
                plugin_name,
                f"plugin {dist_name} {version} failed to load and is left out ({error}); "
                f"check that it is compatible with memgpt-core {__version__}",
            )
            continue
        _plugins[plugin_name] = PluginInfo(plugin_name, dist_name, version)


def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, created (and entry points loaded) on first use."""
    global _pm
    with _lock:
        if _pm is None:
            pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
            pm.add_hookspecs(hookspecs)
            for module_name in DEFAULT_PLUGINS:
                pm.register(importlib.import_module(module_name), name=module_name)
                _plugins[module_name] = PluginInfo(module_name, CORE_DISTRIBUTION, __version__)
            _load_entry_points(pm)
            _pm = pm
        return _pm


def reset() -> None:
    """Forget loaded plugins (tests use it to start from a clean slate)."""
    global _pm
    with _lock:
        _pm = None
        _plugins.clear()
        _reported.clear()


def register(plugin: object, name: str, distribution: str = "(registered at run time)", version: str = "") -> None:
    """Register a plugin object directly, as tests and embedding applications do."""
    pm = plugin_manager()
    pm.register(plugin, name=name)
    _plugins[name] = PluginInfo(name, distribution, version)


def unregister(name: str) -> None:
    pm = plugin_manager()
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin, name=name)
    _plugins.pop(name, None)


def plugins() -> list[PluginInfo]:
    """Every plugin that loaded or failed, with the hooks it implements."""
    pm = plugin_manager()
    out = []
    for name, info in _plugins.items():
        plugin = pm.get_plugin(name)
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or []) if plugin is not None else []
        out.append(PluginInfo(info.name, info.distribution, info.version, hooks, info.error))
    return out


def _call_each(hook_name: str, make_register: Callable[[str], Any], argument: str = "register") -> None:
    """Call one hook on every plugin separately, so one broken plugin cannot hide the others.

    Each plugin's call gets ``argument=make_register(plugin_name)``.
    """
    pm = plugin_manager()
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():
        kwargs = {argument: make_register(impl.plugin_name)}
        try:
            impl.function(*[kwargs[arg] for arg in impl.argnames])
        except Exception as exc:
            info = _plugins.get(impl.plugin_name)
            dist = f"{info.distribution} {info.version}".strip() if info else impl.plugin_name
            _report(
                f"{impl.plugin_name}:{hook_name}",
                f"plugin {dist} failed in {hook_name} and is left out ({type(exc).__name__}: {exc})",
            )


def _collect(hook_name: str, base: type, what: str) -> dict[str, Registered]:
    """Everything registered through ``hook_name``, by name, in registration order (built-ins first)."""
    found: dict[str, Registered] = {}

    def make_register(plugin_name: str) -> Callable[[Any], None]:
        info = _plugins.get(plugin_name)

        def register(item: Any) -> None:
            if not isinstance(item, base):
                raise PluginError(
                    f"register() in {hook_name} takes a {base.__module__}.{base.__name__}, got {type(item).__name__}"
                )
            name = getattr(item, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"{type(item).__name__} has no name")
            if name in found:
                _report(
                    f"duplicate:{hook_name}:{name}:{plugin_name}",
                    f"{what} {name!r} from {plugin_name} is ignored: {found[name].plugin} registered it first",
                )
                return
            found[name] = Registered(item, plugin_name, info.distribution if info else plugin_name, info.version if info else "")

        return register

    _call_each(hook_name, make_register)
    return found


def backends() -> dict[str, Registered]:
    """Every registered storage backend by name (``local`` first)."""
    from memgpt.storage.backend import Backend

    return _collect("register_backends", Backend, "backend")


def embedding_providers() -> dict[str, Registered]:
    """Every registered embedding provider by name (``hashing`` first)."""
    from memgpt.embeddings.provider import EmbeddingProvider

    return _collect("register_embedding_providers", EmbeddingProvider, "embedding provider")


def readers() -> dict[str, Registered]:
    """Every registered document reader by name."""
    from memgpt.sources.readers import Reader

    return _collect("register_readers", Reader, "reader")


def llm_providers() -> dict[str, Registered]:
    """Every registered LLM provider by name (the built-in OpenAI-compatible ones first)."""
    from memgpt.llm.provider import LLMProvider

    return _collect("register_llm_providers", LLMProvider, "LLM provider")


def get_llm_provider(name: str) -> Any:
    """The installed LLM provider called ``name``; a clear error if there is none."""
    return _installed(llm_providers(), name, "LLM provider")


def _installed(available: dict[str, Registered], name: str, what: str) -> Any:
    """The item registered as ``name``, or a one-line error listing what is installed."""
    if name in available:
        return available[name].item
    raise UnknownBackend(
        f"no {what} named {name!r} is installed (installed: {', '.join(available) or 'none'}); run memgpt configure"
    )


def add_commands(cli: Any) -> list[str]:
    """Add the commands plugins register (``register_commands``) to the click group ``cli``; return their names.

    Each plugin adds to a group of its own, then its commands are copied over:
    a plugin that fails is reported and left out, and a command whose name is
    taken (a built-in, or an earlier plugin's) is reported and ignored.
    """
    import click

    added: list[str] = []
    collectors: list[tuple[str, click.Group]] = []

    def make_group(plugin_name: str) -> click.Group:
        group = click.Group(name=cli.name)
        collectors.append((plugin_name, group))
        return group

    _call_each("register_commands", make_group, argument="cli")
    for plugin_name, group in collectors:
        for name, command in group.commands.items():
            if name in cli.commands:
                _report(
                    f"duplicate:register_commands:{name}:{plugin_name}",
                    f"command {name!r} from {plugin_name} is ignored: memgpt already has a command of that name",
                )
                continue
            cli.add_command(command, name)
            added.append(name)
    return added


def get_embedding_provider(name: str) -> Any:
    """The installed embedding provider called ``name``; a clear error if there is none."""
    return _installed(embedding_providers(), name, "embedding provider")


def get_backend(name: str) -> Any:
    """The installed backend called ``name``; a clear error if there is none."""
    available = backends()
    info = available.get(name)
    if info is not None:
        return info.item
    installed = ", ".join(available) or "none"
    if name in FIRST_PARTY_BACKENDS:
        raise BackendNotInstalled(
            f"storage backend {name!r} is not installed; install it with: {install_hint(name)} (installed: {installed})"
        )
    raise UnknownBackend(f"no storage backend named {name!r} is installed (installed: {installed})")
