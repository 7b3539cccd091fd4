"""AWS for the local stack: moto's server in this process, with the queues and secret we use.

boto3 reads AWS_ENDPOINT_URL, so once `point_boto3_at` has run, the application's own code
(Powertools Parameters, any SQS client) talks to moto without knowing it is local.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet
from moto.server import ThreadedMotoServer
from tradebot.app_secrets import AppSecrets

from devstack.ports import bind_port

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

REGION = "us-east-1"
ORDER_QUEUE_NAME = "tradebot-orders.fifo"
ORDER_DLQ_NAME = "tradebot-orders-dlq.fifo"
MAX_RECEIVE_COUNT = 5
APP_SECRET_NAME = "tradebot/dev/app"  # noqa: S105 - a name, not a secret
DEV_SECRETS_FILE = "dev-secrets.json"
DUMMY_CREDENTIALS = "testing"

log = logging.getLogger("devstack.aws")


@dataclass(frozen=True)
class OrderQueue:
    """The order queue as the executor's event source mapping sees it."""

    url: str
    arn: str
    dlq_url: str


class LocalAws:
    """Moto's HTTP server on a background thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5001) -> None:
        self.host = host
        self.port = port
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        """The URL boto3 clients are pointed at."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Start the server (port 0 picks a free one) and return its endpoint."""
        if self.port:
            # ThreadedMotoServer binds in its thread and waits for it forever, so a busy port
            # would hang start-up; find out here, with a message that says what to do.
            bind_port(self.host, self.port, variable="MOTO_PORT").close()
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
        log.info("moto started on %s", self.endpoint)
        return self.endpoint

    def stop(self) -> None:
        """Stop the server; everything it held is gone (it lives in memory)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            log.info("moto stopped")


def point_boto3_at(endpoint: str) -> None:
    """Send every boto3 client of this process to `endpoint`, with keys that cannot reach AWS."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS,
            "AWS_SESSION_TOKEN": DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    # A developer's own AWS setup must not leak in: a per-service endpoint variable would beat
    # AWS_ENDPOINT_URL, and a profile that does not exist here makes boto3 refuse to start.
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_")]:
        del os.environ[name]
    os.environ.pop("AWS_PROFILE", None)


def create_order_queue(
    sqs: SQSClient, *, visibility_timeout_s: int = 30, max_receive_count: int = MAX_RECEIVE_COUNT
) -> OrderQueue:
    """The FIFO order queue and its FIFO dead-letter queue, as the AWS stack declares them.

    FIFO with the user id as MessageGroupId keeps one user's orders in sequence; without
    content-based deduplication the sender names each message (trade id + action), so a retried
    send is dropped by SQS instead of placing an order twice.
    """
    fifo: dict[QueueAttributeNameType, str] = {
        "FifoQueue": "true",
        "ContentBasedDeduplication": "false",
    }
    dlq_url = sqs.create_queue(
        QueueName=ORDER_DLQ_NAME,
        Attributes={**fifo, "MessageRetentionPeriod": str(14 * 24 * 3600)},
    )["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
    url = sqs.create_queue(
        QueueName=ORDER_QUEUE_NAME,
        Attributes={
            **fifo,
            "VisibilityTimeout": str(visibility_timeout_s),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    log.info("order queue ready: %s (dead letters: %s)", url, dlq_url)
    return OrderQueue(url=url, arn=_queue_arn(sqs, url), dlq_url=dlq_url)


def _queue_arn(sqs: SQSClient, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return attributes["QueueArn"]


def load_dev_secrets(data_dir: Path) -> dict[str, str]:
    """The local key material, generated on first run and kept in `data_dir` (mode 0600).

    Kept across restarts because issued tokens and stored (encrypted) API keys depend on it.
    """
    path = data_dir / DEV_SECRETS_FILE
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
            log.warning("%s was readable by others; made it 0600", path)
        values: dict[str, str] = json.loads(path.read_text())
    else:
        values = {
            "jwt_secret": secrets.token_urlsafe(48),
            "fernet_keys": Fernet.generate_key().decode(),
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the first byte: no window in which the keys are world-readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(values, file, indent=2)
        log.info("generated local secrets in %s", path)
    AppSecrets.model_validate(values)  # a hand-edited file fails here, not on the first login
    return values


def create_app_secret(secretsmanager: SecretsManagerClient, values: dict[str, str]) -> str:
    """Store `values` as the application's JSON secret; returns its name (SECRETS_NAME)."""
    secretsmanager.create_secret(Name=APP_SECRET_NAME, SecretString=json.dumps(values))
    log.info("secret %s ready", APP_SECRET_NAME)
    return APP_SECRET_NAME
