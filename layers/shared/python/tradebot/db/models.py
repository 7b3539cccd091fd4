"""SQLAlchemy 2 models: users, API credentials, trades, risk limits, paper balances, notes and
their tags, security events, second factors and recovery codes, login sessions and their refresh
tokens, failed logins counted while Redis is down."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tradebot.db.types import ExactDecimal, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def new_id() -> str:
    """A fresh opaque id."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    credential: Mapped[ApiCredential | None] = relationship(
        back_populates="user", uselist=False, lazy="raise"
    )


class ApiCredential(Base):
    """A user's exchange key; key and secret are stored only as v2 envelopes sealed to this user
    and this credential id (tradebot.crypto.envelope), or as legacy Fernet tokens until rotated.

    `api_secret_encrypted` holds the HMAC secret, or for an Ed25519 key its private key (PEM):
    `key_type` tells them apart.
    """

    __tablename__ = "api_credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=False
    )
    exchange: Mapped[str] = mapped_column(String(32), default="binance")
    api_key_encrypted: Mapped[str] = mapped_column(Text)
    api_secret_encrypted: Mapped[str] = mapped_column(Text)
    api_key_hint: Mapped[str] = mapped_column(String(16))
    testnet: Mapped[bool] = mapped_column(Boolean, default=True)
    key_type: Mapped[str] = mapped_column(String(8), default="hmac", server_default="hmac")
    # What the exchange said when the key was checked before it was stored: whether it is
    # restricted to trusted IPs (None: not known, e.g. testnet), and what it may do.
    ip_restricted: Mapped[bool | None] = mapped_column(Boolean)
    permissions: Mapped[list[str] | None] = mapped_column(JSON)
    # Set when the exchange refused the key (-2014/-2015...): it is not used again, and the
    # user's orders are not synced, until a key is stored anew (a new credential).
    invalidated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    invalid_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="credential", lazy="raise")


class Trade(Base):
    """One order and its life on the exchange; money columns are exact decimals."""

    __tablename__ = "trades"
    __table_args__ = (
        UniqueConstraint("user_id", "client_order_id"),
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_trades_symbol_status", "symbol", "status"),
        Index("ix_trades_user_id_status", "user_id", "status"),
        Index("ix_trades_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    quote_quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(20), default="PENDING")
    executed_qty: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    cumulative_quote_qty: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    avg_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    fee: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    fee_asset: Mapped[str | None] = mapped_column(String(16))
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    client_order_id: Mapped[str] = mapped_column(String(36))
    trading_mode: Mapped[str] = mapped_column(String(8), default="paper")
    # The account the order was accepted for (paper, testnet, live) and, off paper, the stored
    # credential it was validated against: the executor places it with that credential only.
    venue: Mapped[str] = mapped_column(String(8), default="paper")
    credential_id: Mapped[str | None] = mapped_column(String(36))
    # Every commission asset and amount, [{"asset": "BNB", "amount": "0.0001"}]; fee/fee_asset
    # repeat the first. fee_pending: a fill was recorded whose fee could not be read yet.
    fees: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    fee_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the last placement request left (our clock, aligned to the exchange's): the start of
    # the window in which Binance may still accept it (timestamp + recvWindow).
    placement_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # RECONCILING bookkeeping: since when, how many look-ups, and when absence was first seen.
    reconcile_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reconcile_checks: Mapped[int] = mapped_column(Integer, default=0)
    reconcile_absent_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A sync message is in flight since then (at most one per trade).
    sync_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
    # Idempotency-Key of the request that created the trade, and a hash of that request's body.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Set when an executor takes the order to the exchange; guards against a second placement.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stop_triggered: Mapped[bool] = mapped_column(Boolean, default=False)
    # The order's value in the quote asset as checked against the risk limits when accepted
    # (a MARKET order by quantity at the market price then); counted in the daily notional.
    notional: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Position(Base):
    """A user's holding of one symbol's base asset, kept by the average-cost method.

    Updated in the same transaction as every fill, so the dashboard reads a few rows instead of
    replaying a trade history.
    """

    __tablename__ = "positions"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    symbol: Mapped[str] = mapped_column(String(20), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    avg_entry_price: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    volume: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    fills: Mapped[int] = mapped_column(Integer, default=0)
    wins: Mapped[int] = mapped_column(Integer, default=0)
    losses: Mapped[int] = mapped_column(Integer, default=0)
    # PnL realized so far by the round trip still open (a win or loss is counted when it closes).
    trip_pnl: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RiskLimits(Base):
    """A user's own risk limits and kill switch; a missing row or a NULL limit is the default.

    Also the row place_trade locks (FOR UPDATE) so the user's concurrent orders are checked
    against the limits one after another.
    """

    __tablename__ = "risk_limits"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    max_open_orders: Mapped[int | None] = mapped_column(Integer)
    max_orders_per_minute: Mapped[int | None] = mapped_column(Integer)
    max_order_notional: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    max_daily_notional: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    trading_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PaperBalance(Base):
    """A paper-trading balance of one asset."""

    __tablename__ = "paper_balances"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    free: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    locked: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))


class Note(Base):
    """A trading-journal entry, optionally linked to one of its author's trades."""

    __tablename__ = "notes"
    __table_args__ = (
        Index("ix_notes_user_id_is_pinned", "user_id", "is_pinned"),
        Index("ix_notes_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    is_pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    trade_id: Mapped[str | None] = mapped_column(ForeignKey("trades.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    tags: Mapped[list[NoteTag]] = relationship(
        back_populates="note",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="NoteTag.tag",
    )


class NoteTag(Base):
    """One tag on a note; a table rather than an array so the tag filter is indexed everywhere."""

    __tablename__ = "note_tags"
    __table_args__ = (Index("ix_note_tags_tag_note_id", "tag", "note_id"),)

    note_id: Mapped[str] = mapped_column(
        ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)

    note: Mapped[Note] = relationship(back_populates="tags")


class SecurityEvent(Base):
    """One entry of a user's audit trail: written with the action it records, never changed."""

    __tablename__ = "security_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))


class LoginFailures(Base):
    """Failed logins of one lockout subject (a hashed (email, address) pair, or a hashed email),
    counted here while Redis is unavailable (tradebot.auth.failure_ledger)."""

    __tablename__ = "login_failures"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_ends: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime)
    strikes: Mapped[int] = mapped_column(Integer, default=0)
    strikes_until: Mapped[datetime] = mapped_column(UtcDateTime)


class TwoFactor(Base):
    """A user's TOTP secret, encrypted: an enrolment until confirmed, then 2FA is on."""

    __tablename__ = "two_factor"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None: not confirmed yet
    # The time step of the last code accepted: only a later step's code is accepted next, so
    # no code is ever accepted twice (raised by a conditional UPDATE, never read-then-written).
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecoveryCode(Base):
    """One single-use recovery code of a user, stored only as a hash."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UserSession(Base):
    """One login: the refresh tokens it rotates through and the access tokens they issue.

    Revoked (logout, a revocation, a password change, a reused refresh token) or past
    `expires_at`, its refresh tokens are refused and its access tokens stop working at once.
    """

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Where it was last used from (login, then each refresh).
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(Base):
    """A refresh token of a session, stored only as its SHA-256 (it is 256 random bits).

    Every token the session ever had stays listed, so presenting a rotated-out one is
    recognised as reuse (RFC 9700 section 4.14.2) and ends the session. `generation` counts
    the rotations: exactly one token of a session, the newest, has no `rotated_at`.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (UniqueConstraint("session_id", "generation"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# Newest-first listing of one user's trades is the hottest query: index it in that order.
Index(
    "ix_trades_user_id_created_at",
    Trade.user_id,
    Trade.created_at.desc(),
    Trade.id.desc(),
)

# The same for one user's security events (GET /api/account/events).
Index(
    "ix_security_events_user_id_created_at",
    SecurityEvent.user_id,
    SecurityEvent.created_at.desc(),
    SecurityEvent.id.desc(),
)

# One user's sessions, newest first (GET /api/account/sessions).
Index(
    "ix_sessions_user_id_created_at",
    UserSession.user_id,
    UserSession.created_at.desc(),
    UserSession.id.desc(),
)
