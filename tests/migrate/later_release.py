"""Revisions of a later stackshift release, written for a test: an expand step and then a
contract step on top of the current head."""

from __future__ import annotations

from pathlib import Path

from migrate import revisions

EXPAND = "9001_probe_expand"
CONTRACT = "9002_probe_contract"
PROBE_TABLE = "stackshift_release_probe"

_EXPAND = '''"""expand: a probe table and a note on every instance, for a later release

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The live table first: a retry after a lock timeout then starts clean.
    with op.batch_alter_table("stackshift_instances") as batch:
        batch.add_column(sa.Column("release_note", sa.String(64), nullable=True))
    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("note", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("stackshift_instances") as batch:
        batch.drop_column("release_note")
    op.drop_table("{table}")
'''
_CONTRACT = '''"""contract: the probe's note column, which the later release no longer uses

Revision ID: {revision}
Revises: {down}
"""

from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("{table}") as batch:
        batch.drop_column("note")


def downgrade() -> None:
    import sqlalchemy as sa

    with op.batch_alter_table("{table}") as batch:
        batch.add_column(sa.Column("note", sa.String(64), nullable=True))
'''


def write(directory: Path, contract: bool = True) -> Path:
    """The later release's revisions in `directory`, on top of this release's head."""
    directory.mkdir(parents=True, exist_ok=True)
    head = revisions.head()
    (directory / f"{EXPAND}.py").write_text(
        _EXPAND.format(revision=EXPAND, down=head, table=PROBE_TABLE)
    )
    if contract:
        (directory / f"{CONTRACT}.py").write_text(
            _CONTRACT.format(revision=CONTRACT, down=EXPAND, table=PROBE_TABLE)
        )
    return directory
