"""Helper processes the bench starts (SQS stub, API server, load generator), always stopped."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from bench.env import ROOT

START_TIMEOUT_S = 30.0


def run_child(
    module_and_args: list[str],
    request: dict[str, Any],
    request_path: Path,
    *,
    env: dict[str, str],
    timeout_s: float,
    python_options: tuple[str, ...] = (),
) -> tuple[dict[str, Any], str]:
    """`python [options] -m <module> <args> REQUEST`: the request written to `request_path` with
    a `result_path` beside it, which the child writes; (its result, its stderr)."""
    result_path = request_path.with_name(request_path.name.replace(".request.", ".result."))
    request_path.write_text(json.dumps({**request, "result_path": str(result_path)}))
    done = subprocess.run(
        [sys.executable, *python_options, "-m", *module_and_args, str(request_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=timeout_s,
        check=False,
    )
    stderr = done.stderr.decode()
    if done.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"{' '.join(module_and_args)} failed:\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(result_path.read_text())
    result_path.unlink()
    return result, stderr


class Helper:
    """A `python -m <module>` child that prints its port on its first line, stopped by `stop`."""

    def __init__(self, module: str, *args: str, log: Path) -> None:
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=dict(os.environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self.port = int(self._first_line(module))

    def _first_line(self, module: str) -> str:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        ready = selector.select(START_TIMEOUT_S)
        selector.close()
        line = self.process.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"{module} did not start: {self.log_path.read_text()[-2000:]}")
        return line

    def stop(self) -> None:
        """Close its stdin (it exits by itself), then terminate, then kill: it never lingers."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
