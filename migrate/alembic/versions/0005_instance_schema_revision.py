"""expand: the schema revision each live instance was built for

A contract revision waits while an instance whose code predates it is alive; this column is
how it tells them apart. Nullable, so a release that does not know it keeps registering.

Revision ID: 0005_instance_schema_revision
Revises: 0004_shadow
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_instance_schema_revision"
down_revision = "0004_shadow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stackshift_instances") as batch:
        batch.add_column(sa.Column("schema_revision", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stackshift_instances") as batch:
        batch.drop_column("schema_revision")
