"""Real-shaped Lambda events and a fake context, for the invoker, the local stack and tests."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict, Unpack

from devstack.functions import ROOT

EVENTS = ROOT / "events"
TOKEN_PLACEHOLDER = "${ACCESS_TOKEN}"  # noqa: S105 - a placeholder, not a token


@dataclass
class FakeLambdaContext:
    """The attributes Powertools and Mangum read from a Lambda context."""

    function_name: str = "local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline_ms: int = field(default_factory=lambda: int(time.time() * 1000) + 30_000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def load_event(path: str | Path, access_token: str | None = None) -> dict[str, Any]:
    """A sample event from `events/`, with `${ACCESS_TOKEN}` replaced when a token is given."""
    text = Path(path).read_text()
    if access_token is not None:
        text = text.replace(TOKEN_PLACEHOLDER, access_token)
    event: dict[str, Any] = json.loads(text)
    return event


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as API Gateway sends it to a Lambda."""
    now = at or datetime.now(UTC)
    all_headers = {"Host": "localhost", "Accept": "application/json", **(headers or {})}
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    if raw_body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": request_id or str(uuid.uuid4()),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": "local-invoke"},
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


class RouteRequest(TypedDict, total=False):
    """What a client puts in a call to a route besides its token."""

    body: Any
    path_params: dict[str, str] | None
    query: dict[str, str] | None
    headers: dict[str, str] | None
    source_ip: str


def route_event(
    function: str, token: str | None = None, **request: Unpack[RouteRequest]
) -> dict[str, Any]:
    """The proxy event of a call to `function`'s route (from the route table), as a client with
    `token` would make it."""
    from tradebot.http.routes import route_named

    route = route_named(function)
    path = route.path
    path_params = request.get("path_params")
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    headers = dict(request.get("headers") or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return api_event(
        route.method,
        path,
        resource=route.path,
        body=request.get("body"),
        headers=headers,
        query=request.get("query"),
        path_parameters=path_params,
        source_ip=request.get("source_ip", "127.0.0.1"),
    )


def sqs_event(
    bodies: list[str],
    *,
    queue_arn: str,
    receipt_handles: list[str] | None = None,
    message_ids: list[str] | None = None,
    receive_count: int = 1,
    group_id: str | None = None,
) -> dict[str, Any]:
    """An SQS event with one record per body, as the event source mapping delivers it."""
    records = []
    for i, body in enumerate(bodies):
        attributes = {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(int(time.time() * 1000)),
            "SenderId": "000000000000",
            "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
        }
        if group_id:
            attributes["MessageGroupId"] = group_id
        records.append(
            {
                "messageId": message_ids[i] if message_ids else str(uuid.uuid4()),
                "receiptHandle": receipt_handles[i] if receipt_handles else f"handle-{i}",
                "body": body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 3 else "us-east-1",
            }
        )
    return {"Records": records}


def scheduled_event(
    rule_arn: str = "arn:aws:events:us-east-1:000000000000:rule/price-updater",
    *,
    event_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An EventBridge scheduled event."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [rule_arn],
        "detail": {},
    }
