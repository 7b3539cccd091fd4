"""No secret leaves through a log line, a response or an error, and the database holds API
secrets and TOTP secrets only as sealed v2 envelopes, recovery codes only as hashes.

The whole acceptance flow runs with every logger at DEBUG: registration, login (and a failed
one), two-factor enrolment, logins and a step-up with codes and recovery codes, a stored
Binance key, paper and live trades through the executor, notes, the dashboard, error answers,
a Fernet key rotation, a sealed key copied into another user's row, a key whose secret is not
the key's, an Ed25519 key (its private key a PEM) stored, traded with, then revoked. Everything
logged
(the Powertools JSON lines, stdlib records with their tracebacks, whatever reached stdout or
stderr), everything answered and the audit trail those actions recorded is then searched for
each secret, whole and in pieces.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import String, select, update
from tradebot.accounts.sealing import Purpose, open_value
from tradebot.crypto.envelope import unseal
from tradebot.crypto.rotate import rotate_all
from tradebot.crypto.vault import generate_key
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, Base, RecoveryCode, SecurityEvent, TwoFactor, User
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage
from tradebot.twofactor import recovery, totp

from tests.conftest import TEST_FERNET_KEY, TEST_JWT_SECRET
from tests.fakes.binance_keys import new_ed25519_pem, public_key_of
from tests.fakes.binance_server import BinanceFake
from tests.support import Reply, call, configure
from tests.trading_support import API_KEY, API_SECRET, WRONG_SECRET

ED_KEY = "Ed25519KeyOfBobEd25519KeyOfBob01"

ALICE_PASSWORD = "crimson tide harbor lights 7"
ALICE_NEW_PASSWORD = "amber kite meadow signal 4"
DANA_PASSWORD = "velvet canyon paper lantern 2"
BOB_PASSWORD = "quiet orbit walnut ledger 9"
ERIN_PASSWORD = "saffron tunnel orbit maple 5"
ERIN_NEW_PASSWORD = "granite harbor violet drum 8"
GUESSED_PASSWORD = "a guessed password 123"
ALICE_API_KEY = "aliceKEY" * 8
ALICE_API_SECRET = "aliceSECRET" * 6
WINDOW = 16  # a secret must not appear whole, nor any 16 characters of it


@dataclass
class Flow:
    """What the flow produced: secrets to look for, and every answer and log line."""

    secrets: dict[str, str] = field(default_factory=dict)
    replies: list[tuple[str, Reply]] = field(default_factory=list)
    # Each secret the API hands out (an access token, a TOTP secret, a recovery code) may
    # appear in the reply that issued it, nowhere else; each refresh token only in the
    # Set-Cookie header of the reply that issued it.
    issued_by: dict[str, int] = field(default_factory=dict)
    cookie_only: set[str] = field(default_factory=set)
    # Stored ciphertexts: not secret alone (SQL at DEBUG shows them), but never in an answer nor
    # in the log line that reports a key failing its binding check.
    ciphertexts: dict[str, str] = field(default_factory=dict)

    def call(self, function: str, **kwargs: Any) -> Reply:
        reply = call(function, **kwargs)
        self.replies.append((function, reply))
        if function in ("auth_login", "auth_refresh") and reply.status == 200:
            # Searched by its signature: the header and claim prefixes are the same in all.
            signature = reply.body["access_token"].rsplit(".", 1)[-1]
            self.secrets[f"access token {len(self.issued_by) + 1}"] = signature
            self.issued_by[signature] = len(self.replies) - 1
            refresh_token = refresh_cookie_of(reply)
            if refresh_token is not None:
                self.secrets[f"refresh token {len(self.issued_by)}"] = refresh_token
                self.issued_by[refresh_token] = len(self.replies) - 1
                self.cookie_only.add(refresh_token)
        if function == "twofa_start" and reply.status == 200:
            self.issue("TOTP secret", reply.body["secret"])
        if function == "twofa_confirm" and reply.status == 200:
            for number, code in enumerate(reply.body["recovery_codes"], start=1):
                self.issue(f"recovery code {number}", code)
                plain = code.replace("-", "")
                self.issue(f"recovery code {number} as hashed", plain)
                self.issue(f"recovery code {number} as typed", plain.lower())
        return reply

    def issue(self, name: str, secret: str) -> None:
        """`secret`, handed out by the last reply: to be found nowhere else."""
        self.secrets[name] = secret
        self.issued_by[secret] = len(self.replies) - 1

    def refresh(self, refresh_token: str) -> Reply:
        """POST /api/auth/refresh with `refresh_token` as the cookie."""
        return self.call("auth_refresh", headers={"Cookie": f"__Host-refresh={refresh_token}"})


def refresh_cookie_of(reply: Reply) -> str | None:
    """The refresh token a reply sets, if it sets one."""
    cookie = reply.headers.get("set-cookie", "")
    if not cookie.startswith("__Host-refresh="):
        return None
    return cookie.split(";", 1)[0].split("=", 1)[1] or None


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """Every log record at DEBUG, formatted as Powertools and as plain stdlib lines."""
    from tradebot.observability import logger

    sink = io.StringIO()
    powertools = logging.StreamHandler(sink)
    powertools.setFormatter(logger.registered_formatter)
    plain = logging.StreamHandler(sink)
    plain.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    package, root = logging.getLogger("tradebot"), logging.getLogger()
    # Every logger, not just the root: SQLAlchemy, for one, sets its own to WARNING.
    loggers = [root, *(logging.getLogger(name) for name in list(root.manager.loggerDict))]
    levels = [(each, each.level) for each in loggers]
    package.addHandler(powertools)
    root.addHandler(plain)
    for each in loggers:
        each.setLevel(logging.DEBUG)
    try:
        yield sink
    finally:
        package.removeHandler(powertools)
        root.removeHandler(plain)
        for each, level in levels:
            each.setLevel(level)


def _execute(trade_id: str) -> None:
    Executor().execute(OrderMessage(trade_id=trade_id, action="place"))


def _run_acceptance_flow(flow: Flow, fake: BinanceFake, monkeypatch: pytest.MonkeyPatch) -> None:
    from tradebot.market.updater import refresh_prices

    refresh_prices()
    market_buy = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    limit_buy = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01"}

    # Accounts, a login, a failed login
    for email, password in (
        ("alice@example.com", ALICE_PASSWORD),
        ("bob@example.com", BOB_PASSWORD),
    ):
        assert flow.call("auth_register", body={"email": email, "password": password}).status == 201
    alice = flow.call("auth_login", body={"email": "alice@example.com", "password": ALICE_PASSWORD})
    bob = flow.call("auth_login", body={"email": "bob@example.com", "password": BOB_PASSWORD})
    wrong = {"email": "alice@example.com", "password": GUESSED_PASSWORD}
    assert flow.call("auth_login", body=wrong).status == 401
    alice_token, bob_token = alice.body["access_token"], bob.body["access_token"]
    flow.call("auth_me", token=alice_token)

    # Alice trades on paper and keeps a journal
    note = flow.call("notes_create", token=alice_token, body={"title": "plan", "tags": ["btc"]})
    path = {"note_id": note.body["id"]}
    flow.call("notes_update", token=alice_token, path_params=path, body={"is_pinned": True})
    flow.call("notes_list", token=alice_token)
    filled = flow.call("trades_create", token=alice_token, body=market_buy)
    _execute(filled.body["id"])
    resting = flow.call("trades_create", token=alice_token, body={**limit_buy, "price": "50000"})
    flow.call("trades_cancel", token=alice_token, path_params={"trade_id": resting.body["id"]})
    flow.call("trades_list", token=alice_token)
    flow.call("dashboard", token=alice_token)

    # Alice turns 2FA on, logs in with codes (and a wrong one), passes a step-up with a
    # recovery code, and sends codes where they do not belong
    spare_codes = _two_factor_flow(flow, alice_token)

    # Bob stores a Binance key and trades live
    key = {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}
    assert flow.call("api_keys_put", token=bob_token, body=key).status == 200
    flow.call("api_keys_get", token=bob_token)
    live = flow.call("trades_create", token=bob_token, body=market_buy)
    _execute(live.body["id"])
    flow.call("trades_get", token=bob_token, path_params={"trade_id": live.body["id"]})
    flow.call("dashboard", token=bob_token)

    # Errors that hold secrets in what was sent
    bad_key = {"api_key": API_KEY, "api_secret": API_SECRET + "!"}
    flow.call("api_keys_put", token=bob_token, body=bad_key)
    flow.call("api_keys_put", token=bob_token, body={"api_key": API_KEY, "api_secret": 7})
    flow.call("auth_login", body=f'{{"email": "bob@example.com", "password": "{BOB_PASSWORD}"')
    flow.call("auth_register", body={"email": "carol@example.com", "password": BOB_PASSWORD * 9})
    flow.call("notes_create", token=bob_token, body={"title": API_SECRET * 1200})
    flow.call("auth_me", headers={"Authorization": f"Bearer {alice_token}x"})
    flow.call("auth_me", headers={"Authorization": f"Basic {bob_token}"})

    # A Fernet key rotation: add the new key, rotate, drop the old one; trading goes on
    new_key = generate_key()
    flow.secrets["new Fernet key"] = new_key
    configure(monkeypatch, fernet_keys=f"{new_key},{TEST_FERNET_KEY}")
    assert rotate_all().rewritten == 1
    configure(monkeypatch, fernet_keys=new_key)
    flow.call("api_keys_get", token=bob_token)
    again = flow.call("trades_create", token=bob_token, body=market_buy)
    _execute(again.body["id"])
    flow.call("trades_create", token=alice_token, body=market_buy)

    # Bob's sealed key copied into Alice's row: refused (400) and marked invalid, and neither
    # the ciphertexts nor either key shows up anywhere
    alice_key = {"api_key": ALICE_API_KEY, "api_secret": ALICE_API_SECRET, "testnet": True}
    fake.other_keys[ALICE_API_KEY] = ALICE_API_SECRET
    # (her step-ups with recovery codes: her TOTP secret was re-sealed by the rotation too)
    step_up = {"X-OTP": spare_codes[0]}
    put = flow.call("api_keys_put", token=alice_token, body=alice_key, headers=step_up)
    assert put.status == 200
    _copy_sealed_key(flow, "bob@example.com", "alice@example.com")
    assert flow.call("trades_create", token=alice_token, body=market_buy).status == 400
    assert flow.call("dashboard", token=alice_token).status == 400
    step_up = {"X-OTP": spare_codes[1]}
    assert flow.call("api_keys_delete", token=alice_token, headers=step_up).status == 204

    # A key whose secret is not the key's: refused before it is stored
    refused = {"api_key": API_KEY, "api_secret": WRONG_SECRET, "testnet": True}
    assert flow.call("api_keys_put", token=bob_token, body=refused).status == 422
    # An Ed25519 key: a PEM that is not one, then the key stored and traded with
    pem = new_ed25519_pem()
    flow.secrets["Ed25519 private key"] = "".join(pem.splitlines()[1:-1])
    fake.ed25519_keys[ED_KEY] = public_key_of(pem)
    broken = {"api_key": ED_KEY, "private_key": pem.replace("-----END", "AAAA-----END")}
    assert flow.call("api_keys_put", token=bob_token, body=broken).status == 422
    ed_key = {"api_key": ED_KEY, "private_key": pem, "testnet": True}
    assert flow.call("api_keys_put", token=bob_token, body=ed_key).status == 200
    signed = flow.call("trades_create", token=bob_token, body=market_buy)
    _execute(signed.body["id"])
    # Binance revokes it: refused with Binance's reason, and not used again
    del fake.ed25519_keys[ED_KEY]
    fake.other_keys.clear()
    flow.call("dashboard", token=bob_token)
    rejected = flow.call("trades_create", token=bob_token, body=market_buy)
    if rejected.status == 202:
        _execute(rejected.body["id"])
        path = {"trade_id": rejected.body["id"]}
        assert flow.call("trades_get", token=bob_token, path_params=path).body["reason"]
    assert flow.call("api_keys_get", token=bob_token).body["status"] == "invalid"
    flow.call("dashboard", token=bob_token)
    flow.call("api_keys_delete", token=bob_token)
    assert fake.placed_orders, "the live orders reached the Binance fake"

    # Sessions (Erin, without 2FA): refreshes rotate the cookie; an old one presented again
    # ends the session
    erin = {"email": "erin@example.com", "password": ERIN_PASSWORD}
    assert flow.call("auth_register", body=erin).status == 201
    first = refresh_cookie_of(flow.call("auth_login", body=erin))
    assert first is not None
    second = refresh_cookie_of(flow.refresh(first))
    assert second is not None
    third = refresh_cookie_of(flow.refresh(second))
    assert third is not None
    assert flow.refresh(first).status == 401  # reuse: Erin's session is over
    assert flow.refresh(third).status == 401
    erin_token = flow.call("auth_login", body=erin).body["access_token"]
    flow.call("sessions_list", token=erin_token)
    # A new password (and a wrong current one), a logout, a login with the new password
    change = {"current_password": GUESSED_PASSWORD, "new_password": ERIN_NEW_PASSWORD}
    assert flow.call("password_change", token=erin_token, body=change).status == 401
    change = {"current_password": ERIN_PASSWORD, "new_password": ERIN_NEW_PASSWORD}
    assert flow.call("password_change", token=erin_token, body=change).status == 204
    assert flow.call("auth_logout", token=erin_token).status == 204
    new_login = {"email": "erin@example.com", "password": ERIN_NEW_PASSWORD}
    assert flow.call("auth_login", body=new_login).status == 200
    # Alice (2FA on) changes hers with a recovery code as the step-up
    change = {"current_password": ALICE_PASSWORD, "new_password": ALICE_NEW_PASSWORD}
    step_up = {"X-OTP": spare_codes[2]}
    reply = flow.call("password_change", token=alice_token, body=change, headers=step_up)
    assert reply.status == 204

    # Dana deletes her account (after a wrong password)
    dana = {"email": "dana@example.com", "password": DANA_PASSWORD}
    assert flow.call("auth_register", body=dana).status == 201
    dana_token = flow.call("auth_login", body=dana).body["access_token"]
    wrong_password = {"password": GUESSED_PASSWORD}
    assert flow.call("account_delete", token=dana_token, body=wrong_password).status == 401
    right_password = {"password": DANA_PASSWORD}
    assert flow.call("account_delete", token=dana_token, body=right_password).status == 204

    # Their audit trails, which name the logins, the keys and the orders of all of the above
    flow.call("account_events", token=alice_token)
    flow.call("account_events", token=bob_token)


def _copy_sealed_key(flow: Flow, source: str, target: str) -> None:
    """The attack: one user's stored ciphertexts written into another user's row."""
    with unit_of_work() as session:
        owner_of = {u.email: u.id for u in session.scalars(select(User))}
        stolen = session.scalars(
            select(ApiCredential).where(ApiCredential.user_id == owner_of[source])
        ).one()
        flow.ciphertexts["stolen key"] = stolen.api_key_encrypted
        flow.ciphertexts["stolen secret"] = stolen.api_secret_encrypted
        session.execute(
            update(ApiCredential)
            .where(ApiCredential.user_id == owner_of[target])
            .values(
                api_key_encrypted=stolen.api_key_encrypted,
                api_secret_encrypted=stolen.api_secret_encrypted,
            )
        )


def _two_factor_flow(flow: Flow, token: str) -> list[str]:
    """Alice's 2FA story; returns the recovery codes it left unused."""
    secret = totp.decode_secret(flow.call("twofa_start", token=token).body["secret"])
    now = totp.step_at(time.time())
    confirm = {"otp": totp.code_at(secret, now)}
    codes: list[str] = flow.call("twofa_confirm", token=token, body=confirm).body["recovery_codes"]
    login = {"email": "alice@example.com", "password": ALICE_PASSWORD}
    assert flow.call("auth_login", body=login).status == 401  # otp-required
    assert (
        flow.call("auth_login", body={**login, "otp": totp.code_at(secret, now + 5)}).status == 401
    )
    assert flow.call("auth_login", body={**login, "otp": codes[0]}).status == 200
    assert flow.call("auth_login", body={**login, "otp": codes[0]}).status == 401  # used
    assert (
        flow.call("auth_login", body={**login, "otp": totp.code_at(secret, now + 1)}).status == 200
    )
    typed = codes[6].replace("-", "").lower()
    assert flow.call("auth_login", body={**login, "otp": typed}).status == 200
    assert flow.call("auth_login", body={**login, "otp": typed}).status == 401  # used
    step_up = {"X-OTP": codes[1]}
    assert flow.call("api_keys_delete", token=token, headers=step_up).status == 204
    assert flow.call("api_keys_delete", token=token, headers=step_up).status == 401  # used
    flow.call("api_keys_delete", token=token, headers={"X-OTP": codes[2] * 2})
    flow.call("twofa_confirm", token=token, body={"otp": codes[3] * 2})
    flow.call("auth_login", body=f'{{"email": "alice@example.com", "otp": "{codes[4]}"')
    flow.call(
        "twofa_disable",
        token=token,
        body={"password": GUESSED_PASSWORD},
        headers={"X-OTP": codes[5]},
    )
    flow.call("twofa_start", token=token)  # 409: already on
    return codes[7:]


def _pieces(secret: str) -> set[str]:
    if len(secret) <= WINDOW:
        return {secret}
    return {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, secret in secrets.items() if any(p in text for p in _pieces(secret))]


def test_no_secret_in_any_log_line_response_or_error(
    binance_fake: BinanceFake,
    debug_logs: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow = Flow(
        secrets={
            "Alice's password": ALICE_PASSWORD,
            "Alice's new password": ALICE_NEW_PASSWORD,
            "Erin's password": ERIN_PASSWORD,
            "Erin's new password": ERIN_NEW_PASSWORD,
            "Dana's password": DANA_PASSWORD,
            "Bob's password": BOB_PASSWORD,
            "a guessed password": GUESSED_PASSWORD,
            "API key": API_KEY,
            "API secret": API_SECRET,
            "Alice's API key": ALICE_API_KEY,
            "Alice's API secret": ALICE_API_SECRET,
            "refused API secret": WRONG_SECRET,
            "Fernet key": TEST_FERNET_KEY,
            "JWT key": TEST_JWT_SECRET,
        }
    )

    _run_acceptance_flow(flow, binance_fake, monkeypatch)

    captured = capfd.readouterr()
    logs = debug_logs.getvalue() + captured.out + captured.err
    assert "prices refreshed" in logs, "the capture saw the application's log lines"
    assert _leaks(logs, flow.secrets) == []
    refusals = [line for line in logs.splitlines() if "failed its binding check" in line]
    assert refusals, "the copied key was refused and logged"
    assert _leaks("\n".join(refusals), flow.ciphertexts) == []
    assert all(_leaks(reply.raw_body, flow.ciphertexts) == [] for _, reply in flow.replies)
    for index, (function, reply) in enumerate(flow.replies):
        secrets = {
            name: secret
            for name, secret in flow.secrets.items()
            if flow.issued_by.get(secret) != index  # a login reply carries its own token
        }
        headers = "\n".join(f"{k}: {v}" for k, v in reply.headers.items())
        assert _leaks(reply.raw_body + headers, secrets) == [], (function, reply.status)
        # Its own refresh token it carries in the Set-Cookie header alone
        own_cookie = {n: s for n, s in flow.secrets.items() if s in flow.cookie_only}
        other_headers = "\n".join(
            f"{k}: {v}" for k, v in reply.headers.items() if k != "set-cookie"
        )
        assert _leaks(reply.raw_body + other_headers, own_cookie) == [], (function, reply.status)
    assert len(flow.replies) >= 30
    # The audit trail as stored (what the list shows, and the request ids it does not)
    with unit_of_work() as session:
        events = session.scalars(select(SecurityEvent)).all()
        trail = "\n".join(
            f"{e.type} {e.ip} {e.user_agent} {e.request_id} {e.detail}" for e in events
        )
        types = {e.type for e in events}
    assert {"login", "login_failed", "key_stored", "key_deleted", "order_placed"} <= types
    assert "2fa_enabled" in types
    assert {"key_refused", "key_invalidated"} <= types
    assert {"refresh_reuse", "password_changed", "logout"} <= types
    assert _leaks(trail, flow.secrets) == []


def test_the_database_holds_api_and_totp_secrets_only_as_sealed_envelopes(
    binance_fake: BinanceFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = Flow()
    register = {"email": "dana@example.com", "password": ALICE_PASSWORD}
    assert flow.call("auth_register", body=register).status == 201
    login = flow.call("auth_login", body=register)
    token = login.body["access_token"]
    refresh_token = refresh_cookie_of(login)
    assert refresh_token is not None
    rotated = refresh_cookie_of(flow.refresh(refresh_token))
    assert rotated is not None
    key = {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}
    assert flow.call("api_keys_put", token=token, body=key).status == 200
    totp_secret = flow.call("twofa_start", token=token).body["secret"]
    first_code = totp.code_at(totp.decode_secret(totp_secret), totp.step_at(time.time()))
    confirm = flow.call("twofa_confirm", token=token, body={"otp": first_code})
    codes = confirm.body["recovery_codes"]

    with unit_of_work() as session:
        credential = session.scalars(select(ApiCredential)).one()
        tokens = credential.api_key_encrypted, credential.api_secret_encrypted
        sealed_totp_secret = session.scalars(select(TwoFactor.secret_encrypted)).one()
        code_hashes = set(session.scalars(select(RecoveryCode.code_hash)))
        text = [
            str(value)
            for table in Base.metadata.sorted_tables
            for row in session.execute(table.select()).mappings()
            for column, value in row.items()
            if isinstance(table.c[column].type, String) and value is not None
        ]

    # v2 envelopes sealed to the owner, which open to the key and secret
    assert all(t.startswith("v2.") for t in tokens)
    owner = (credential.user_id, credential.id)
    purposes: tuple[Purpose, Purpose] = ("api_key", "api_secret")
    opened = [
        open_value(t, *owner, p).get_secret_value() for t, p in zip(tokens, purposes, strict=True)
    ]
    assert opened == [API_KEY, API_SECRET]
    assert credential.api_key_hint == f"{API_KEY[:4]}…{API_KEY[-4:]}"
    # The TOTP secret sealed to its user too; the recovery codes as SHA-256 of user id and code
    user_id = flow.replies[0][1].body["id"]
    assert sealed_totp_secret.startswith("v2.")
    context = {"user_id": user_id, "purpose": "totp"}
    assert unseal(sealed_totp_secret, context).get_secret_value() == totp_secret
    assert code_hashes == {recovery.code_hash(user_id, code) for code in codes}
    # And no text column anywhere holds a plaintext secret, password, token or code
    secrets = {
        "key": API_KEY,
        "secret": API_SECRET,
        "password": ALICE_PASSWORD,
        "token": token.rsplit(".", 1)[-1],
        "TOTP secret": totp_secret,
        "refresh token": refresh_token,
        "rotated refresh token": rotated,
    }
    for number, code in enumerate(codes):
        secrets[f"recovery code {number}"] = code
        secrets[f"recovery code {number} without dashes"] = code.replace("-", "")
    assert _leaks("\n".join(text), secrets) == []
