"""At-least-once delivery against at-most-once placement, on real SQS (moto) and PostgreSQL:
the same message delivered three times, the same batch given to three executor processes at
the same instant, and an executor killed (SIGKILL) between placing an order and recording it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.settings import get_settings

from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext
from devstack.workers import sqs_lambda_event
from loadtest.books import check_books
from tests.chaos.conftest import ChaosLedger, Services
from tests.chaos.services import ROOT, wait_until
from tests.fakes.binance_server import BinanceFake
from tests.support import configure, register_and_login
from tests.trading_support import (
    ORDER_PATH,
    OrderQueueHarness,
    get_trade,
    placed,
    set_prices,
    store_key,
    trade_rows,
)

pytestmark = pytest.mark.chaos
User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
PROCESS_TIMEOUT_S = 60.0


def live_user(email: str, fake: BinanceFake) -> User:
    user = register_and_login(email)
    store_key(user[1])
    set_prices(**{symbol: str(price) for symbol, price in fake.prices.items()})
    return user


def receive_all(queue: OrderQueueHarness, expected: int) -> list[Any]:
    """Receive `expected` messages (several receives; FIFO hands out up to ten at a time)."""
    messages: list[Any] = []
    deadline = time.monotonic() + 10
    while len(messages) < expected and time.monotonic() < deadline:
        messages += queue.receive()
    assert len(messages) == expected, f"received {len(messages)} of {expected}"
    return messages


def make_visible(queue: OrderQueueHarness, messages: list[dict[str, Any]]) -> None:
    """What the visibility timeout running out does: the messages can be received again."""
    for message in messages:
        queue.sqs.change_message_visibility(
            QueueUrl=queue.queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


@dataclass
class ExecutorProcess:
    """One `tests.chaos.executor_process` child."""

    process: subprocess.Popen[bytes]
    result: Path
    log: Path

    @property
    def ready(self) -> bool:
        return Path(f"{self.result}.ready").exists()

    def response(self) -> dict[str, Any]:
        self.process.wait(PROCESS_TIMEOUT_S)
        assert self.process.returncode == 0, self.log.read_text()[-3000:]
        answer: dict[str, Any] = json.loads(self.result.read_text())
        return answer


class Executors:
    """Starts executor processes; every one still running at the end is killed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[ExecutorProcess] = []

    def start(self, event: dict[str, Any], go: Path | None = None) -> ExecutorProcess:
        index = len(self.started)
        event_path = self.directory / f"event-{index}.json"
        event_path.write_text(json.dumps(event))
        result, log = self.directory / f"result-{index}.json", self.directory / f"log-{index}.txt"
        command = [sys.executable, "-m", "tests.chaos.executor_process", str(event_path)]
        command += [str(result)] + ([str(go)] if go else [])
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT
            )
        child = ExecutorProcess(process, result, log)
        self.started.append(child)
        return child

    def close(self) -> None:
        for child in self.started:
            if child.process.poll() is None:
                child.process.kill()
                child.process.wait(10)


@pytest.fixture
def executors(tmp_path: Path) -> Iterator[Executors]:
    started = Executors(tmp_path)
    try:
        yield started
    finally:
        started.close()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    handler = load_function("order_executor").handler
    response: dict[str, Any] = handler(event, FakeLambdaContext(function_name="order_executor"))
    return response


# --- the same message, three times ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["live", "paper"])
def test_a_message_received_three_times_from_sqs_executes_the_order_once(
    mode: str,
    services: Services,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    ledger: ChaosLedger,
) -> None:
    if mode == "live":
        user_id, token = live_user("live@example.com", binance_fake)
    else:
        user_id, token = register_and_login("paper@example.com")
        set_prices(BTCUSDT="95000.00")
    trade = placed(token, MARKET_BUY)

    counts = []
    for _ in range(3):  # received, run, never deleted: the visibility timeout runs out
        messages = receive_all(order_queue, 1)
        counts.append(int(messages[0]["Attributes"]["ApproximateReceiveCount"]))
        assert invoke(sqs_lambda_event(messages, order_queue.queue.arn)) == {
            "batchItemFailures": []
        }
        make_visible(order_queue, messages)
    order_queue.drain()

    assert counts == [1, 2, 3]
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    if mode == "live":
        assert len(binance_fake.placed_orders) == 1
        assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1
    with unit_of_work() as session:
        books = check_books(session, [user_id], fee_rate=get_settings().paper_fee_rate)
    if mode == "paper":
        assert books.balanced, books.problems
        assert books.fills == 1
    ledger.fault(f"{mode} order message: duplicate deliveries", 2)


# --- one batch, three executor processes at once ---------------------------------------------


def test_one_batch_given_to_three_executor_processes_at_once_places_each_order_once(
    services: Services,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    executors: Executors,
    tmp_path: Path,
    ledger: ChaosLedger,
) -> None:
    live_users = [live_user(f"live{i}@example.com", binance_fake) for i in range(3)]
    paper_id, paper_token = register_and_login("paper@example.com")
    # Nine: FIFO hands out at most ten messages at once, and no more while a group is in flight.
    live_trades = [placed(token, MARKET_BUY) for _, token in live_users for _ in range(2)]
    trades = live_trades + [placed(paper_token, MARKET_BUY) for _ in range(3)]
    messages = receive_all(order_queue, len(trades))
    event = sqs_lambda_event(messages, order_queue.queue.arn)
    binance_fake.latency_s = 0.05  # each placement takes a while: the claims really race
    go = tmp_path / "go"

    children = [executors.start(event, go) for _ in range(3)]
    wait_until(lambda: all(c.ready for c in children), 30, "executor processes to start")
    go.touch()
    responses = [child.response() for child in children]

    # Every message succeeded in at least one process; the others met the claim or the result.
    failed = [{f["itemIdentifier"] for f in r["batchItemFailures"]} for r in responses]
    assert set.intersection(*failed) == set()
    make_visible(order_queue, messages)
    order_queue.drain()
    live_ids = [t["client_order_id"] for t in live_trades]
    assert sorted(p["newClientOrderId"] for p in binance_fake.placed_orders) == sorted(live_ids)
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == len(live_ids)
    for user_id, _ in [*live_users, (paper_id, paper_token)]:
        assert {t.status for t in trade_rows(user_id)} == {"FILLED"}
    with unit_of_work() as session:
        books = check_books(session, [paper_id], fee_rate=get_settings().paper_fee_rate)
    assert books.balanced, books.problems
    assert books.fills == 3
    ledger.fault("order messages: duplicate concurrent deliveries", 2 * len(trades))
    ledger.figure(
        f"3 executor processes, {len(trades)} messages each: {len(binance_fake.placed_orders)} "
        f"orders at Binance, {sum(len(f) for f in failed)} deliveries refused by the claim"
    )


# --- an executor killed between placing and recording ----------------------------------------


def test_an_executor_killed_after_binance_took_the_order_is_recorded_by_the_next_delivery(
    services: Services,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    executors: Executors,
    monkeypatch: pytest.MonkeyPatch,
    ledger: ChaosLedger,
) -> None:
    lease_s = 3
    # The child waits long enough for Binance's answer to be killed while waiting for it.
    configure(monkeypatch, order_claim_lease_s=str(lease_s), binance_timeout_s="20")
    _, token = live_user("live@example.com", binance_fake)
    trade = placed(token, MARKET_BUY)
    binance_fake.timeout_sleep_s = 30  # the order is taken, then the answer hangs
    binance_fake.fail_next("timeout", path=ORDER_PATH)
    messages = receive_all(order_queue, 1)

    child = executors.start(sqs_lambda_event(messages, order_queue.queue.arn))
    wait_until(lambda: len(binance_fake.placed_orders) == 1, 30, "Binance to take the order")
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(10)
    killed_at = time.monotonic()
    ledger.fault("executor killed (SIGKILL) between placing and recording")

    with unit_of_work() as session:
        stored = session.scalar(select(Trade).where(Trade.id == trade["id"]))
        assert stored is not None
        assert (stored.status, stored.claimed_by) == ("PENDING", "executor")
    # The message was never deleted: SQS delivers it again once its visibility timeout is over.
    make_visible(order_queue, messages)
    early = order_queue.deliver()  # within the dead executor's lease: it may still be alive
    assert early is not None and early.failed == set(early.message_ids)
    assert binance_fake.requests_to("GET", ORDER_PATH) == []
    time.sleep(max(0.0, killed_at + lease_s + 0.5 - time.monotonic()))
    later = order_queue.deliver()

    assert later is not None and later.failed == set()
    recorded = get_trade(token, trade["id"])
    assert recorded["status"] == "FILLED"
    assert recorded["exchange_order_id"] == str(
        binance_fake.orders[trade["client_order_id"]]["orderId"]
    )
    assert len(binance_fake.placed_orders) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1
    assert len(binance_fake.requests_to("GET", ORDER_PATH)) == 1  # found by client id
    assert order_queue.depth() == 0
