"""Where the request being served comes from, for the services that record it.

The HTTP middleware sets it per request; a service reads it without knowing about FastAPI.
Outside a request (the executor, the scheduled workers, a test calling a service) it is empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestOrigin:
    """The caller's address and user agent, and the request's id."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


NO_REQUEST = RequestOrigin()
_origin: ContextVar[RequestOrigin] = ContextVar("tradebot_request_origin", default=NO_REQUEST)


def current_origin() -> RequestOrigin:
    """The origin of the request being served, or an empty one outside a request."""
    return _origin.get()


@contextmanager
def serving(origin: RequestOrigin) -> Iterator[None]:
    """Make `origin` the current request's for the code run inside (and the tasks it starts)."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)
