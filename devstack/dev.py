"""`make dev`: the whole stack in one process, on embedded defaults, running the Lambdas' code.

Start-up order matters: moto comes first so that AWS_ENDPOINT_URL, SECRETS_NAME and
ORDER_QUEUE_URL are in the environment before the application reads its settings; then the
migrations, the worker threads and the API thread. The main thread only waits: SIGINT or
SIGTERM sets one event, every component winds down, moto stops last, and the process exits 0.

Everything shares one process on purpose: the embedded fakeredis is process-wide, so the API,
the order executor and the price updater see the same cache, as they share Redis in AWS.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Annotated

import boto3
import uvicorn
from aws_lambda_powertools.logging.filters import SuppressFilter
from pydantic import Field
from sqlalchemy import make_url
from tradebot.db.migrate import current_revision, upgrade
from tradebot.observability import logger as app_logger
from tradebot.settings import DEFAULT_DATA_DIR, EnvSettings, get_settings

from devstack.aws import (
    MAX_RECEIVE_COUNT,
    LocalAws,
    create_app_secret,
    create_order_queue,
    load_dev_secrets,
    point_boto3_at,
)
from devstack.functions import load_function
from devstack.ports import PortInUse, bind_port
from devstack.server import build_local_app
from devstack.web import WEB_DIST, with_web_app
from devstack.workers import RECONCILE_RULE_ARN, OrderQueueConsumer, PriceSchedule

THREAD_STOP_TIMEOUT_S = 10.0  # a worker mid-invocation gets this long to finish

log = logging.getLogger("devstack")


class DevSettings(EnvSettings):
    """The local stack's own knobs; the application's settings stay in `tradebot.settings`.

    Read from the environment like them: HOST, PORT, MOTO_PORT... in any case, no prefix.
    """

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    moto_port: Annotated[int, Field(ge=0, le=65535)] = 5001  # 0: any free port
    price_update_interval_s: Annotated[float, Field(gt=0)] = 5.0
    # The reconciler runs every minute in AWS; here as often, so a lost answer settles alike.
    reconcile_interval_s: Annotated[float, Field(gt=0)] = 60.0
    order_visibility_timeout_s: Annotated[int, Field(ge=0, le=43200)] = 30
    # The same variable the executor reads: it marks a trade FAILED on the last receive, so the
    # queue's maxReceiveCount must be this number.
    order_max_receives: Annotated[int, Field(ge=1, le=1000)] = MAX_RECEIVE_COUNT
    dev_data_dir: Path = DEFAULT_DATA_DIR
    # The built web app (make dev builds it), served at / beside the API.
    web_dist: Path = WEB_DIST
    log_level: str = "INFO"


def configure_logging(level: str) -> None:
    """One plain line per event; the libraries' chatter only when something is wrong."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)-16s %(message)s",
        datefmt="%H:%M:%S",
    )
    # The application's records are printed (as JSON) by the Powertools logger. Lambda's root
    # handler gets this filter from Powertools itself, but ours is created after the import.
    for handler in logging.getLogger().handlers:
        handler.addFilter(SuppressFilter(app_logger.service))
    # Moto's web server would log every long-poll of the queue, once a second.
    for noisy in ("werkzeug", "botocore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # EMF metrics are CloudWatch's input; here they would be a JSON blob per invocation.
    # POWERTOOLS_METRICS_DISABLED=false shows them.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def migrate_database() -> None:
    """Bring the configured database (SQLite in the data dir by default) to the newest revision."""
    upgrade()
    url = make_url(get_settings().sqlalchemy_url).render_as_string(hide_password=True)
    log.info("database %s at revision %s", url, current_revision())


def start_thread(
    name: str, target: Callable[[], None], stopping: threading.Event, stack: ExitStack
) -> None:
    """Run `target` on a daemon thread; when `stack` closes, set `stopping` and join it."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()

    def join() -> None:
        stopping.set()
        thread.join(THREAD_STOP_TIMEOUT_S)
        if thread.is_alive():
            log.warning("%s did not stop within %gs; abandoning it", name, THREAD_STOP_TIMEOUT_S)

    stack.callback(join)


class ApiServer:
    """uvicorn serving every route of the table, on a thread, so that signals stay ours."""

    def __init__(self, sock: socket.socket, host: str, web_dist: Path = WEB_DIST) -> None:
        self.sock = sock
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                with_web_app(build_local_app(), web_dist),
                host=host,
                port=sock.getsockname()[1],
                log_config=None,  # uvicorn's lines in our one-line format
                lifespan="off",  # as in Lambda, where Mangum runs with lifespan="off"
                timeout_graceful_shutdown=5,
            )
        )

    def run(self, stopping: threading.Event) -> None:
        """Serve until `stop`; if uvicorn ends by itself, bring the whole stack down."""
        log.info(
            "web app at %s/, api at %s/api (Swagger UI at %s/docs)", self.url, self.url, self.url
        )
        try:
            self.server.run(sockets=[self.sock])
        finally:
            if not stopping.is_set():
                log.error("api exited unexpectedly; stopping the stack")
            stopping.set()
            log.info("api stopped")

    def stop(self) -> None:
        """Ask uvicorn to finish the requests in flight and exit."""
        self.server.should_exit = True


def run(config: DevSettings, stopping: threading.Event) -> None:
    """Start every component, wait for `stopping`, then stop them in reverse order."""
    api_socket = bind_port(config.host, config.port, variable="PORT")
    with ExitStack() as stack:
        stack.callback(api_socket.close)
        aws = LocalAws(host="127.0.0.1", port=config.moto_port)
        aws.start()
        stack.callback(aws.stop)
        point_boto3_at(aws.endpoint)

        sqs = boto3.client("sqs")
        queue = create_order_queue(
            sqs,
            visibility_timeout_s=config.order_visibility_timeout_s,
            max_receive_count=config.order_max_receives,
        )
        secret_name = create_app_secret(
            boto3.client("secretsmanager"), load_dev_secrets(config.dev_data_dir)
        )
        os.environ.update(
            {
                "SECRETS_NAME": secret_name,
                "ORDER_QUEUE_URL": queue.url,
                "ORDER_DLQ_URL": queue.dlq_url,
            }
        )
        # The data dir holds the SQLite file too, unless DATABASE_URL names another database.
        if not os.environ.get("DATABASE_URL"):
            config.dev_data_dir.mkdir(parents=True, exist_ok=True)
            os.environ["DATABASE_URL"] = f"sqlite:///{config.dev_data_dir / 'tradebot.db'}"
        # A chart point every 10 s (60 s in AWS), so a fresh stack's charts fill within minutes.
        os.environ.setdefault("PRICE_HISTORY_STEP_S", "10")
        get_settings.cache_clear()  # anything read before this point predates the variables
        migrate_database()

        # Loaded here, on one thread: two threads importing the same handler at once would race.
        executor = load_function("order_executor").handler
        updater = load_function("price_updater").handler
        reconciler = load_function("reconciler").handler
        consumer = OrderQueueConsumer(sqs, queue, executor, stopping)
        start_thread("order-consumer", consumer.run, stopping, stack)
        schedule = PriceSchedule(updater, config.price_update_interval_s, stopping)
        start_thread("price-schedule", schedule.run, stopping, stack)
        reconciling = PriceSchedule(
            reconciler,
            config.reconcile_interval_s,
            stopping,
            function_name="reconciler",
            rule_arn=RECONCILE_RULE_ARN,
            label="reconcile",
        )
        start_thread("reconcile-schedule", reconciling.run, stopping, stack)
        api = ApiServer(api_socket, config.host, config.web_dist)
        start_thread("api", lambda: api.run(stopping), stopping, stack)
        stack.callback(api.stop)  # the workers watch `stopping` themselves; uvicorn needs telling

        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stopping.wait(0.5):
            pass
    log.info("stack stopped")


def main() -> int:
    """Run the stack until SIGINT/SIGTERM; 0 on a clean stop, 1 when a port is taken."""
    config = DevSettings()
    configure_logging(config.log_level)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            log.info("%s received, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        run(config, stopping)
    except PortInUse as exc:
        log.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
