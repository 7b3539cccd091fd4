"""login failures: the lockout's count in PostgreSQL while Redis is unavailable

Revision ID: 0011_login_failures
Revises: 0009_key_checks
Create Date: 2026-11-27 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import tradebot.db.types
from alembic import op

revision: str = "0011_login_failures"
down_revision: str | None = "0009_key_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_ends", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("strikes_until", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_login_failures")),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
