"""expand: shadow comparison counters and example pairs

Revision ID: 0004_shadow
Revises: 0003_routes
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_shadow"
down_revision = "0003_routes"
branch_labels = None
depends_on = None

# SQLite only autoincrements an INTEGER PRIMARY KEY.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stackshift_shadow_fields",
        sa.Column("command", sa.String(100), primary_key=True),
        sa.Column("field", sa.String(255), primary_key=True),
        sa.Column("samples", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("diffs", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("noise_samples", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("noise_diffs", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated", sa.DateTime, nullable=False),
    )
    op.create_table(
        "stackshift_shadow_examples",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("command", sa.String(100), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("primary_value", sa.Text),
        sa.Column("other_value", sa.Text),
        sa.Column("primary_backend", sa.String(16), nullable=False),
        sa.Column("seen", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_stackshift_shadow_examples_field",
        "stackshift_shadow_examples",
        ["command", "field", "id"],
    )


def downgrade() -> None:
    op.drop_table("stackshift_shadow_examples")
    op.drop_table("stackshift_shadow_fields")
