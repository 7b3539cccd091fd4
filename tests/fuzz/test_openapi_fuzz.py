"""Property-based fuzzing of the whole API from its own openapi.json (schemathesis).

Every operation of the committed document is fuzzed with generated valid (positive) and
invalid (negative) requests, authenticated as a real user, through the local app that holds
every route. Operations that take an id are fuzzed again against ids that exist, so the bodies
reach real notes and trades instead of stopping at 404. The seed is fixed (derandomized), so a
CI failure reproduces locally; every response must be documented, well-typed and not a 5xx.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.functions import ROOT
from tests.fakes.binance_server import BinanceFake
from tests.support import call, configure, register_and_login
from tests.trading_support import point_at_fake

OPENAPI = ROOT / "openapi.json"
Operation = APIOperation[Any, Any, Any, Any]
SEED = 20261125
EXAMPLES = 100  # per operation and generation mode; a small input space may need fewer
KNOWN_ID_EXAMPLES = 40  # per operation with a path id, against ids that exist
# Valid credentials cost an argon2id hash at OWASP's parameters (~75 ms); fewer of those.
HASHING_PATHS = {"/api/auth/register", "/api/auth/login"}
HASHING_EXAMPLES = 40
MIN_REQUESTS = 2000
REPORT_CHARS = 3000  # per failing operation: generated bodies can be 60 KiB
NO_LIMITS = '{"read": 10000000, "write": 10000000, "auth": 10000000}'

REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# The token comes from the fixture on every call: security itself is fuzzed by
# tests/security/test_authorization_matrix.py, not by generated Authorization headers.
SCHEMA = schemathesis.openapi.from_path(
    OPENAPI,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"with-security-parameters": False},
            # A body past the size limit is refused too, as 413 before it is parsed.
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
        }
    ),
)
# The stored exchange key decides the trading mode; a user whose key the fuzzer stored would
# send the dashboard to Binance (that path has its own tests). Binance is the fake, which
# refuses every generated key.
KEY_PATH = "/api/account/api-keys"
# Logging out ends the session of the token it is sent with: it gets a session of its own.
LOGOUT_PATH = "/api/auth/logout"

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass
class World:
    """The fuzzed app, the users whose tokens it sends, and ids that exist."""

    app: Any
    token: str
    key_token: str
    logout_token: str
    known: dict[str, list[str]]
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)


def _other_sessions(user_id: str, count: int) -> list[str]:
    """Sessions of the user besides the one the fuzzer's token belongs to (to be revoked)."""
    from tradebot.auth.sessions import open_session
    from tradebot.db.engine import unit_of_work

    with unit_of_work() as session:
        return [open_session(session, user_id).session_id for _ in range(count)]


def _create_known_ids(token: str) -> dict[str, list[str]]:
    notes = [
        call("notes_create", token=token, body={"title": f"note {n}", "tags": ["btc"]})
        for n in range(3)
    ]
    orders = [
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "50000"},
        {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quote_quantity": "25"},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0001"},
    ]
    trades = [call("trades_create", token=token, body=order) for order in orders]
    symbols = call("market_symbols", token=token)
    assert all(n.status == 201 for n in notes), [n.raw_body for n in notes]
    assert all(t.status == 202 for t in trades), [t.raw_body for t in trades]
    return {
        "note_id": [n.body["id"] for n in notes],
        "trade_id": [t.body["id"] for t in trades],
        "symbol": [s["symbol"] for s in symbols.body["items"]][:4],
    }


@pytest.fixture
def binance(monkeypatch: pytest.MonkeyPatch) -> Iterator[BinanceFake]:
    """Binance, which PUT api-keys asks about every key: a generated one is unknown there."""
    with BinanceFake() as fake:
        point_at_fake(monkeypatch, fake, timeout_s="2")
        yield fake


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, binance: BinanceFake) -> World:
    from tradebot.market.updater import refresh_prices

    from devstack.server import build_local_app

    configure(monkeypatch, rate_limits=NO_LIMITS)
    monkeypatch.delenv("ORDER_QUEUE_URL", raising=False)  # trades stay PENDING, by design
    refresh_prices()
    user_id, token = register_and_login("fuzz@example.com")
    _, key_token = register_and_login("fuzz-keys@example.com")
    _, logout_token = register_and_login("fuzz-logout@example.com")
    known = {**_create_known_ids(token), "session_id": _other_sessions(user_id, 3)}
    return World(build_local_app(), token, key_token, logout_token, known)


def _fuzz(
    world: World,
    label: str,
    operation: Operation,
    strategy: st.SearchStrategy[Case[Any]],
    examples: int = EXAMPLES,
) -> None:
    tokens = {KEY_PATH: world.key_token, LOGOUT_PATH: world.logout_token}
    token = tokens.get(operation.path, world.token)
    headers = {"Authorization": f"Bearer {token}"}

    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(case=strategy)
    def run(case: Case[Any]) -> None:
        world.requests[label] += 1
        response = case.call(app=world.app, headers=headers)
        world.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        pass  # nothing to negate (no parameters, no body): the positive run covered it
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect, report every one
        world.failures[label] = "".join(traceback.format_exception_only(exc))[:REPORT_CHARS]


def _with_known(
    operation: Operation, names: list[str], known: dict[str, list[str]]
) -> st.SearchStrategy[Case[Any]]:
    def build(values: tuple[str, ...]) -> st.SearchStrategy[Case[Any]]:
        return operation.as_strategy(path_parameters=dict(zip(names, values, strict=True)))

    return st.tuples(*(st.sampled_from(known[name]) for name in names)).flatmap(build)


def test_generated_requests_get_documented_answers_and_never_a_5xx(world: World) -> None:
    operations: list[Operation] = []
    for result in SCHEMA.get_all_operations():
        assert isinstance(result, Ok), f"openapi.json: {result.err()}"
        operations.append(result.ok())

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} [{mode.value}]"
            hashing = mode is GenerationMode.POSITIVE and operation.path in HASHING_PATHS
            examples = HASHING_EXAMPLES if hashing else EXAMPLES
            strategy = operation.as_strategy(generation_mode=mode)
            _fuzz(world, label, operation, strategy, examples)
        names = [p.name for p in operation.path_parameters]
        if names:
            strategy = _with_known(operation, names, world.known)
            label = f"{operation.label} [existing ids]"
            _fuzz(world, label, operation, strategy, KNOWN_ID_EXAMPLES)

    report = "\n\n".join(f"== {label}\n{failure}" for label, failure in world.failures.items())
    assert world.failures == {}, report
    total = sum(world.requests.values())
    print(f"\nfuzz: {total} requests, status counts {dict(sorted(world.statuses.items()))}")
    assert total >= MIN_REQUESTS, dict(world.requests)
    assert not [s for s in world.statuses if s >= 500]
    fuzzed = {label.split(" [")[0] for label in world.requests}
    assert len(fuzzed) == len(operations), "every operation of openapi.json was fuzzed"
