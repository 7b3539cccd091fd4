"""The local stack under load, on free loopback ports, against the given PostgreSQL and Redis.

Separate processes, as the API Lambdas and the workers are separate in AWS: `python -m
devstack.dev` runs moto (SQS, Secrets Manager), one order consumer and the price schedule; a
uvicorn process serves every route of the table (devstack.server) and takes the load; a few
`loadtest.consumer` processes consume the order queue besides, as concurrent executor Lambdas
would. devstack.dev's own API thread shares its process with moto and the workers, whose
threads hold the GIL between requests, so the load does not go there.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
APP_SECRET_NAME = "tradebot/dev/app"  # devstack.aws creates it  # noqa: S105 - a name
ORDER_QUEUE = "tradebot-orders.fifo"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(port: int, path: str) -> tuple[int, Any]:
    """GET `path` once: (status, JSON body), (0, {}) when nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    except (OSError, http.client.HTTPException, ValueError):
        return 0, {}
    finally:
        connection.close()


def _stop(process: subprocess.Popen[bytes] | None) -> int | None:
    """SIGTERM, wait for a clean stop (SIGKILL after the timeout); the exit code."""
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


class LocalStack:
    """`start()` returns once the API answers and the first price update has run."""

    def __init__(
        self,
        database_url: str,
        redis_url: str,
        *,
        rate_limits: dict[str, int] | None = None,
        price_interval_s: float = 2.0,
        db_pool: str = "single",
        api_workers: int = 1,
        consumers: int = 2,
    ) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="tb-load-stack-"))
        self.port, self.moto_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_workers = api_workers
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": "tbload:",
            "APP_ENV": "local",
            "DB_POOL": db_pool,
            "LOG_LEVEL": "WARNING",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        # The stack makes its own queue and secret (in its moto); None: the deployed limits.
        for inherited in ("SECRETS_NAME", "ORDER_QUEUE_URL", "AWS_ENDPOINT_URL", "JWT_SECRET",
                          "FERNET_KEYS", "BINANCE_BASE_URL", "RATE_LIMITS"):  # fmt: skip
            self.env.pop(inherited, None)
        if rate_limits is not None:
            self.env["RATE_LIMITS"] = json.dumps(rate_limits)
        self.price_interval_s = price_interval_s
        self.consumers = consumers
        self.workers: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.extra_consumers: list[subprocess.Popen[bytes]] = []

    def _spawn(self, command: list[str], env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
        with (self.directory / log).open("wb") as out:
            # Our interpreter running our own modules, with arguments built here.
            return subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def _wait(self, port: int, process: subprocess.Popen[bytes], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited: {self.tail()}")
            status, health = _get(port, "/health")
            if status == 200 and health.get("exchange") == "ok":
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not start in {START_TIMEOUT_S}s: {self.tail()}")

    def start(self) -> LocalStack:
        """Start the workers, then the API; wait until both answer with fresh prices."""
        workers_port = _free_port()
        workers_env = {
            **self.env,
            "HOST": "127.0.0.1",
            "PORT": str(workers_port),
            "MOTO_PORT": str(self.moto_port),
            "DEV_DATA_DIR": str(self.directory),
            "PRICE_UPDATE_INTERVAL_S": str(self.price_interval_s),
        }
        try:
            self.workers = self._spawn([sys.executable, "-m", "devstack.dev"], workers_env,
                                       "workers.log")  # fmt: skip
            self._wait(workers_port, self.workers, "devstack.dev")
            endpoint = f"http://127.0.0.1:{self.moto_port}"
            api_env = {
                **self.env,
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "SECRETS_NAME": APP_SECRET_NAME,
                "ORDER_QUEUE_URL": f"{endpoint}/123456789012/{ORDER_QUEUE}",
            }
            api_env.pop("AWS_PROFILE", None)
            command = [
                sys.executable, "-m", "uvicorn", "--factory", "devstack.server:build_local_app",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers",
                str(self.api_workers), "--no-access-log", "--log-level", "warning",
                "--backlog", "2048",
            ]  # fmt: skip
            self.api = self._spawn(command, api_env, "api.log")
            self._wait(self.port, self.api, "the API")
            consumer = [sys.executable, "-m", "loadtest.consumer"]
            self.extra_consumers = [
                self._spawn(consumer, api_env, f"consumer-{i}.log") for i in range(self.consumers)
            ]
        except BaseException:
            self.stop()
            raise
        return self

    def tail(self, chars: int = 3000) -> str:
        """The end of both logs."""
        parts = []
        for log in sorted(self.directory.glob("*.log")):
            name = log.name
            if log.exists():
                parts.append(f"--- {name}\n" + log.read_text(errors="replace")[-chars:])
        return "\n".join(parts)

    def stop(self) -> bool:
        """Stop the API, then the workers (each finishes what it is doing); True if both
        stopped cleanly (uvicorn re-raises the SIGTERM it handled, so -15 is clean for it)."""
        api = _stop(self.api)
        consumers = [_stop(consumer) for consumer in self.extra_consumers]
        workers = _stop(self.workers)
        self.api = self.workers = None
        self.extra_consumers = []
        clean = all(code == 0 for code in consumers) and workers in (None, 0)
        return clean and api in (None, 0, -signal.SIGTERM)

    def close(self) -> None:
        """Stop everything and delete the stack's directory (logs included)."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
