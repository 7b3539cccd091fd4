"""stored keys checked with the exchange: their type (HMAC or Ed25519), IP restriction, permissions

Revision ID: 0009_key_checks
Revises: 0008_totp
Create Date: 2026-11-27 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_key_checks"
down_revision: str | None = "0008_totp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_credentials", schema=None) as batch_op:
        # Keys stored before were HMAC keys (a secret): the only kind there was.
        batch_op.add_column(
            sa.Column("key_type", sa.String(length=8), nullable=False, server_default="hmac")
        )
        # NULL: not known (a testnet key, whose exchange has no permissions endpoint, or a key
        # stored before keys were checked).
        batch_op.add_column(sa.Column("ip_restricted", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("permissions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_credentials", schema=None) as batch_op:
        batch_op.drop_column("permissions")
        batch_op.drop_column("ip_restricted")
        batch_op.drop_column("key_type")
