"""live orders: venue and credential per trade, every fee, reconciliation, round trips

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 11:10:00
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
import tradebot.db.types
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = tradebot.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("venue", sa.String(length=8), nullable=False, server_default="paper")
        )
        batch_op.add_column(sa.Column("credential_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("fees", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("fee_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("placement_sent_at", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("reconcile_started_at", _WHEN, nullable=True))
        batch_op.add_column(
            sa.Column("reconcile_checks", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("reconcile_absent_since", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("sync_requested_at", _WHEN, nullable=True))
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "trip_pnl",
                tradebot.db.types.ExactDecimal(precision=38, scale=18),
                nullable=False,
                server_default="0",
            )
        )
    # Existing live trades were placed with the key their owner holds now (or held): its venue
    # follows that key's testnet flag, and the trade is bound to it.
    op.execute(
        """
        UPDATE trades SET
          venue = CASE WHEN (SELECT c.testnet FROM api_credentials c
                             WHERE c.user_id = trades.user_id) THEN 'testnet' ELSE 'live' END,
          credential_id = (SELECT c.id FROM api_credentials c WHERE c.user_id = trades.user_id)
        WHERE trading_mode = 'live'
        """
    )
    # Fees recorded so far become the first (and only) entry of the list.
    rows = op.get_bind().execute(
        sa.text("SELECT id, fee, fee_asset FROM trades WHERE fee_asset IS NOT NULL")
    )
    trades = sa.table("trades", sa.column("id", sa.String()), sa.column("fees", sa.JSON()))
    for trade_id, fee, asset in rows.all():
        amount = format(Decimal(str(fee)), "f")
        op.execute(
            trades.update()
            .where(trades.c.id == trade_id)
            .values(fees=[{"asset": asset, "amount": amount}])
        )


def downgrade() -> None:
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_column("trip_pnl")
    with op.batch_alter_table("trades", schema=None) as batch_op:
        for name in (
            "sync_requested_at",
            "reconcile_absent_since",
            "reconcile_checks",
            "reconcile_started_at",
            "placement_sent_at",
            "fee_pending",
            "fees",
            "credential_id",
            "venue",
        ):
            batch_op.drop_column(name)
