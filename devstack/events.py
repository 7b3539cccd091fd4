"""The sample events in `events/`, generated from the route table: `make events` writes them.

Each route's event is the API Gateway REST proxy event of its method and path, with the
Authorization header's `${ACCESS_TOKEN}` placeholder where the route needs a token (the invoker
and the tests put a real one in). What varies per route is only its input: the path parameters
(one sample value per parameter name), and the body, query and headers below; a route with a
request body and no sample here gets one built from its request model's field examples (give
the model's required fields `examples=[...]`). Workers' events follow from their trigger.
A test (tests/integration/test_route_table.py) fails when `events/` is not what this writes.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradebot.http.routes import ROUTES, WORKERS, Route, Worker

from devstack.lambda_events import EVENTS, TOKEN_PLACEHOLDER, api_event, scheduled_event

# A fixed moment, so the files change only when the table or a sample does.
SAMPLE_TIME = datetime(2026, 11, 25, 10, tzinfo=UTC)
ACCOUNT = "000000000000"
REGION = "us-east-1"
DEMO_PASSWORD = "demo-password-for-local-only"  # noqa: S105 - devstack's demo user, local only

# One sample value per path parameter name.
PATH_SAMPLES = {
    "note_id": "3f2b8c1e-6d4a-4b7e-9c2a-1e5f7a9b0c3d",
    "session_id": "7c1e4a2b-9d3f-4e5a-8b6c-0d1e2f3a4b5c",
    "trade_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "symbol": "BTCUSDT",
}


@dataclass(frozen=True)
class Sample:
    """A route's sample input, where it has one."""

    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


# What each sample answers is in tests/integration/test_sample_events.py (EXPECTED_STATUS).
SAMPLES: dict[str, Sample] = {
    "auth_register": Sample(
        {"email": "trader@example.com", "password": "correct horse battery staple"}
    ),
    "auth_login": Sample({"email": "demo@example.com", "password": DEMO_PASSWORD}),
    "password_change": Sample(
        {"current_password": "your-current-password", "new_password": "a new long passphrase"}
    ),
    "account_delete": Sample({"password": "your-current-password"}),
    # Binance's documentation example key: the Binance fake knows it.
    "api_keys_put": Sample(
        {
            "api_key": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            "api_secret": "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
            "testnet": True,
        }
    ),
    "account_events": Sample(query={"limit": "20"}),
    "limits_put": Sample({"max_open_orders": 10, "trading_paused": False}),
    "twofa_confirm": Sample({"otp": "123456"}),
    "twofa_disable": Sample({"password": DEMO_PASSWORD}, headers={"X-OTP": "123456"}),
    "notes_list": Sample(query={"limit": "20", "tag": "btc"}),
    "notes_create": Sample(
        {
            "title": "BTC breakout plan",
            "content": "Buy on a daily close above resistance; stop below the range.",
            "tags": ["btc", "plan"],
            "is_pinned": True,
        }
    ),
    "notes_update": Sample({"is_pinned": False, "tags": ["btc", "review"]}),
    "market_price_history": Sample(query={"window": "1h"}),
    "trades_create": Sample(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "0.001",
            "price": "60000.00",
        },
        headers={"Idempotency-Key": "sample-order-0001"},
    ),
    "trades_list": Sample(query={"limit": "20", "symbol": "BTCUSDT"}),
}


def _example_body(route: Route, document: dict[str, Any]) -> dict[str, Any] | None:
    """A body from the request model's field examples, for a route with no sample above."""
    operation = document["paths"][route.path][route.method.lower()]
    request = operation.get("requestBody")
    if request is None:
        return None
    schema = request["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("examples"):
            body[name] = prop["examples"][0]
        elif name in schema.get("required", ()):
            raise ValueError(
                f"{route.function}: give {name!r} examples=[...] in its request model, or add "
                "a sample to devstack/events.py SAMPLES"
            )
    return body


def route_event(route: Route, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sample API Gateway event of `route`."""
    sample = SAMPLES.get(route.function, Sample())
    body = sample.body
    if body is None and route.method in ("POST", "PUT", "PATCH") and document is not None:
        body = _example_body(route, document)
    names = re.findall(r"\{([^}]+)\}", route.path)
    parameters = {name: PATH_SAMPLES[name] for name in names}
    headers = {"Authorization": f"Bearer {TOKEN_PLACEHOLDER}"} if route.auth else {}
    return api_event(
        route.method,
        route.path.format(**parameters),
        resource=route.path,
        body=body,
        headers={**headers, **sample.headers},
        query=sample.query or None,
        path_parameters=parameters or None,
        request_id=f"sample-{route.function}",
        at=SAMPLE_TIME,
    )


def worker_event(worker: Worker, number: int) -> dict[str, Any]:
    """The sample event of a worker's trigger; `number` makes its ids distinct."""
    if worker.trigger == "schedule":
        rule = worker.function.replace("_", "-")
        return scheduled_event(
            f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}",
            event_id=f"5b3c1c2e-0000-4000-8000-{number:012d}",
            at=SAMPLE_TIME,
        )
    if worker.trigger == "sqs":
        return _order_message(number)
    if worker.trigger == "deploy":
        provider = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:provider"
        return {
            "RequestType": "Create",
            "ServiceToken": provider,
            "ResponseURL": "http://127.0.0.1/cfn-response",
            "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/tradebot/1",
            "RequestId": f"{worker.function}-1",
            "LogicalResourceId": "DatabaseMigrations",
            "ResourceType": "Custom::DatabaseMigrations",
            "ResourceProperties": {"ServiceToken": provider},
        }
    return {}  # "invoke": an operator's `aws lambda invoke` with no payload


def _order_message(number: int) -> dict[str, Any]:
    """One order-queue message, as the event source mapping delivers it."""
    trade_id = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
    sent = str(int(SAMPLE_TIME.timestamp() * 1000))
    return {
        "Records": [
            {
                "messageId": f"0c7e1f3a-0000-4000-8000-{number:012d}",
                "receiptHandle": "sample-receipt-handle",
                "body": json.dumps({"trade_id": trade_id, "action": "place"}),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": sent,
                    "MessageGroupId": "3f2b8c1e-6d4a-4b7e-9c2a-1e5f7a9b0c3d",
                    "MessageDeduplicationId": f"{trade_id}-place-29926680",
                    "SequenceNumber": "18849496460467696128",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:tradebot-orders.fifo",
                "awsRegion": REGION,
            }
        ]
    }


def render_all() -> dict[str, str]:
    """Every sample event's file name and text, as committed."""
    from devstack.openapi import openapi_document

    document = openapi_document()
    events = {route.function: route_event(route, document) for route in ROUTES}
    for number, worker in enumerate(WORKERS, start=1):
        events[worker.function] = worker_event(worker, number)
    return {f"{name}.json": json.dumps(event, indent=2) + "\n" for name, event in events.items()}


def write(directory: Path = EVENTS) -> list[str]:
    """Write every sample event; remove those of functions the table no longer has."""
    rendered = render_all()
    for stale in set(p.name for p in directory.glob("*.json")) - set(rendered):
        (directory / stale).unlink()
    changed = []
    for name, text in rendered.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    return changed


if __name__ == "__main__":
    for name in write():
        print(f"wrote events/{name}", file=sys.stderr)
