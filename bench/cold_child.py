"""One cold start, in a fresh interpreter: `python -m bench.cold_child KIND NAME REQUEST`.

KIND is `function` (import functions/NAME/handler.py as Lambda would, then invoke it) or
`floor` (NAME is a comma-separated list of modules to import and nothing else). Only `sys`,
`time` and `importlib` are loaded before the clock starts. REQUEST is a JSON file with the
events to send and where to write the result.
"""

import importlib
import importlib.util
import sys
import time

# Modules whose presence after import the bench reports (the targets name some of them).
WATCHED = (
    "fastapi",
    "starlette",
    "mangum",
    "pydantic",
    "pydantic.v1",
    "pydantic_settings",
    "sqlalchemy",
    "sqlalchemy.orm",
    "pg8000",
    "redis",
    "fakeredis",
    "jwt",
    "argon2",
    "cryptography.fernet",
    "aws_lambda_powertools",
    "aws_lambda_powertools.utilities.batch",
    "boto3",
    "botocore.session",
    "botocore.client",
    "binance",
    "binance.client",
    "requests",
    "aiohttp",
    "websockets",
    "alembic",
    "dateparser",
)


def _import(kind: str, name: str) -> float:
    marking = "importtime" in sys._xoptions  # the profile reads only the rows between marks
    if marking:
        sys.stderr.write("bench: import starts\n")
    start = time.perf_counter()
    if kind == "floor":
        for module in name.split(","):
            importlib.import_module(module)
    else:
        path = f"functions/{name}/handler.py"
        spec = importlib.util.spec_from_file_location(f"functions.{name}.handler", path)
        assert spec is not None and spec.loader is not None
        handler_module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = handler_module
        spec.loader.exec_module(handler_module)
    elapsed = time.perf_counter() - start
    if marking:
        sys.stderr.write("bench: import ends\n")
    return elapsed


def _peak_rss_kib() -> int:
    """VmHWM: this process image's peak RSS (ru_maxrss would carry the forking parent's over
    the exec, since Linux keeps resource usage across execve)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Context:
    """What Powertools and Mangum read from a Lambda context (devstack's would import FastAPI)."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        self.aws_request_id = "bench"
        self._deadline = time.time() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.time()) * 1000)


def _seed_embedded_redis() -> None:
    # fakeredis lives in this process only: give it what the parent put in the real Redis.
    from tradebot.exchange.snapshot import load_snapshot_filters, reference_prices
    from tradebot.market.prices import write_prices
    from tradebot.market.symbols import store_filters

    store_filters(load_snapshot_filters())
    write_prices(reference_prices())


def main() -> None:
    kind, name, request_path = sys.argv[1:4]
    import_s = _import(kind, name)
    import json
    import os

    present = [m for m in WATCHED if m in sys.modules]
    result: dict[str, object] = {
        "import_s": import_s,
        "modules_after_import": present,
        "module_count": len(sys.modules),
        "peak_rss_kib_after_import": _peak_rss_kib(),
    }
    with open(request_path) as f:
        request = json.load(f)
    if kind == "function" and request.get("first_event") is not None:
        if not os.environ.get("REDIS_URL"):
            _seed_embedded_redis()
        handler = sys.modules[f"functions.{name}.handler"].handler
        start = time.perf_counter()
        response = handler(request["first_event"], Context(name))
        result["first_invocation_s"] = time.perf_counter() - start
        result["first_status"] = response.get("statusCode") if isinstance(response, dict) else None
        result["first_response"] = str(response)[:300]
        warm = request.get("warm_events") or []
        start = time.perf_counter()
        for event in warm:
            handler(event, Context(name))
        result["warm_calls"] = len(warm)
        result["warm_mean_s"] = (time.perf_counter() - start) / len(warm) if warm else None
        result["modules_after_invocation"] = [m for m in WATCHED if m in sys.modules]
    result["peak_rss_kib"] = _peak_rss_kib()
    with open(request["result_path"], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
