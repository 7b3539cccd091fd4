"""Background traffic for the outage tests: threads invoking route handlers through Mangum, each
like one warm Lambda environment, recording what every request answered and how long it took."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.routes import RouteCall
from tests.support import Reply

JOIN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sample:
    """One request: what was asked, when, how long it took and what came back."""

    function: str
    started: float  # time.monotonic()
    elapsed: float
    reply: Reply
    idempotency_key: str | None = None

    @property
    def ok(self) -> bool:
        return self.reply.status < 400


Action = Callable[[], RouteCall]


def order_action(body: dict[str, Any]) -> Action:
    """A placement with a fresh Idempotency-Key each time."""
    return lambda: RouteCall(
        "trades_create", body=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )


def fixed(route: RouteCall) -> Action:
    return lambda: route


@dataclass
class Traffic:
    """`threads` threads calling `actions` round-robin as `token` until `stop()`."""

    token: str
    actions: list[Action]
    threads: int = 3
    pause_s: float = 0.02
    on_sample: Callable[[Sample], None] | None = None
    samples: list[Sample] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Traffic:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), name=f"traffic-{index}")
            worker.start()
            self._workers.append(worker)
        return self

    def _run(self, index: int) -> None:
        # Mangum runs the app on the thread's event loop; a non-main thread has none.
        asyncio.set_event_loop(asyncio.new_event_loop())
        actions = itertools.islice(itertools.cycle(self.actions), index, None)
        try:
            while not self._stopping.is_set():
                route = next(actions)()
                started = time.monotonic()
                reply = route.send(self.token)
                sample = Sample(
                    route.function,
                    started,
                    time.monotonic() - started,
                    reply,
                    route.headers.get("Idempotency-Key"),
                )
                with self._lock:
                    self.samples.append(sample)
                if self.on_sample is not None:
                    self.on_sample(sample)
                self._stopping.wait(self.pause_s)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)
        finally:
            asyncio.get_event_loop().close()

    def stop(self) -> list[Sample]:
        """Stop every thread (each finishes its request in flight); returns all samples."""
        self._stopping.set()
        for worker in self._workers:
            worker.join(JOIN_TIMEOUT_S)
        alive = [w.name for w in self._workers if w.is_alive()]
        assert not alive, f"traffic threads still running: {alive}"
        assert not self.errors, self.errors
        return sorted(self.samples, key=lambda s: s.started)

    def between(self, start: float, end: float) -> list[Sample]:
        """Samples of requests that started in [start, end)."""
        with self._lock:
            return [s for s in self.samples if start <= s.started < end]

    def wait_for(self, check: Callable[[Sample], bool], after: float, timeout_s: float) -> Sample:
        """The first sample started after `after` that passes `check`, waiting up to timeout_s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [s for s in self.between(after, float("inf")) if check(s)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no matching request within {timeout_s}s")
