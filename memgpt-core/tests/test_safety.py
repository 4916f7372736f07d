"""Names that escape folders are refused; secrets never reach the screen."""

from __future__ import annotations

import pytest

from memgpt.errors import InvalidName, MemGPTError
from memgpt.names import folder_name, name_from_folder, validate_name
from memgpt.secrets import mask_uri, mask_values, scrub, strip_credentials, uri_password


@pytest.mark.parametrize("name", ["docs", "My Docs", "o'brien", "名前", "a.b", "-x", "x" * 200, "100%"])
def test_usable_names_round_trip_through_folders(name: str) -> None:
    assert validate_name(name) == name
    folder = folder_name(name)
    assert "/" not in folder and folder not in (".", "..") and not folder.startswith(".")
    assert name_from_folder(folder) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        (".", "folder"),
        ("..", "folder"),
        ("../x", "'/'"),
        ("a\\b", "'/'"),
        ("nul\x00", "control"),
        (" x", "whitespace"),
        ("x" * 201, "limit"),
        (3, "string"),
    ],
)
def test_unusable_names_are_refused_with_the_reason(name: object, reason: str) -> None:
    with pytest.raises(InvalidName, match=reason):
        validate_name(name, "source name")


def test_plain_names_are_folder_names_as_they_are() -> None:
    assert folder_name("agent-1_b.c") == "agent-1_b.c"
    assert folder_name(".hidden") == "%2Ehidden"


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("postgresql+pg8000://memgpt:hunter2@localhost:8888/memgpt", "postgresql+pg8000://memgpt:****@localhost:8888/memgpt"),
        ("postgresql://token123@host/db", "postgresql://****@host/db"),  # a bare userinfo may be a token
        ("postgresql://memgpt:p@ss@localhost/db", "postgresql://memgpt:****@localhost/db"),  # an unencoded "@"
        (
            "https://u:k@api.example.com/v1?key=abc&token=t0k&region=eu",
            "https://u:****@api.example.com/v1?key=****&token=****&region=eu",
        ),
        ("http://h/x?monkey=fine&api-key=s3", "http://h/x?monkey=fine&api-key=****"),
        ("http://localhost:6333?api_key=abc123", "http://localhost:6333?api_key=****"),
        ("host=db password=s3cret user=x", "host=db password=**** user=x"),
        ("http://localhost:19530", "http://localhost:19530"),
    ],
)
def test_mask_uri(uri: str, masked: str) -> None:
    assert mask_uri(uri) == masked


def test_scrub_removes_known_secrets_from_driver_messages() -> None:
    message = 'connection to "postgresql://memgpt:hunter2@db/x" failed: password "hunter2" rejected'
    cleaned = scrub(message, [uri_password("postgresql://memgpt:hunter2@db/x")])
    assert "hunter2" not in cleaned


def test_errors_are_one_line() -> None:
    assert str(MemGPTError("first line\nsecond   line\n")) == "first line second line"


@pytest.mark.parametrize(
    ("url", "stripped"),
    [
        ("https://me:sk-123@api.example.com/v1?api_key=sk-123&region=eu", "https://api.example.com/v1?region=eu"),
        ("https://sk-123@api.example.com/v1", "https://api.example.com/v1"),
        ("http://localhost:11434/v1?token=a&key=b", "http://localhost:11434/v1"),
        ("postgresql://u:p@ss@db/x", "postgresql://db/x"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("not a url", "not a url"),
    ],
)
def test_records_keep_endpoints_without_credentials(url: str, stripped: str) -> None:
    assert strip_credentials(url) == stripped


def test_printed_records_have_their_secrets_masked() -> None:
    record = {"llm": {"model_endpoint": "https://u:pw@h/v1?api_key=k"}, "list": ["password=x", 3], "n": 1}
    assert mask_values(record) == {
        "llm": {"model_endpoint": "https://u:****@h/v1?api_key=****"},
        "list": ["password=****", 3],
        "n": 1,
    }
