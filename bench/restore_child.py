"""One SnapStart life, in a fresh interpreter: `python -m bench.restore_child NAME REQUEST`.

Imports functions/NAME/handler.py as Lambda's init would, runs the before-snapshot hooks (the
priming), then forks once per restore event: the fork is the snapshot being restored. Each
child runs the after-restore hooks and its first request (timed together, as a user waits for
both), reports, and exits; the last one goes on serving the warm events and reports their
latencies too. The parent, the snapshot, never makes a request: it must hold no connection.
REQUEST is a JSON file: {"restore_events": [...], "warm_events": [...], "result_path": ...}.
"""

import importlib.util
import json
import os
import resource
import sys
import time
from typing import Any

from bench.cold_child import Context


def _import(name: str) -> object:
    path = f"functions/{name}/handler.py"
    spec = importlib.util.spec_from_file_location(f"functions.{name}.handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.handler


def _restored(
    name: str, handler: object, event: dict[str, Any], warm: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a restored environment does first (in the forked child)."""
    from sqlalchemy import event as sqlalchemy_events
    from tradebot import snapstart
    from tradebot.db.engine import get_engine

    clock = time.perf_counter
    # When the first database connection starts and ends: the part of the first request no
    # priming can take (a new PostgreSQL backend per connection; RDS Proxy in AWS).
    connect: dict[str, float] = {}
    engine = get_engine()

    def connecting(dialect: object, record: object, cargs: object, cparams: object) -> None:
        connect.setdefault("start", clock())

    def connected(dbapi_connection: object, record: object) -> None:
        connect.setdefault("end", clock())

    sqlalchemy_events.listen(engine, "do_connect", connecting)
    sqlalchemy_events.listen(engine, "connect", connected)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = clock()
    snapstart.after_restore()
    hooks_s = clock() - start
    response = handler(event, Context(name))  # type: ignore[operator]
    first_s = clock() - start
    # Pages first written in this copy: shared ones copied (the fork's copy-on-write) and new
    # ones zero-filled (what the request allocates), each a page fault.
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    samples = []
    for warm_event in warm:
        call = clock()
        handler(warm_event, Context(name))  # type: ignore[operator]
        samples.append(clock() - call)
    return {
        "after_restore_hooks_s": hooks_s,
        "first_request_s": first_s,
        "database_connect_s": connect.get("end", 0.0) - connect.get("start", 0.0),
        "page_faults": faults,
        "status": response.get("statusCode") if isinstance(response, dict) else None,
        "response": str(response)[:300],
        "warm_s": samples,
    }


def _fork_and_restore(
    name: str, handler: object, event: dict[str, Any], warm: list[dict[str, Any]]
) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            report = _restored(name, handler, event, warm)
        except BaseException as exc:  # noqa: BLE001 - reported to the snapshot, then exit
            report, code = {"error": repr(exc)}, 1
        os.write(write_end, json.dumps(report).encode())
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    restored: dict[str, Any] = json.loads(text)
    return restored


def _snapshot_connections() -> int:
    """Database connections the snapshot holds (must be none)."""
    from tradebot.db.engine import get_engine

    if not get_engine.cache_info().currsize:
        return 0
    pool = get_engine().pool
    return int(getattr(pool, "checkedin", lambda: 0)()) + int(
        getattr(pool, "checkedout", lambda: 0)()
    )


def main() -> None:
    name, request_path = sys.argv[1:3]
    with open(request_path) as f:
        request = json.load(f)
    clock = time.perf_counter
    start = clock()
    handler = _import(name)
    import_s = clock() - start
    from tradebot import snapstart

    start = clock()
    snapstart.before_snapshot()
    prime_s = clock() - start
    events = request["restore_events"]
    restores = []
    for index, event in enumerate(events):
        warm = request["warm_events"] if index == len(events) - 1 else []
        restores.append(_fork_and_restore(name, handler, event, warm))
    result = {
        "import_s": import_s,
        "prime_s": prime_s,
        "restores": restores,
        "snapshot_connections": _snapshot_connections(),
    }
    with open(request["result_path"], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
