"""Throwaway PostgreSQL and Redis servers for the chaos tests, each on a free loopback port.

Every server here is a child of the test run, started in its own temporary directory, and can be
stopped, frozen (SIGSTOP) and restarted by the test that owns it; the machine's shared PostgreSQL
and Redis are never touched. PostgreSQL refuses to run as root, so when the tests run as root
its commands run as the `postgres` OS user (`runuser`), in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("CHAOS_REDIS_SERVER", shutil.which("redis-server") or "redis-server")
PG_USER = "postgres"
DATABASE = "tradebot"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
ROOT = Path(__file__).resolve().parents[2]


class ServiceError(RuntimeError):
    """A throwaway server could not be started or stopped in time."""


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_open(port: int, timeout_s: float = 0.2) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `check` every 50 ms; `ServiceError` naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise ServiceError(f"timed out after {timeout_s:g}s waiting for {what}")


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _pg_command(*args: str) -> list[str]:
    command = [str(PG_BIN / args[0]), *args[1:]]
    return ["runuser", "-u", PG_USER, "--", *command] if _as_root() else command


def _run(command: list[str], timeout_s: float = START_TIMEOUT_S) -> None:
    # cwd: the postgres user may not be allowed into the repository directory.
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout_s, check=False, cwd="/"
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        raise ServiceError(f"{' '.join(command)} failed: {output}")


def _owned_temp_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if _as_root():
        shutil.chown(path, PG_USER, PG_USER)
    return path


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own: initdb'd (or copied from a template) into a temp dir.

    `stop()` is an immediate shutdown (every connection dies, as in a crash or failover),
    `freeze()` stops every server process with SIGSTOP (the database hangs instead of refusing),
    `start()` brings it back on the same port with the data it had.
    """

    def __init__(self, template: ThrowawayPostgres | None = None) -> None:
        self.base = _owned_temp_dir("tb-chaos-pg-")
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.port = free_port()
        self.running = False
        try:
            if template is not None:
                if template.running:
                    raise ServiceError("copy a template only while it is stopped")
                _run(["cp", "-a", str(template.data), str(self.data)])
            else:
                _run(
                    _pg_command(
                        "initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust",
                        "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
                    )
                )  # fmt: skip
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        """DATABASE_URL of the `tradebot` database."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        # fsync off is safe here: a killed server's writes are in the page cache already. Commits
        # stay synchronous, so a commit that was acknowledged survives an immediate stop.
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        _run(
            _pg_command(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                "-w", "-t", str(int(START_TIMEOUT_S)), "start",
            )
        )  # fmt: skip
        self.running = True
        wait_until(lambda: port_open(self.port), START_TIMEOUT_S, "PostgreSQL to listen")

    def stop(self, mode: str = "immediate") -> None:
        """Shut down: `immediate` kills every backend at once, `fast` ends them cleanly."""
        self.thaw()
        _run(
            _pg_command("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "15", "stop"),
            timeout_s=STOP_TIMEOUT_S + 5,
        )
        self.running = False

    def create_database(self) -> None:
        """Create the `tradebot` database (template clusters only)."""
        import pg8000.native  # type: ignore[import-untyped]

        connection = pg8000.native.Connection(
            user=PG_USER, host="127.0.0.1", port=self.port, database="postgres", timeout=10
        )
        try:
            connection.run(f'CREATE DATABASE "{DATABASE}"')
        finally:
            connection.close()

    def migrate(self) -> None:
        """Bring the database to the newest revision, in a child process (no cached settings)."""
        env = {**os.environ, "DATABASE_URL": self.url, "APP_ENV": "test"}
        done = subprocess.run(
            [sys.executable, "-m", "tradebot.db.migrate"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ServiceError(f"migration failed: {done.stderr[-3000:]}")

    def _pids(self) -> list[int]:
        """The postmaster and its children (read from postmaster.pid and /proc)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return []
        pids = [postmaster]
        for task in Path(f"/proc/{postmaster}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(pid) for pid in task.read_text().split()]
        return pids

    def freeze(self) -> None:
        """SIGSTOP every server process: connections stay open but nothing answers."""
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT every server process."""
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def close(self) -> None:
        """Stop the server if it runs and delete its directory."""
        try:
            if self.running or (self.data / "postmaster.pid").exists():
                self.stop()
        except (ServiceError, subprocess.TimeoutExpired):
            for pid in self._pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


class ThrowawayRedis:
    """A redis-server of its own, without persistence: a restart comes back empty, as a cache
    node replacement does. `freeze()` SIGSTOPs it (timeouts instead of refused connections)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="tb-chaos-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """REDIS_URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) on the same port and wait until it answers PING."""
        self.process = subprocess.Popen(
            [
                REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.base),
                "--protected-mode", "no", "--logfile", str(self.base / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._pong, START_TIMEOUT_S, "redis-server to answer PING")

    def _pong(self) -> bool:
        from redis import Redis
        from redis.exceptions import RedisError

        client = Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Kill the server (SIGKILL: no goodbye to its clients) and wait for it."""
        if self.process is None:
            return
        self.thaw()
        self.process.kill()
        self.process.wait(STOP_TIMEOUT_S)
        self.process = None
        wait_until(lambda: not port_open(self.port), STOP_TIMEOUT_S, "redis-server to close")

    def freeze(self) -> None:
        """SIGSTOP the server."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT the server."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and delete its directory."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def postgres_template() -> Iterator[ThrowawayPostgres]:
    """A migrated, stopped cluster that each test copies (initdb + migrations paid once)."""
    template = ThrowawayPostgres()
    try:
        template.start()
        template.create_database()
        template.migrate()
        template.stop(mode="fast")
        yield template
    finally:
        template.close()
