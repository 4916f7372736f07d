"""The helpers backends share (memgpt.storage.helpers)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from memgpt.errors import StorageError
from memgpt.storage.helpers import (
    chunked,
    engine_errors,
    key_in_users,
    like_pattern,
    page_by_time,
    scope_without_user,
    vector_from_base64,
    vector_to_base64,
)
from memgpt.storage.where import Where


def test_vectors_survive_base64_bit_exactly() -> None:
    vector = np.array([0.1, -3.5, 1e-38, 3.4e38, np.float32(1) / 3], dtype=np.float32)
    back = vector_from_base64(vector_to_base64(vector))
    assert back.dtype == np.float32 and back.tobytes() == vector.tobytes()


def test_like_pattern_escapes_wildcards_and_the_escape() -> None:
    assert like_pattern("50%_off\\x") == "%50\\%\\_off\\\\x%"
    assert like_pattern("a!b", escape="!") == "%a!!b%"


def test_page_by_time_orders_by_time_then_id_and_bounds_memory() -> None:
    keys = [(3, "c", 1), (1, "b", 2), (1, "a", 3), (2, "z", 4), (5, "e", 5)]
    assert page_by_time(iter(keys), 0, 2) == [(1, "a", 3), (1, "b", 2)]
    assert page_by_time(iter(keys), 2, 10) == [(2, "z", 4), (3, "c", 1), (5, "e", 5)]
    assert page_by_time(iter(keys), 1, 0) == []


def test_chunked() -> None:
    assert [list(c) for c in chunked([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]


class BoundMessage(Exception):
    """Like chromadb's errors: ``message`` is a method, not text."""

    def message(self) -> str:
        return "the collection is gone"


def test_an_engine_error_is_one_line_with_its_message_even_when_message_is_a_method() -> None:
    with pytest.raises(StorageError) as raised:
        with engine_errors("Chroma", "/data/chroma"):
            raise BoundMessage("ignored")
    assert str(raised.value) == "Chroma at /data/chroma: the collection is gone"


def test_what_native_engine_code_prints_stays_off_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    """A Rust panic or log line written straight to file descriptor 2 during a call never reaches the user."""
    with engine_errors("LanceDB", "/data/lance", native=True):
        os.write(2, b"[WARN lance::io] a log line nobody asked for\n")
    with pytest.raises(StorageError) as raised:
        with engine_errors("Chroma", "/data/chroma", native=True):
            os.write(2, b"thread 'tokio-rt-worker' panicked at rust/log/src/sqlite_log.rs:263:18:\n")
            raise RuntimeError("Error executing plan")
    assert "Error executing plan" in str(raised.value) and "the engine said: thread 'tokio-rt-worker' panicked" in str(
        raised.value
    )
    assert "\n" not in str(raised.value)
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    os.write(2, b"after\n")  # and descriptor 2 is the terminal's again
    assert capfd.readouterr().err == "after\n"


def test_a_client_log_line_repeating_the_error_is_not_added_to_it(capfd: pytest.CaptureFixture[str]) -> None:
    """pymilvus logs every failed call on stderr, then raises the same message: said once is enough."""
    failure = "Collection 'memgpt_archival' is in state 'released'; call load() before search/get/query"
    with pytest.raises(StorageError) as raised:
        with engine_errors("Milvus", "http://127.0.0.1:19530", native=True):
            os.write(
                2,
                f"2026-12-04 21:54:13,697 [ERROR][_log_rpc_error]: RPC error: [query], <MilvusException: (code=101, message={failure})>\n".encode(),
            )
            raise RuntimeError(failure)
    assert str(raised.value) == f"Milvus at http://127.0.0.1:19530: {failure}"
    assert capfd.readouterr().err == ""


def test_a_write_the_disk_cannot_hold_is_refused_before_it_starts(tmp_path) -> None:
    from memgpt.files import require_free_space

    require_free_space(tmp_path, 1_000, "a small write")  # room for it: nothing happens
    with pytest.raises(StorageError, match=r"the disk is full: writing 9 records needs about .* MB free; nothing was written"):
        require_free_space(tmp_path, 10**18, "writing 9 records")


def test_retried_reads_get_past_transient_errors_only() -> None:
    from memgpt.errors import StorageError
    from memgpt.storage.helpers import retried

    calls: list[int] = []
    reset: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise StorageError("engine at x: Error finding id")
        return "read"

    assert retried(flaky, lambda m: "finding id" in m, before_retry=lambda: reset.append(1)) == "read"
    assert len(calls) == 3 and len(reset) == 2

    def broken() -> str:
        calls.append(1)
        raise StorageError("engine at x: permission denied")

    calls.clear()
    with pytest.raises(StorageError, match="permission denied"):
        retried(broken, lambda m: "finding id" in m)
    assert len(calls) == 1

    def always() -> str:
        calls.append(1)
        raise StorageError("Error finding id")

    calls.clear()
    with pytest.raises(StorageError):
        retried(always, lambda m: "finding id" in m, attempts=4)
    assert len(calls) == 4


def test_an_agents_scope_leaves_its_user_to_the_keys_read() -> None:
    scope, users = scope_without_user(Where.of(user_id="ann", agent_id="helper"))
    assert scope == Where.of(agent_id="helper") and users == frozenset({"ann"})
    assert key_in_users("ann/m1", users) and not key_in_users("bob/m1", users) and not key_in_users("m1", users)


def test_a_scope_of_the_user_alone_or_of_ids_keeps_its_user_term() -> None:
    for where in (Where.of(user_id="ann"), Where.of(user_id="ann", id=["ann/m1"]), Where.of(agent_id="helper")):
        assert scope_without_user(where) == (where, None)
    assert key_in_users("anyone/m1", None)
