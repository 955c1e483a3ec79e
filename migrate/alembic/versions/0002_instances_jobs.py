"""expand: live instances and engine job progress

Revision ID: 0002_instances_jobs
Revises: 0001_sessions
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_instances_jobs"
down_revision = "0001_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stackshift_instances",
        sa.Column("msid", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("heartbeat", sa.DateTime, nullable=False),
        sa.Column("draining", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_stackshift_instances_heartbeat", "stackshift_instances", ["heartbeat"])
    op.create_table(
        "stackshift_job_progress",
        sa.Column("job_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("process", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("state", sa.String(4000), nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stackshift_job_progress")
    op.drop_table("stackshift_instances")
