"""The config file: INI like the original, atomic, private, forgiving of what it does not know."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from memgpt import paths
from memgpt.config import MemGPTConfig, StorageConfig
from memgpt.environment import getenv, parse_env_file
from memgpt.errors import ConfigError
from memgpt.paths import config_path, expand_home


def test_paths_follow_memgpt_home(memgpt_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert paths.memgpt_home() == memgpt_home
    assert config_path() == memgpt_home / "config"
    assert expand_home("~/.memgpt/milvus.db") == memgpt_home / "milvus.db"
    assert expand_home("~/.memgpt") == memgpt_home
    monkeypatch.setenv("MEMGPT_CONFIG_PATH", str(tmp_path / "c.ini"))
    assert config_path() == tmp_path / "c.ini"


def test_missing_file_gives_defaults_and_writes_nothing(memgpt_home: Path) -> None:
    config = MemGPTConfig.load()
    assert config.archival_storage == StorageConfig("local", {})
    assert not MemGPTConfig.exists()
    assert not memgpt_home.exists()


def test_round_trip_keeps_values_and_unknown_sections(memgpt_home: Path) -> None:
    config = MemGPTConfig.load()
    config.archival_storage = StorageConfig("postgres", {"uri": "postgresql+pg8000://u:pw@h:1/db"})
    config.embedding_dim = 1536
    path = config.save()
    path.write_text(path.read_text() + "\n[future_section]\nsomething = kept\n")
    loaded = MemGPTConfig.load()
    assert loaded.archival_storage == config.archival_storage
    assert loaded.embedding_dim == 1536 and loaded.anon_clientid == config.anon_clientid
    loaded.save()
    assert "[future_section]" in path.read_text() and "something = kept" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config"]  # no temp file left behind


def test_malformed_file_is_a_one_line_error(memgpt_home: Path) -> None:
    memgpt_home.mkdir(parents=True)
    (memgpt_home / "config").write_text("this is not [ini\n= nope")
    with pytest.raises(ConfigError, match="cannot read config file") as raised:
        MemGPTConfig.load()
    assert "\n" not in str(raised.value)
    (memgpt_home / "config").write_text("[embedding]\nembedding_dim = wide\n")
    with pytest.raises(ConfigError, match="embedding_dim must be an integer"):
        MemGPTConfig.load()


def test_env_file_parsing() -> None:
    text = """
    # comment
    export MEMGPT_PGURI=postgresql+pg8000://memgpt:memgpt@localhost:8888/memgpt
    QUOTED="value with # hash"
    SINGLE='x'
    TRAILING=plain # comment
    EMPTY=
    not a line
    """
    values = parse_env_file(text)
    assert values == {
        "MEMGPT_PGURI": "postgresql+pg8000://memgpt:memgpt@localhost:8888/memgpt",
        "QUOTED": "value with # hash",
        "SINGLE": "x",
        "TRAILING": "plain",
        "EMPTY": "",
    }


def test_getenv_prefers_the_process_then_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEMGPT_TEST_VALUE", raising=False)
    assert getenv("MEMGPT_TEST_VALUE", "fallback") == "fallback"
    (tmp_path / ".env").write_text("MEMGPT_TEST_VALUE=from-file\n")
    assert getenv("MEMGPT_TEST_VALUE") == "from-file"
    monkeypatch.setenv("MEMGPT_TEST_VALUE", "from-env")
    assert getenv("MEMGPT_TEST_VALUE") == "from-env"
    monkeypatch.setenv("MEMGPT_TEST_VALUE", "")
    assert getenv("MEMGPT_TEST_VALUE") == "from-file"


def test_user_id_is_stable_before_and_after_configure(memgpt_home: Path) -> None:
    before = MemGPTConfig.load().user_id
    assert MemGPTConfig.load().user_id == before
    MemGPTConfig.load().save()
    assert MemGPTConfig.load().user_id == before
