"""What memgpt imports at start-up: the backend's declaration and the hook. Keep it light.

Import your engine's client inside ``open`` (here: the store module), never at
the top of this file, so ``memgpt --help`` stays fast with your plugin installed.
"""

from __future__ import annotations

from collections.abc import Callable

from memgpt.plugin import Backend, ConfigError, Question, RecordKind, Settings, Store, expand_home, hookimpl, memgpt_home


class ExampleBackend(Backend):
    """JSON files in a folder: one per table."""

    name = "example"
    label = "Example backend: JSON files in a folder (a template for third parties)"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})
    questions = (Question("path", "Enter the example store folder:", default=lambda answers: str(memgpt_home() / "example")),)
    uri_help = "a folder path (default $MEMGPT_HOME/example)"

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        if "://" in uri:
            raise ConfigError(f"the example backend takes a folder path, not {uri!r}")
        return {"path": uri.strip() or str(memgpt_home() / "example")}

    def describe(self, settings: Settings) -> str:
        return str(expand_home(settings.get("path") or str(memgpt_home() / "example")))

    def open(self, settings: Settings) -> Store:
        from memgpt_backend_example.store import ExampleStore

        return ExampleStore(expand_home(self.describe(settings)))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(ExampleBackend())
