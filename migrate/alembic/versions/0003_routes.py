"""expand: routes, route history, and legacy-session columns on sessions

Revision ID: 0003_routes
Revises: 0002_instances_jobs
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_routes"
down_revision = "0002_instances_jobs"
branch_labels = None
depends_on = None

# SQLite only autoincrements an INTEGER PRIMARY KEY.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _add_session_columns()
    op.create_table(
        "stackshift_routes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subsystem", sa.String(40), nullable=False),
        sa.Column("command", sa.String(100), nullable=False, server_default=""),
        sa.Column("account", sa.String(40), nullable=False, server_default=""),
        sa.Column("domain", sa.String(40), nullable=False, server_default=""),
        sa.Column("backend", sa.String(10), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False, server_default="100"),
        sa.Column("shadow", sa.Integer, nullable=False, server_default="0"),
        sa.Column("shadow_percent", sa.Integer, nullable=False, server_default="100"),
        sa.Column("ignore_fields", sa.String(1000), nullable=False, server_default=""),
        sa.Column("updated", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.UniqueConstraint(
            "subsystem", "command", "account", "domain", name="uq_stackshift_routes_scope"
        ),
    )
    op.create_table(
        "stackshift_route_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("who", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("subsystem", sa.String(40), nullable=False),
        sa.Column("command", sa.String(100), nullable=False),
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("domain", sa.String(40), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
    )


def _add_session_columns() -> None:
    """Expand only: nullable, so code that does not know them keeps working. The live table is
    altered first and, on MariaDB, in one statement: a retry after a lock wait starts clean
    (see migrate/revisions.py)."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("stackshift_sessions") as batch:
            batch.add_column(sa.Column("legacy_session", sa.String(512), nullable=True))
            batch.add_column(sa.Column("legacy_key", sa.String(512), nullable=True))
        return
    op.execute(
        "ALTER TABLE stackshift_sessions ADD COLUMN legacy_session VARCHAR(512) NULL, "
        "ADD COLUMN legacy_key VARCHAR(512) NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("stackshift_sessions") as batch:
        batch.drop_column("legacy_key")
        batch.drop_column("legacy_session")
    op.drop_table("stackshift_route_history")
    op.drop_table("stackshift_routes")
