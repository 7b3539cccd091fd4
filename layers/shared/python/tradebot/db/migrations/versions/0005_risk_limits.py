"""risk limits and the kill switch; each trade's notional as checked against them

Revision ID: 0005_risk_limits
Revises: 0004
Create Date: 2026-11-27 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import tradebot.db.types
from alembic import op

revision: str = "0005_risk_limits"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_limits",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("max_open_orders", sa.Integer(), nullable=True),
        sa.Column("max_orders_per_minute", sa.Integer(), nullable=True),
        sa.Column(
            "max_order_notional",
            tradebot.db.types.ExactDecimal(precision=38, scale=18),
            nullable=True,
        ),
        sa.Column(
            "max_daily_notional",
            tradebot.db.types.ExactDecimal(precision=38, scale=18),
            nullable=True,
        ),
        sa.Column("trading_paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_risk_limits_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_risk_limits")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "notional", tradebot.db.types.ExactDecimal(precision=38, scale=18), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_column("notional")
    op.drop_table("risk_limits")
