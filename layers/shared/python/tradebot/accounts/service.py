"""Store, show (masked) and forget a user's exchange key."""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from tradebot.accounts.keycheck import CheckedKey, check_key, secret_field
from tradebot.accounts.schemas import ApiKeyCreate, ApiKeyPublic, KeyType
from tradebot.accounts.sealing import (
    NOT_BOUND,
    KeyNotBound,
    invalidate_unbound,
    open_value,
    seal_value,
)
from tradebot.audit.events import record_event
from tradebot.cache.ratelimit import check_rate
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, Trade, new_id, utcnow
from tradebot.errors import (
    InvalidInput,
    KeyRefused,
    LiveOrdersOpen,
    NotFound,
    OpenOrder,
    StoredKeyRefused,
)
from tradebot.orders.state import MAY_BE_OPEN, OPEN
from tradebot.settings import get_settings

# Orders the exchange has, or may have: what follows a key replacing a refused one.
ON_THE_EXCHANGE = OPEN | {"RECONCILING"}

# How many of the open orders a refused key change names (the count says how many there are).
NAMED_OPEN_ORDERS = 5


def mask(api_key: str) -> str:
    """First four and last four characters, the rest elided."""
    return f"{api_key[:4]}…{api_key[-4:]}"


def _public(credential: ApiCredential) -> ApiKeyPublic:
    return ApiKeyPublic(
        exchange="binance",
        api_key_hint=credential.api_key_hint,
        testnet=credential.testnet,
        created_at=credential.created_at,
        key_type=cast(KeyType, credential.key_type),
        status="invalid" if credential.invalidated_at is not None else "valid",
        invalid_reason=credential.invalid_reason,
        ip_restricted=credential.ip_restricted,
        permissions=list(credential.permissions or []),
    )


def store_checked_key(user_id: str, body: ApiKeyCreate) -> ApiKeyPublic:
    """Check the key with the exchange, then store it: PUT /api/account/api-keys.

    Nothing is stored unless the exchange accepted it. A refusal (422) is recorded as a
    `key_refused` event, committed although the request fails; an exchange that could not be
    asked is a 503 or 502 with nothing stored or recorded.
    """
    if body.api_secret is None and body.private_key is None:
        raise InvalidInput.on("api_secret", "is required (or private_key, for an Ed25519 key)")
    if body.api_secret is not None and body.private_key is not None:
        raise InvalidInput.on(
            "private_key", "give api_secret (an HMAC key) or private_key (Ed25519), not both"
        )
    with unit_of_work() as session:
        # Checked again under the row lock when storing; refused here before Binance is asked.
        stored = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
        _refuse_change_while_orders_open(session, user_id, stored, body.testnet)
    settings = get_settings()
    # Each check spends request weight of the IP every user shares: a user cannot spend much.
    check_rate(
        "key_check", f"user:{user_id}", settings.key_check_limit, settings.key_check_window_s
    )
    try:
        checked = check_key(body)
    except KeyRefused as exc:
        reasons = ", ".join(f"{e.field} {e.message}" for e in exc.errors)
        with unit_of_work() as session:
            record_event(session, user_id, "key_refused", detail=f"{_venue(body)}: {reasons}")
        raise
    with unit_of_work() as session:
        return store_api_key(session, user_id, body, checked)


def _refuse_change_while_orders_open(
    session: Session, user_id: str, credential: ApiCredential | None, testnet: bool
) -> None:
    """`LiveOrdersOpen` (409, recorded as `key_refused`) when replacing `credential` with a key
    for `testnet` would strand live orders that may be open."""
    if credential is None:
        return
    venue = "testnet" if testnet else "live"
    refused = credential.invalidated_at is not None
    try:
        refuse_while_live_orders_open(session, user_id, other_than=venue if refused else None)
    except LiveOrdersOpen:
        # The refusal is what is recorded: committed (nothing else was written) before
        # the 409 rolls the request back.
        record_event(session, user_id, "key_refused", detail="live orders may be open")
        session.commit()
        raise


def _venue(body: ApiKeyCreate) -> str:
    """A key offered, as events name it: its venue and masked hint (never the key)."""
    return f"{'testnet' if body.testnet else 'live'} key {mask(body.api_key.get_secret_value())}"


def store_api_key(
    session: Session, user_id: str, body: ApiKeyCreate, checked: CheckedKey
) -> ApiKeyPublic:
    """Encrypt and store a key the exchange accepted (`checked`), replacing any earlier one;
    the user trades live from now."""
    secret = body.private_key if body.private_key is not None else body.api_secret
    if secret is None:
        raise InvalidInput.on(secret_field(body), "is required")
    api_key = body.api_key.get_secret_value()
    credential = _locked_credential(session, user_id)
    if credential is None:
        credential = ApiCredential(id=new_id(), user_id=user_id)
        session.add(credential)
    else:
        old_id, refused = credential.id, credential.invalidated_at is not None
        venue = "testnet" if body.testnet else "live"
        _refuse_change_while_orders_open(session, user_id, credential, body.testnet)
        # A new key is a new credential: orders accepted for the old one are never placed
        # with this one (the executor compares the trade's credential id).
        credential.id = new_id()
        if refused:
            # The old key was refused by the exchange, so its open orders could be neither
            # canceled nor followed: they move to the new key of the same venue (a key of the
            # same account sees them; another account's reports them unknown, which ends them).
            session.execute(
                update(Trade)
                .where(
                    Trade.user_id == user_id,
                    Trade.credential_id == old_id,
                    Trade.venue == venue,
                    Trade.status.in_(sorted(ON_THE_EXCHANGE)),
                )
                .values(credential_id=credential.id)
                .execution_options(synchronize_session=False)
            )
    credential.exchange = "binance"
    # Sealed to this user and this credential id: copied into another row, they do not open.
    credential.api_key_encrypted = seal_value(user_id, credential.id, "api_key", api_key)
    credential.api_secret_encrypted = seal_value(
        user_id, credential.id, "api_secret", secret.get_secret_value()
    )
    credential.api_key_hint = mask(api_key)
    credential.testnet = body.testnet
    credential.key_type = body.key_type
    credential.ip_restricted = checked.ip_restricted
    credential.permissions = checked.permissions
    credential.invalidated_at = credential.invalid_reason = None
    credential.created_at = utcnow()
    record_event(session, user_id, "key_stored", detail=_describe(credential))
    session.flush()
    return _public(credential)


def _describe(credential: ApiCredential) -> str:
    """A key as events name it: its venue and the masked hint the API shows anyway."""
    return f"{'testnet' if credential.testnet else 'live'} key {credential.api_key_hint}"


def get_api_key(session: Session, user_id: str) -> ApiKeyPublic:
    """The stored key, masked; 404 when none is stored."""
    credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    if credential is None:
        raise NotFound("No API key is stored")
    return _public(credential)


def delete_api_key(session: Session, user_id: str) -> None:
    """Forget the key; the user is back to paper trading. Idempotent; 409 while live orders
    may be open."""
    credential = _locked_credential(session, user_id)
    if credential is None:
        return
    refuse_while_live_orders_open(session, user_id)
    record_event(session, user_id, "key_deleted", detail=_describe(credential))
    session.execute(delete(ApiCredential).where(ApiCredential.user_id == user_id))


def _locked_credential(session: Session, user_id: str) -> ApiCredential | None:
    # Locked until the change commits: an order being accepted holds a share lock on this row
    # (orders.service.place_trade), so no live order can be accepted between the check for
    # open orders and the change, nor be missed by a check running while it is accepted.
    return session.scalar(
        select(ApiCredential).where(ApiCredential.user_id == user_id).with_for_update()
    )


def refuse_while_live_orders_open(
    session: Session, user_id: str, other_than: str | None = None
) -> None:
    """Raise `LiveOrdersOpen` naming a few of the user's live orders that may be open.

    Such an order was placed with the stored key; with the key replaced or gone it could no
    longer be canceled, looked up or reconciled, and a fill would go unrecorded. The caller
    holds the credential's row lock. `other_than`: a venue whose orders are moved to the new
    key (replacing a key the exchange refused), so only orders elsewhere stand in the way.
    """
    may_be_open: list[ColumnElement[bool]] = [
        Trade.user_id == user_id, Trade.venue != "paper", Trade.status.in_(sorted(MAY_BE_OPEN))
    ]  # fmt: skip
    if other_than is not None:
        may_be_open.append(Trade.venue != other_than)
    rows = session.execute(
        select(Trade.id, Trade.symbol, Trade.status)
        .where(*may_be_open)
        .order_by(Trade.created_at, Trade.id)
        .limit(NAMED_OPEN_ORDERS)
    ).all()
    if not rows:
        return
    total = len(rows)
    if total == NAMED_OPEN_ORDERS:
        total = session.scalar(select(func.count()).select_from(Trade).where(*may_be_open)) or 0
    named = ", ".join(f"{row.symbol} {row.status} {row.id}" for row in rows)
    more = f" and {total - len(rows)} more" if total > len(rows) else ""
    raise LiveOrdersOpen(
        f"{total} live order(s) placed with this key may still be open on the exchange: "
        f"{named}{more}. Cancel them with POST /api/trading/cancel-all and change the key "
        "once none is open.",
        [OpenOrder(id=row.id, symbol=row.symbol, status=row.status) for row in rows],
    )


class StoredKey(Protocol):
    """What a stored key is decrypted from: an `ApiCredential`, or a row with its columns."""

    @property
    def user_id(self) -> str: ...
    @property
    def api_key_hint(self) -> str | None: ...
    @property
    def invalid_reason(self) -> str | None: ...
    @property
    def api_key_encrypted(self) -> str | None: ...
    @property
    def api_secret_encrypted(self) -> str | None: ...
    @property
    def testnet(self) -> bool | None: ...
    @property
    def key_type(self) -> str | None: ...


def decrypt_credentials(stored: StoredKey | None, credential_id: str) -> ExchangeCredentials | None:
    """The decrypted key of credential `credential_id`, or None when none is stored.

    Raises `KeyNotBound` (tradebot.accounts.sealing) when it was not sealed for this owner and
    credential: the caller marks it invalid (`invalidate_unbound`) and does not use it.
    """
    if stored is None or stored.api_key_encrypted is None or stored.api_secret_encrypted is None:
        return None
    owner, hint = stored.user_id, stored.api_key_hint
    if stored.invalid_reason == NOT_BOUND:
        raise KeyNotBound(owner, credential_id)  # found not bound before: never opened again
    return ExchangeCredentials(
        api_key=open_value(stored.api_key_encrypted, owner, credential_id, "api_key", hint),
        api_secret=open_value(stored.api_secret_encrypted, owner, credential_id, "api_secret"),
        testnet=bool(stored.testnet),
        key_type="ed25519" if stored.key_type == "ed25519" else "hmac",
    )


def stored_key_refused(reason: str | None) -> StoredKeyRefused:
    """The 409 for a request that would use a key the exchange refused since it was stored."""
    why = f" ({reason})" if reason else ""
    return StoredKeyRefused(
        f"The stored API key was refused by the exchange{why}; it is not used until a key is "
        "stored anew with PUT /api/account/api-keys"
    )


def usable_credentials(
    session: Session, stored: StoredKey | None, credential_id: str
) -> ExchangeCredentials | None:
    """As `decrypt_credentials`, for workers: a key not bound to its owner is marked invalid in
    `session` (committed with it) and None returned, as for a key that is gone."""
    try:
        return decrypt_credentials(stored, credential_id)
    except KeyNotBound as error:
        invalidate_unbound(session, error)
        return None


def load_credentials(session: Session, user_id: str) -> ExchangeCredentials | None:
    """Decrypted credentials for the exchange client, or None in paper mode; `KeyNotBound`
    when the stored key is not this user's (run it under `sealing.keys_checked`)."""
    credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    return None if credential is None else decrypt_credentials(credential, credential.id)
