"""sessions: logins with rotating refresh tokens (stored as hashes)

Revision ID: 0007_sessions
Revises: 0006_security_events
Create Date: 2026-11-27 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import tradebot.db.types
from alembic import op

revision: str = "0007_sessions"
down_revision: str | None = "0006_security_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.Column("expires_at", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", tradebot.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sessions_user_id_created_at",
            ["user_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
            unique=False,
        )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", tradebot.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", tradebot.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint(
            "session_id", "generation", name=op.f("uq_refresh_tokens_session_id_generation")
        ),
    )


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_id_created_at")
    op.drop_table("sessions")
