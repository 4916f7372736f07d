"""`memgpt configure`: the seed's questions, flags for scripts, and only installed backends."""

from __future__ import annotations

import configparser
import os
import stat
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from helpers import TEST_BACKEND_SOURCE, run_cli
from memgpt import plugins
from memgpt.cli import main
from memgpt.config import MemGPTConfig
from memgpt.configure_questions import DefaultsAsker, TerminalAsker, run_configure
from memgpt.errors import ConfigError

DOWN, ENTER = "\x1b[B", "\r"


@pytest.fixture
def testdb() -> types.ModuleType:
    """The third-party test backend, registered without touching the core."""
    module = types.ModuleType("memgpt_testdb")
    exec(TEST_BACKEND_SOURCE, module.__dict__)
    plugins.register(module, name="memgpt-backend-testdb", distribution="memgpt-backend-testdb", version="1.2.3")
    return module


class ScriptedTerminal(TerminalAsker):
    """The real questionary prompts, fed keystrokes per question; records what was asked."""

    def __init__(self, keys: dict[str, str]) -> None:
        super().__init__()
        self.keys = keys
        self.asked: list[tuple[str, str | None, list[str] | None]] = []

    def ask(self, question, default, choices, check=None):
        self.asked.append((question.prompt, default, choices))
        keys = next((v for k, v in self.keys.items() if k in question.prompt), ENTER)
        with create_pipe_input() as pipe:
            pipe.send_text(keys)
            self.prompt_kwargs = {"input": pipe, "output": DummyOutput()}
            return super().ask(question, default, choices, check)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_defaults_write_a_config_under_memgpt_home(memgpt_home: Path) -> None:
    result = invoke("configure", "--defaults")
    assert result.exit_code == 0, result.output
    path = memgpt_home / "config"
    assert f"Saved config to {path}" in result.output
    parser = configparser.ConfigParser()
    parser.read(path)
    assert parser["archival_storage"]["type"] == "local"
    assert parser["recall_storage"]["type"] == "local"
    assert parser["defaults"]["persona"] == "sam_pov"
    assert parser["model"]["model"] == "gpt-4"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_config_path_variable_moves_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere" / "memgpt.ini"
    monkeypatch.setenv("MEMGPT_CONFIG_PATH", str(target))
    assert invoke("configure", "--defaults", "--model", "gpt-4o").exit_code == 0
    assert MemGPTConfig.load(target).model == "gpt-4o"


def test_flags_answer_their_questions(memgpt_home: Path, tmp_path: Path) -> None:
    store = tmp_path / "my store"
    result = invoke(
        "configure",
        "--defaults",
        "--model-endpoint-type",
        "ollama",
        "--model",
        "llama3",
        "--embedding-provider",
        "openai",
        "--embedding-model",
        "text-embedding-3-large",
        "--embedding-dim",
        "3072",
        "--preset",
        "p",
        "--persona",
        "q",
        "--human",
        "r",
        "--archival-uri",
        str(store),
        "--recall-storage",
        "local",
    )
    assert result.exit_code == 0, result.output
    config = MemGPTConfig.load()
    assert (config.model_endpoint_type, config.model_endpoint, config.model) == ("ollama", "http://localhost:11434/v1", "llama3")
    assert (config.embedding_endpoint_type, config.embedding_model, config.embedding_dim) == (
        "openai",
        "text-embedding-3-large",
        3072,
    )
    assert config.embedding_endpoint == "https://api.openai.com/v1"
    assert (config.preset, config.persona, config.human) == ("p", "q", "r")
    assert config.archival_storage.settings == {"path": str(store)}
    assert f"archival storage: local ({store})" in result.output


def test_second_run_keeps_earlier_answers(memgpt_home: Path) -> None:
    invoke("configure", "--defaults", "--model", "my-model", "--persona", "me")
    first = MemGPTConfig.load()
    invoke("configure", "--defaults", "--human", "you")
    second = MemGPTConfig.load()
    assert (second.model, second.persona, second.human) == ("my-model", "me", "you")
    assert second.anon_clientid == first.anon_clientid


def test_backend_that_is_not_installed_names_the_pip_command(memgpt_home: Path) -> None:
    result = run_cli("configure", "--archival-storage", "qdrant")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Error: storage backend 'qdrant' is not installed; install it with: pip install 'pymemgpt[qdrant]' (installed: local)"
    )
    assert not (memgpt_home / "config").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--archival-storage", "nosuch"], "no storage backend named 'nosuch' is installed"),
        (["--recall-storage", "postgres"], "pip install 'pymemgpt[postgres]'"),
        (["--archival-uri", "http://example.com:1234"], "local storage takes a folder path"),
        (["--model-endpoint-type", "nope"], "'nope' is not a valid answer"),
    ],
)
def test_bad_flags_fail_with_one_line_and_save_nothing(memgpt_home: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["configure", "--defaults", *args])
    assert result.exit_code == 1
    assert message in result.output and result.output.count("\n") == 1
    assert not (memgpt_home / "config").exists()


def test_without_a_terminal_it_asks_for_defaults(memgpt_home: Path) -> None:
    result = CliRunner().invoke(main, ["configure"], input="")
    assert result.exit_code == 1
    assert "pass --defaults" in result.output


def test_registered_backend_is_offered_and_its_questions_asked(testdb, memgpt_home: Path) -> None:
    terminal = ScriptedTerminal(
        {
            "storage backend for archival": DOWN + ENTER,
            "testdb password": "s3cret-pass" + ENTER,
        }
    )
    outcome = run_configure(MemGPTConfig.load(), existing=False, flags={}, asker=terminal)
    prompts = [p for p, _, _ in terminal.asked]
    assert prompts[:3] == [
        "Select LLM inference provider:",
        "Override default endpoint:",
        "Select default model (recommended: gpt-4):",
    ]
    choices = dict((p, c) for p, _, c in terminal.asked)
    assert choices["Select storage backend for archival data:"] == ["local", "testdb"]
    # testdb cannot hold recall memory, so it is not offered there
    assert choices["Select storage backend for recall data:"] == ["local"]
    assert outcome.config.archival_storage.type == "testdb"
    assert outcome.config.archival_storage.settings == {"path": "testdb-data", "password": "s3cret-pass"}
    assert outcome.config.recall_storage.type == "local"


def test_interactive_and_flag_paths_give_the_same_config(testdb, memgpt_home: Path) -> None:
    terminal = ScriptedTerminal({"storage backend for archival": DOWN + ENTER})
    asked = run_configure(MemGPTConfig.load(), False, {}, terminal).config
    flagged = run_configure(MemGPTConfig.load(), False, {"archival_storage": "testdb"}, DefaultsAsker()).config
    asked.anon_clientid = flagged.anon_clientid
    assert asked == flagged


def test_secrets_are_masked_in_the_summary(testdb, memgpt_home: Path) -> None:
    terminal = ScriptedTerminal({"storage backend for archival": DOWN + ENTER, "testdb password": "hunter22" + ENTER})
    outcome = run_configure(MemGPTConfig.load(), False, {}, terminal)
    outcome.config.save()
    result = invoke("storage", "status")
    assert "hunter22" not in result.output and "password=****" in result.output
    assert stat.S_IMODE((memgpt_home / "config").stat().st_mode) == 0o600


def test_switching_backends_warns_that_data_stays_behind(testdb, memgpt_home: Path) -> None:
    invoke("configure", "--defaults")
    result = CliRunner().invoke(main, ["configure", "--defaults", "--archival-storage", "testdb"])
    assert result.exit_code == 0
    text = result.output  # stdout and stderr, as the user sees them
    assert "archival storage changes from 'local' to 'testdb'" in text
    assert "stays there" in text


def test_environment_variable_overrides_a_saved_answer(testdb, memgpt_home: Path, tmp_path: Path, monkeypatch) -> None:
    from memgpt.kinds import Table
    from memgpt.storage import Where, open_storage

    invoke("configure", "--defaults", "--archival-storage", "testdb", "--archival-uri", str(tmp_path / "saved"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"TESTDB_PATH={tmp_path / 'from-dotenv'}\n")
    with open_storage() as storage:
        location = storage.location(Table.ARCHIVAL)
        assert location.settings["path"] == str(tmp_path / "from-dotenv")
        storage.collection(Table.ARCHIVAL, Where.everything()).count()
    monkeypatch.setenv("TESTDB_PATH", str(tmp_path / "from-env"))
    with open_storage() as storage:
        assert storage.location(Table.ARCHIVAL).settings["path"] == str(tmp_path / "from-env")


def test_cancelled_prompt_saves_nothing(memgpt_home: Path) -> None:
    class Cancelling(TerminalAsker):
        def ask(self, question, default, choices, check=None):
            with create_pipe_input() as pipe:
                pipe.send_text("\x03")  # Ctrl-C
                self.prompt_kwargs = {"input": pipe, "output": DummyOutput()}
                return super().ask(question, default, choices)

    with pytest.raises(ConfigError, match="cancelled"):
        run_configure(MemGPTConfig.load(), False, {}, Cancelling())
    assert not (memgpt_home / "config").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_configure_on_a_real_terminal(memgpt_home: Path) -> None:
    """The whole command on a pseudo-terminal, answering every question with its default."""
    import pty
    import select
    import subprocess
    import sys
    import time

    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm", COLUMNS="120", LINES="40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "memgpt", "configure"], stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    seen = b""
    deadline = time.time() + 60
    answered = 0
    try:
        while time.time() < deadline and proc.poll() is None:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break
            if seen.count(b"?") > answered:
                answered = seen.count(b"?")
                time.sleep(0.3)
                os.write(leader, b"\r")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    assert "Select storage backend for archival data" in text
    assert MemGPTConfig.load().archival_storage.type == "local"


def test_embedding_questions_offer_installed_providers(memgpt_home: Path) -> None:
    from memgpt.embeddings import EmbeddingProvider

    class Local(EmbeddingProvider):
        name = "localmodels"
        label = "A third party's provider"
        models = {"tiny-32": 32}
        default_model = "tiny-32"

        def embedder(self, config):
            raise NotImplementedError

    class Plugin:
        from memgpt import hookimpl

        @hookimpl
        def register_embedding_providers(self, register):
            register(Local())

    plugins.register(Plugin(), name="localmodels")
    terminal = ScriptedTerminal({"Select embedding provider": DOWN + DOWN + ENTER})
    config = run_configure(MemGPTConfig.load(), False, {}, terminal).config
    choices = {p: c for p, _, c in terminal.asked}
    assert choices["Select embedding provider:"] == ["hashing", "openai", "localmodels"]
    assert choices["Select embedding model:"] == ["tiny-32"]
    assert "Override default embedding endpoint:" not in choices  # this provider needs no endpoint
    assert (config.embedding_endpoint_type, config.embedding_model, config.embedding_dim) == ("localmodels", "tiny-32", 32)


def test_openai_compatible_embeddings_need_endpoint_model_and_dimension(memgpt_home: Path) -> None:
    terminal = ScriptedTerminal(
        {
            "Select embedding provider": DOWN + ENTER,
            "Select embedding model": "\x15nomic-embed-text" + ENTER,
            "dimension": "768" + ENTER,
        }
    )
    config = run_configure(MemGPTConfig.load(), False, {"embedding_endpoint": "http://localhost:11434/v1"}, terminal).config
    prompts = [p for p, _, _ in terminal.asked]
    assert "Override default embedding endpoint:" not in prompts  # answered by the flag
    assert "Enter the embedding model's dimension:" in prompts
    assert (config.embedding_endpoint, config.embedding_model, config.embedding_dim) == (
        "http://localhost:11434/v1",
        "nomic-embed-text",
        768,
    )
    flagged = run_configure(MemGPTConfig.load(), False, {"embedding_endpoint_type": "openai"}, DefaultsAsker()).config
    assert (flagged.embedding_model, flagged.embedding_dim, flagged.embedding_endpoint) == (
        "text-embedding-3-small",
        1536,
        "https://api.openai.com/v1",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--embedding-provider", "nope"], "'nope' is not a valid answer to 'Select embedding provider:'"),
        (["--embedding-provider", "openai", "--embedding-model", "my-model"], "needs a dimension"),
        (["--embedding-model", "word2vec"], "'word2vec' is not a valid answer to 'Select embedding model:'"),
        (
            ["--embedding-provider", "openai", "--embedding-model", "text-embedding-3-small", "--embedding-dim", "10"],
            "makes 1536-d vectors, not 10",
        ),
        (["--embedding-chunk-size", "0"], "chunk size must be at least 1"),
    ],
)
def test_bad_embedding_flags_are_one_line(memgpt_home: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["configure", "--defaults", *args])
    assert result.exit_code == 1 and message in result.output
    assert not (memgpt_home / "config").exists()


# -- configure validates as it asks -------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--context-window", "-5"], "the context window must be at least 1, got -5 (--context-window)"),
        (["--context-window", "0"], "the context window must be at least 1"),
        (["--embedding-chunk-size", "0"], "the chunk size must be at least 1"),
        (
            ["--embedding-provider", "openai", "--embedding-model", "nomic-embed-text", "--embedding-dim", "-3"],
            "the embedding dimension must be at least 1",
        ),
        (["--model-endpoint", "localhost:11434"], "is not a URL"),
        (["--model-endpoint-type", "vllm"], "give the name of the model the server serves (--model)"),
    ],
)
def test_invalid_answers_are_refused_in_one_line_and_nothing_is_saved(memgpt_home: Path, flags: list[str], says: str) -> None:
    result = CliRunner().invoke(main, ["configure", "--defaults", *flags])
    assert result.exit_code == 1 and says in result.output and "nothing was saved" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (memgpt_home / "config").exists()


def test_a_wrong_dimension_typed_at_the_prompt_is_asked_again(memgpt_home: Path) -> None:
    """The prompt shows why and asks again (here: 0 is refused, then 768 is typed over it)."""
    terminal = ScriptedTerminal(
        {
            "dimension": "0" + ENTER + "\x7f" + "768" + ENTER,  # first: "embedding model" is in this prompt too
            "embedding provider": DOWN + ENTER,  # hashing, openai: the open model list
            "embedding model": "\x7f" * 40 + "nomic-embed-text" + ENTER,
        }
    )
    config = run_configure(MemGPTConfig.load(), False, {}, terminal).config
    assert (config.embedding_endpoint_type, config.embedding_model, config.embedding_dim) == ("openai", "nomic-embed-text", 768)


def test_each_llm_provider_has_its_own_default_model(memgpt_home: Path) -> None:
    invoke("configure", "--defaults", "--model-endpoint-type", "ollama")
    config = MemGPTConfig.load()
    assert (config.model, config.model_endpoint) == ("llama3.1", "http://localhost:11434/v1")
    invoke("configure", "--defaults", "--model-endpoint-type", "openai")
    assert MemGPTConfig.load().model == "gpt-4"
    invoke("configure", "--defaults", "--model-endpoint-type", "vllm", "--model", "mistral-7b")
    assert MemGPTConfig.load().model == "mistral-7b"


def test_configure_says_where_api_keys_are_read_from(memgpt_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MEMGPT_EMBEDDING_API_KEY", raising=False)
    result = invoke("configure", "--defaults", "--embedding-provider", "openai")
    assert "LLM API key (openai): read from OPENAI_API_KEY (none is set now; never saved" in result.output
    assert "embedding API key (openai): read from MEMGPT_EMBEDDING_API_KEY or OPENAI_API_KEY" in result.output
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-printed")
    result = invoke("configure", "--defaults")
    assert "OPENAI_API_KEY is set" in result.output and "sk-not-printed" not in result.output


def test_backends_lists_each_uri_form_and_the_embedding_providers(memgpt_home: Path) -> None:
    result = invoke("backends")
    assert "local: a folder path or file:// URI (empty: $MEMGPT_HOME)" in result.output
    assert "Embedding providers" in result.output and "hashing (the default of a new home)" in result.output


def test_configure_choices_lists_every_choice_as_data_and_changes_nothing(memgpt_home: Path, testdb) -> None:
    """`memgpt configure --choices`: the machine-readable list of what configure offers, plugins' backends included."""
    import json

    result = invoke("configure", "--choices")
    assert result.exit_code == 0, result.output
    choices = json.loads(result.output)
    assert choices["storage"] == {"archival": ["local", "testdb"], "recall": ["local"]}
    testdb_entry = next(b for b in choices["backends"] if b["name"] == "testdb")
    assert testdb_entry["distribution"] == "memgpt-backend-testdb" and testdb_entry["roles"] == ["archival"]
    assert testdb_entry["uri"] == testdb.TestDBBackend.uri_help
    assert [q["key"] for q in testdb_entry["questions"]] == [q.key for q in testdb.TestDBBackend.questions]
    providers = {p["name"]: p for p in choices["embedding_providers"]}
    assert providers["hashing"]["models"] == {"lexical-hash-384": 384, "lexical-hash-1024": 1024}
    assert providers["openai"]["key_variables"] == ["MEMGPT_EMBEDDING_API_KEY", "OPENAI_API_KEY"]
    assert sum(p["default"] for p in providers.values()) == 1
    assert {p["name"] for p in choices["llm_providers"]} >= {"openai", "ollama"}
    assert not (memgpt_home / "config").exists()
    listed = json.loads(invoke("backends", "--json").output)
    assert [b["name"] for b in listed] == ["local", "testdb"] and listed[1] == testdb_entry
