"""Deleting an account: every row of the user, after the password and with no live order open.

Live orders that may be open on the exchange (PENDING, RECONCILING, NEW, PARTIALLY_FILLED off
paper) refuse the deletion with 409 `live-orders-open`, exactly as forgetting the key does:
once the key is gone such an order could no longer be canceled or followed, and waiting here
for the exchange's answers would tie the deletion to calls whose answers may be lost. So a
deletion refused for them (after the password and code were right) cancels them as
POST /api/trading/cancel-all does, and the 409 says so: the user deletes again once they are
canceled. Paper orders exist only here and go with the user. What database backups keep
afterwards: README, "Deleting an account".
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tradebot.accounts.service import refuse_while_live_orders_open
from tradebot.auth.active import forget_sessions_on_commit
from tradebot.auth.stepup import require_step_up
from tradebot.cache.lockout import email_subject
from tradebot.cache.readthrough import invalidate_on_commit
from tradebot.db.engine import unit_of_work
from tradebot.db.models import (
    ApiCredential,
    LoginFailures,
    Note,
    NoteTag,
    PaperBalance,
    Position,
    RecoveryCode,
    RefreshToken,
    RiskLimits,
    SecurityEvent,
    Trade,
    TwoFactor,
    User,
    UserSession,
)
from tradebot.errors import LiveOrdersOpen
from tradebot.observability import logger
from tradebot.orders.service import cancel_all_trades

# Read-through caches holding the user's data (notes pages, the dashboard's stored part).
CACHED_NAMESPACES = ("notes", "dashboard")


def close_account(user_id: str, password: str, otp: str | None = None) -> None:
    """DELETE /api/account: erase the user (`delete_account`), or, refused for live orders that
    may be open, request their cancellation and answer the 409 saying so."""
    try:
        with unit_of_work() as session:
            delete_account(session, user_id, password, otp)
    except LiveOrdersOpen as refused:
        requested = cancel_all_trades(user_id)
        raise LiveOrdersOpen(
            f"{refused.detail} Their cancellation was requested now ({requested.canceled} "
            f"order(s); {requested.reconciling} still being looked up): delete the account "
            "again once none is open.",
            refused.open_orders,
        ) from None


def delete_account(session: Session, user_id: str, password: str, otp: str | None = None) -> None:
    """Erase the user: 401 when the password (or, where 2FA is on, the `otp`) is wrong, 409
    while live orders may be open.

    Every access token of the user stops working when this commits.
    """
    require_step_up(session, user_id, password=password, otp=otp, password_required=True)
    # Locked as forgetting the key locks it: no live order is accepted between the check for
    # open orders and the erasure (orders.service.place_trade holds a share lock on it).
    session.scalar(
        select(ApiCredential.id).where(ApiCredential.user_id == user_id).with_for_update()
    )
    try:
        refuse_while_live_orders_open(session, user_id)
    except LiveOrdersOpen as refused:
        named = ", ".join(f"{o.symbol} {o.status} {o.id}" for o in refused.open_orders)
        raise LiveOrdersOpen(
            f"Live orders placed with your key may still be open on the exchange ({named}). "
            "Cancel them with POST /api/trading/cancel-all and delete the account once none "
            "is open.",
            refused.open_orders,
        ) from None
    forget_sessions_on_commit(
        session, session.scalars(select(UserSession.id).where(UserSession.user_id == user_id))
    )
    erase_user_rows(session, user_id)
    for namespace in CACHED_NAMESPACES:
        invalidate_on_commit(session, namespace, user_id)
    logger.info("account erased", extra={"user_id": user_id})


def erase_user_rows(session: Session, user_id: str) -> None:
    """Delete the user's rows from every table, children first (`ERASED_TABLES`)."""
    email = session.scalar(select(User.email).where(User.id == user_id))
    notes = select(Note.id).where(Note.user_id == user_id).scalar_subquery()
    sessions = select(UserSession.id).where(UserSession.user_id == user_id).scalar_subquery()
    statements = (
        delete(NoteTag).where(NoteTag.note_id.in_(notes)),
        delete(Note).where(Note.user_id == user_id),
        delete(Trade).where(Trade.user_id == user_id),
        delete(Position).where(Position.user_id == user_id),
        delete(PaperBalance).where(PaperBalance.user_id == user_id),
        delete(RiskLimits).where(RiskLimits.user_id == user_id),
        delete(SecurityEvent).where(SecurityEvent.user_id == user_id),
        delete(RecoveryCode).where(RecoveryCode.user_id == user_id),
        delete(TwoFactor).where(TwoFactor.user_id == user_id),
        # Failed logins are kept by hashed subject: the email's own goes; those of an (email,
        # address) pair cannot be found without the address and expire on their own.
        delete(LoginFailures).where(LoginFailures.subject == email_subject(email or "")),
        delete(RefreshToken).where(RefreshToken.session_id.in_(sessions)),
        delete(UserSession).where(UserSession.user_id == user_id),
        delete(ApiCredential).where(ApiCredential.user_id == user_id),
        delete(User).where(User.id == user_id),
    )
    for statement in statements:
        session.execute(statement.execution_options(synchronize_session=False))


# Every table the erasure empties of the user's rows; tests check it names every table.
ERASED_TABLES = frozenset(
    model.__tablename__
    for model in (
        NoteTag, Note, Trade, Position, PaperBalance, RiskLimits, SecurityEvent, RecoveryCode,
        TwoFactor, LoginFailures, RefreshToken, UserSession, ApiCredential, User,
    )
)  # fmt: skip
