"""Run a Lambda request's synchronous code on the event loop's own thread.

FastAPI sends every sync dependency, sync endpoint and the response validation of a sync
endpoint to AnyIO's worker threads, so that a server can go on serving other requests while one
blocks. A Lambda execution environment serves exactly one request at a time: nothing else waits
for the loop, and each hop to a worker thread (four or more per request) only adds latency.

`one_request_at_a_time(handler)` marks the duration of a Lambda invocation in a context
variable; AnyIO's `to_thread.run_sync`, wrapped once, runs the function directly while the mark
is set and hands it to the worker threads otherwise. The mark is a context variable, copied into
the tasks Mangum starts, so a uvicorn server in the same process (the local stack, the tests)
keeps the thread pool for its own requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

import anyio.to_thread

_inline: ContextVar[bool] = ContextVar("tradebot_inline_sync", default=False)
_thread_run_sync = anyio.to_thread.run_sync


async def _run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if _inline.get():
        return func(*args)
    return await _thread_run_sync(func, *args, **kwargs)


def _install() -> None:
    if anyio.to_thread.run_sync is not _run_sync:
        anyio.to_thread.run_sync = _run_sync  # type: ignore[assignment]


@contextmanager
def _marked() -> Iterator[None]:
    """Sync code run by the tasks of this context, and the tasks it starts, runs inline."""
    mark = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(mark)


def one_request_at_a_time[Handler: Callable[..., Any]](handler: Handler) -> Handler:
    """`handler`, with the sync parts of its request run inline instead of in worker threads."""
    _install()

    @wraps(handler)
    def invoke(*args: Any, **kwargs: Any) -> Any:
        with _marked():
            return handler(*args, **kwargs)

    return invoke  # type: ignore[return-value]


def running_inline() -> bool:
    """True inside a request wrapped by `one_request_at_a_time` (for tests and diagnostics)."""
    return _inline.get()


class InlineSync:
    """ASGI middleware: the sync code of the requests it passes on runs on the loop's thread,
    except for the requests `keep_threads(scope)` picks.

    For a server that shares its loop between requests (the local stack): keep the worker
    threads for whatever may wait on something slower than the database and the cache.
    """

    def __init__(self, app: Any, keep_threads: Callable[[Any], bool]) -> None:
        _install()
        self.app = app
        self.keep_threads = keep_threads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.keep_threads(scope):
            await self.app(scope, receive, send)
            return
        with _marked():
            await self.app(scope, receive, send)
