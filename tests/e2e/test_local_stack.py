"""The local stack as a client sees it: `python -m devstack.dev` in a subprocess, over HTTP and SQS.

Every wait is bounded and every stack started here is stopped (killed, if need be) by the test
that started it, so a hung stack fails the test instead of hanging the run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from tradebot.twofactor import totp  # the authenticator app's side (RFC 6238, unit-tested)

from devstack.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 25.0
STOP_TIMEOUT_S = 10.0
ORDER_QUEUE = "tradebot-orders.fifo"
ORDER_DLQ = "tradebot-orders-dlq.fifo"
PASSWORD = "correct horse battery staple"


def wait_for[T](check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


@dataclass
class Stack:
    """One `python -m devstack.dev` process and what a client needs to talk to it."""

    process: subprocess.Popen[bytes]
    api: str
    moto: str
    log: Path
    data_dir: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def sqs(self) -> Any:
        return boto3.client(
            "sqs",
            endpoint_url=self.moto,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def wait_until_healthy(self) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the stack exited with {self.process.returncode}:\n{self.output()}")
            try:
                return httpx.get(f"{self.api}/health", timeout=1.0).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, START_TIMEOUT_S, f"{self.api}/health")

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Send `signum` and wait for the exit code; kill (and report -9) if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_stack(workdir: Path, *, port: int | None = None, data_dir: Path | None = None) -> Stack:
    """Start the stack on free ports, a throwaway SQLite file and its own data directory."""
    api_port, moto_port = port or free_port(), free_port()
    data_dir = data_dir or workdir / "data"
    log = workdir / f"stack-{uuid.uuid4().hex[:6]}.log"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(api_port),
        "MOTO_PORT": str(moto_port),
        "DEV_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'e2e.db'}",
        "PRICE_UPDATE_INTERVAL_S": "0.5",
        "RATE_LIMITS": json.dumps({"read": 10_000, "write": 10_000, "auth": 10_000}),
        "PYTHONUNBUFFERED": "1",  # the log file is read while the stack runs
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.dev"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    api, moto = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{moto_port}"
    return Stack(process, api, moto, log, data_dir)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running stack shared by the client tests of this module (the last one stops it)."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        running.wait_until_healthy()
        yield running
    finally:
        running.stop()


def register_and_login(api: str, email: str | None = None) -> tuple[str, str]:
    """A new account's id and access token."""
    email = email or f"trader-{uuid.uuid4().hex[:8]}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    registered = httpx.post(f"{api}/api/auth/register", json=credentials, timeout=10)
    assert registered.status_code == 201, registered.text
    login = httpx.post(f"{api}/api/auth/login", json=credentials, timeout=10)
    assert login.status_code == 200, login.text
    return registered.json()["id"], login.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_new_trader_registers_logs_in_and_is_recognised(stack: Stack) -> None:
    email = f"trader-{uuid.uuid4().hex[:8]}@example.com"
    user_id, token = register_and_login(stack.api, email)

    me = httpx.get(f"{stack.api}/api/auth/me", headers=bearer(token), timeout=10)

    assert me.status_code == 200
    assert me.json() == {
        "id": user_id,
        "email": email,
        "trading_mode": "paper",
        "two_factor": False,
    }


def test_a_trader_turns_on_2fa_and_then_logs_in_with_a_code(stack: Stack) -> None:
    email = f"second-{uuid.uuid4().hex[:8]}@example.com"
    _, token = register_and_login(stack.api, email)
    account = f"{stack.api}/api/account/2fa"

    enrolment = httpx.post(account, headers=bearer(token), timeout=10).json()
    secret = totp.decode_secret(enrolment["secret"])
    code = totp.code_at(secret, totp.step_at(time.time()))
    confirm = {"otp": code}
    confirmed = httpx.post(f"{account}/confirm", json=confirm, headers=bearer(token), timeout=10)
    credentials = {"email": email, "password": PASSWORD}
    password_only = httpx.post(f"{stack.api}/api/auth/login", json=credentials, timeout=10)
    recovery_code = confirmed.json()["recovery_codes"][0]
    with_code = httpx.post(
        f"{stack.api}/api/auth/login", json={**credentials, "otp": recovery_code}, timeout=10
    )

    assert confirmed.status_code == 200, confirmed.text
    assert password_only.status_code == 401
    assert password_only.json()["type"] == "urn:tradebot:problem:otp-required"
    assert with_code.status_code == 200, with_code.text
    me = httpx.get(f"{stack.api}/api/auth/me", headers=bearer(token), timeout=10)
    assert me.json()["two_factor"] is True


def test_a_note_written_by_a_trader_appears_in_their_journal(stack: Stack) -> None:
    _, token = register_and_login(stack.api)
    note = {"title": "BTC breakout", "content": "Waiting for a retest.", "tags": ["btc"]}

    created = httpx.post(f"{stack.api}/api/notes", json=note, headers=bearer(token), timeout=10)
    journal = httpx.get(f"{stack.api}/api/notes", headers=bearer(token), timeout=10)

    assert created.status_code == 201, created.text
    assert journal.status_code == 200
    assert [n["id"] for n in journal.json()["items"]] == [created.json()["id"]]
    assert journal.json()["items"][0]["title"] == "BTC breakout"


def test_swagger_ui_is_served_at_docs(stack: Stack) -> None:
    docs = httpx.get(f"{stack.api}/docs", timeout=10)

    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in docs.text.lower()


def test_an_order_message_is_consumed_by_the_executor(stack: Stack) -> None:
    sqs = stack.sqs()
    queue_url = sqs.get_queue_url(QueueName=ORDER_QUEUE)["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=ORDER_DLQ)["QueueUrl"]
    trade_id = str(uuid.uuid4())

    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps({"trade_id": trade_id, "action": "place"}),
        MessageGroupId=str(uuid.uuid4()),  # the user id, in the application
        MessageDeduplicationId=f"{trade_id}-place",
    )

    def queue_is_empty() -> bool:
        counts = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        # In flight would mean received but not deleted, i.e. the executor reported a failure.
        return all(value == "0" for value in counts.values())

    wait_for(queue_is_empty, 10, "the order queue to be empty (message deleted)")
    assert "order_executor: 1 message(s), 0 failed" in stack.output()
    dead = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert dead["ApproximateNumberOfMessages"] == "0"


def test_the_price_updater_is_invoked_on_its_schedule(stack: Stack) -> None:
    wait_for(lambda: "price_updater run 1 returned" in stack.output(), 10, "the first price run")
    # The handler's own log line shows the real function ran, under its own Lambda context.
    wait_for(lambda: '"function_name":"price_updater"' in stack.output(), 10, "price_updater's log")


def test_sigint_stops_every_component_and_exits_zero(stack: Stack) -> None:
    # Runs last in this module: it ends the shared stack.
    started = time.monotonic()

    code = stack.stop(signal.SIGINT)

    assert code == 0, stack.output()
    assert time.monotonic() - started < STOP_TIMEOUT_S
    output = stack.output()
    for line in (
        "SIGINT received, stopping",
        "api stopped",
        "order consumer stopped",
        "price schedule stopped",
        "moto stopped",
        "stack stopped",
    ):
        assert line in output
    assert "Traceback" not in output
    # Several runs at a 0.5 s interval prove it is a schedule, not a single start-up call.
    runs = int(output.split("price schedule stopped: ")[1].split(" runs")[0])
    assert runs >= 2


def test_sigterm_stops_the_stack_and_a_restart_keeps_tokens_valid(tmp_path: Path) -> None:
    # Given a token issued by a stack that is then stopped with SIGTERM
    first = start_stack(tmp_path)
    try:
        first.wait_until_healthy()
        _, token = register_and_login(first.api)
    finally:
        code = first.stop(signal.SIGTERM)
    assert code == 0, first.output()
    assert "SIGTERM received, stopping" in first.output()
    assert (first.data_dir / "dev-secrets.json").stat().st_mode & 0o777 == 0o600

    # When the stack starts again on the same data directory
    second = start_stack(tmp_path, data_dir=first.data_dir)
    try:
        second.wait_until_healthy()
        me = httpx.get(f"{second.api}/api/auth/me", headers=bearer(token), timeout=10)
    finally:
        second.stop()

    # Then the old token still works: the JWT key came back from dev-secrets.json
    assert me.status_code == 200, me.text


def test_a_busy_api_port_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stack = start_stack(tmp_path, port=taken.getsockname()[1])
        try:
            code = stack.process.wait(START_TIMEOUT_S)
        finally:
            stack.stop()

    assert code == 1
    assert "is in use; set PORT to a free port" in stack.output()
