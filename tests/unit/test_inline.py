"""A Lambda request runs its sync code on the calling thread; a server elsewhere keeps threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

import anyio.to_thread
import pytest
from tradebot.http.inline import one_request_at_a_time, running_inline


def _run[T](coroutine: Coroutine[Any, Any, T]) -> T:
    # Not asyncio.run: it leaves the thread with no current loop, and Mangum, in a later test on
    # this worker, asks for one.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def _thread_of_sync_work() -> tuple[str, bool]:
    async def request() -> tuple[str, bool]:
        return await anyio.to_thread.run_sync(
            lambda: (threading.current_thread().name, running_inline())
        )

    return _run(request())


def test_inside_an_invocation_sync_work_runs_on_the_calling_thread() -> None:
    handler = one_request_at_a_time(_thread_of_sync_work)

    thread, inline = handler()

    assert thread == threading.current_thread().name
    assert inline is True


def test_outside_an_invocation_sync_work_still_goes_to_a_worker_thread() -> None:
    one_request_at_a_time(lambda: None)  # installed, as a handler module would

    thread, inline = _thread_of_sync_work()

    assert thread != threading.current_thread().name
    assert inline is False


def test_the_mark_ends_with_the_invocation_even_when_it_raises() -> None:
    def failing() -> None:
        assert running_inline()
        raise RuntimeError("boom")

    handler = one_request_at_a_time(failing)

    with pytest.raises(RuntimeError):
        handler()
    assert running_inline() is False


def test_keyword_arguments_reach_the_worker_thread_path() -> None:
    one_request_at_a_time(lambda: None)
    limiter = anyio.CapacityLimiter(1)

    async def request() -> int:
        return await anyio.to_thread.run_sync(lambda: 7, limiter=limiter)

    assert _run(request()) == 7
