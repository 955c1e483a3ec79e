"""expand: browser sessions table

Revision ID: 0001_sessions
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_sessions"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stackshift_sessions",
        sa.Column("id_digest", sa.String(64), primary_key=True),
        sa.Column("key_digest", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("timeout_s", sa.Integer, nullable=False),
    )
    op.create_index("ix_stackshift_sessions_user_id", "stackshift_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_table("stackshift_sessions")
