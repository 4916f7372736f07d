"""Plugins are found through entry points, one at a time; broken ones are reported, not fatal."""

from __future__ import annotations

import json

import pytest

from helpers import BROKEN_PLUGIN_SOURCE, TEST_BACKEND_SOURCE, run_cli
from memgpt import hookimpl, plugins
from memgpt.errors import BackendNotInstalled, UnknownBackend
from memgpt.kinds import RecordKind
from memgpt.storage.backend import Backend


def test_only_local_is_built_in() -> None:
    assert list(plugins.backends()) == ["local"]
    info = plugins.backends()["local"]
    assert info.distribution == "memgpt-core"
    assert info.item.kinds == frozenset(RecordKind)


def test_entry_point_backend_is_discovered(fake_distribution, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    monkeypatch.delenv("MEMGPT_LOAD_PLUGINS")
    found = plugins.backends()
    assert list(found) == ["local", "testdb"]
    assert found["testdb"].distribution == "memgpt-backend-testdb"
    assert found["testdb"].version == "1.2.3"


def test_load_plugins_variable_limits_what_loads(fake_distribution, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    monkeypatch.setenv("MEMGPT_LOAD_PLUGINS", "some-other-plugin")
    assert list(plugins.backends()) == ["local"]
    plugins.reset()
    monkeypatch.setenv("MEMGPT_LOAD_PLUGINS", "memgpt-backend-testdb")
    assert list(plugins.backends()) == ["local", "testdb"]


def test_broken_plugin_is_reported_once_and_left_out(fake_distribution, monkeypatch, capsys) -> None:
    fake_distribution("memgpt-backend-broken", "0.0.1", "memgpt_broken", BROKEN_PLUGIN_SOURCE)
    fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    monkeypatch.delenv("MEMGPT_LOAD_PLUGINS")
    assert list(plugins.backends()) == ["local", "testdb"]
    plugins.backends()
    err = capsys.readouterr().err
    assert err.count("memgpt-backend-broken 0.0.1 failed to load") == 1
    assert "ModuleNotFoundError" in err and "memgpt-core" in err
    failed = [p for p in plugins.plugins() if p.error]
    assert [p.distribution for p in failed] == ["memgpt-backend-broken"]


def test_cli_works_with_a_broken_plugin(fake_distribution) -> None:
    site = fake_distribution("memgpt-backend-broken", "0.0.1", "memgpt_broken", BROKEN_PLUGIN_SOURCE)
    fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    env = {"PYTHONPATH": str(site), "MEMGPT_LOAD_PLUGINS": "memgpt-backend-broken,memgpt-backend-testdb"}
    result = run_cli("backends", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert [b["name"] for b in json.loads(result.stdout)] == ["local", "testdb"]
    assert "memgpt-backend-broken 0.0.1 failed to load" in result.stderr
    assert result.stderr.count("failed to load") == 1
    assert run_cli("--help", env=env).returncode == 0


def test_plugin_that_raises_in_its_hook_is_left_out(capsys) -> None:
    class Exploding:
        @hookimpl
        def register_backends(self, register):
            raise RuntimeError("boom")

    plugins.register(Exploding(), name="exploding")
    assert list(plugins.backends()) == ["local"]
    assert "failed in register_backends" in capsys.readouterr().err


def test_duplicate_backend_names_keep_the_first(capsys) -> None:
    from memgpt.default_plugins.local_backend import LocalBackend

    class Impostor:
        @hookimpl
        def register_backends(self, register):
            register(LocalBackend())

    plugins.register(Impostor(), name="impostor")
    assert plugins.backends()["local"].plugin == "memgpt.default_plugins.local_backend"
    assert "is ignored" in capsys.readouterr().err


def test_hook_register_backends() -> None:
    """A plugin registered at run time (pm.register) adds its backends; unregistering removes them."""

    class Dummy(Backend):
        name = "dummy"
        label = "Dummy"
        kinds = frozenset({RecordKind.RECALL})

        def settings_from_uri(self, uri):
            return {}

        def open(self, settings):
            raise NotImplementedError

    class Plugin:
        @hookimpl
        def register_backends(self, register):
            register(Dummy())

    plugins.register(Plugin(), name="dummy-plugin")
    assert plugins.get_backend("dummy").label == "Dummy"
    plugins.unregister("dummy-plugin")
    with pytest.raises(UnknownBackend):
        plugins.get_backend("dummy")


def test_first_party_backend_not_installed_names_the_pip_command() -> None:
    with pytest.raises(BackendNotInstalled, match=r"pip install 'pymemgpt\[milvus\]'"):
        plugins.get_backend("milvus")
    with pytest.raises(UnknownBackend, match="no storage backend named 'nosuch'"):
        plugins.get_backend("nosuch")


def test_plugins_command_lists_hooks(fake_distribution) -> None:
    site = fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    result = run_cli("plugins", "--json", env={"PYTHONPATH": str(site), "MEMGPT_LOAD_PLUGINS": "memgpt-backend-testdb"})
    rows = json.loads(result.stdout)
    assert [r["hooks"] for r in rows if r["distribution"] == "memgpt-backend-testdb"] == [["register_backends"]]
    core_hooks = {hook for r in rows if r["distribution"] == "memgpt-core" for hook in r["hooks"]}
    assert core_hooks == {"register_backends", "register_embedding_providers", "register_llm_providers", "register_readers"}


def test_importing_the_cli_loads_no_backend_and_no_numpy() -> None:
    import subprocess
    import sys

    code = "import memgpt.cli, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'sqlite3', 'questionary', 'usearch', 'memgpt')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)
    assert not any(m.startswith(("numpy", "sqlite3", "questionary", "usearch")) for m in loaded), loaded
    assert "memgpt.local.store" not in loaded and "memgpt.plugins" not in loaded


@pytest.mark.parametrize(
    "module", ["memgpt.default_plugins.readers", "memgpt.default_plugins.embeddings", "memgpt.default_plugins.local_backend"]
)
def test_the_built_in_plugins_load_without_numpy(module: str) -> None:
    """Loading plugins (memgpt backends, configure) must stay cheap: numpy is imported by what runs, not by what registers."""
    from memgpt.testing import heavy_imports

    assert heavy_imports(module, ["numpy"]) == []


GREEDY_PROVIDER_SOURCE = """
from memgpt.plugin import EmbeddingProvider, EmbeddingUnavailable, hookimpl

class Greedy(EmbeddingProvider):
    name = "greedy"
    label = "ranks first, never answers"
    models = {"m": 8}
    default_model = "m"
    default_priority = 1000

    def embedder(self, config):
        raise EmbeddingUnavailable("greedy never answers")

@hookimpl
def register_embedding_providers(register):
    register(Greedy())
"""


def test_the_cli_round_trip_holds_whatever_else_is_installed(fake_distribution, tmp_path) -> None:
    """A backend package's end-to-end check is not disturbed by other plugins: a broken one reporting on stderr,
    and an embedding provider that ranks first but never answers."""
    from memgpt import testing

    fake_distribution("memgpt-backend-broken", "0.0.1", "memgpt_broken", BROKEN_PLUGIN_SOURCE)
    site = fake_distribution("memgpt-embeddings-greedy", "0.0.1", "memgpt_greedy", GREEDY_PROVIDER_SOURCE)
    env = {"PYTHONPATH": str(site)}
    listing = testing.run_cli("backends", home=tmp_path, env=env)  # every installed plugin loads
    assert "memgpt-backend-broken" in listing.stderr and "greedy (the default of a new home)" in listing.stdout
    testing.cli_round_trip(tmp_path, "local", env=env)


COMMANDS_PLUGIN_SOURCE = """
import click

from memgpt.plugin import MemGPTError, hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.option("--name", default="world")
    def hello(name):
        '''Say hello (a plugin's command).'''
        click.echo(f"hello, {name}")

    @cli.command()
    def fails():
        '''Fail the way memgpt commands fail.'''
        raise MemGPTError("the plugin's command failed on purpose")

    @cli.command("configure")
    def hijack():
        '''Try to replace a built-in command.'''
        click.echo("hijacked")
"""


def test_hook_register_commands(fake_distribution, tmp_path) -> None:
    """A plugin's commands run like built-in ones and show in --help; it cannot replace a built-in command."""
    from memgpt import testing

    site = fake_distribution("memgpt-commands-example", "0.1.0", "memgpt_commands_example", COMMANDS_PLUGIN_SOURCE)
    env = {"PYTHONPATH": str(site)}
    said = testing.run_cli("hello", "--name", "Ada", home=tmp_path, env=env)
    assert (said.returncode, said.stdout) == (0, "hello, Ada\n")
    assert said.stderr.startswith("memgpt: command 'configure' from memgpt-commands-example") and "ignored" in said.stderr
    listing = testing.run_cli("--help", home=tmp_path, env=env)
    assert "hello" in listing.stdout and "Say hello" in listing.stdout and "Try to replace" not in listing.stdout
    failed = testing.run_cli("fails", home=tmp_path, env=env)
    assert (failed.returncode, failed.stderr.splitlines()[-1]) == (1, "Error: the plugin's command failed on purpose")
    configure = testing.run_cli("configure", "--help", home=tmp_path, env=env)
    assert "hijacked" not in configure.stdout and "--archival-storage" in configure.stdout
    unknown = testing.run_cli("no-such-command", home=tmp_path, env=env)
    assert unknown.returncode == 2 and "No such command" in unknown.stderr
