"""Inserts pause the cyclic garbage collector for their own batches, and only for them."""

from __future__ import annotations

import gc
import threading

import pytest

from memgpt.storage.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_enabled():
    gc.enable()
    yield
    gc.enable()


def test_pause_disables_the_collector_and_restores_it():
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pauses_restore_only_at_the_outermost():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_callers_own_disable_is_kept():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_a_failing_body_still_restores_the_collector():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_on_two_threads_end_with_the_last():
    inside, release = threading.Event(), threading.Event()

    def other_thread():
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_thread)
    with collector_paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled(), "the other thread's pause is still running"
    release.set()
    thread.join(10)
    assert gc.isenabled()
