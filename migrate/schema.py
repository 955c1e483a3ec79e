"""stackshift's own schema: apply and inspect Alembic migrations of our tables."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from migrate import revisions
from schema_bridge.db import normalise_url

VERSION_TABLE = "stackshift_alembic_version"
# How long one of our DDL statements may wait for a table's metadata lock on MariaDB before
# giving up (and being retried): live requests queue behind a waiting ALTER.
DDL_LOCK_WAIT_SECONDS = 2


def sync_url(url: str) -> str:
    """Alembic runs synchronously: the sync twin of any URL `open_database` accepts."""
    async_url = normalise_url(url)
    driver = "sqlite" if async_url.get_backend_name() == "sqlite" else "mysql+pymysql"
    return async_url.set(drivername=driver).render_as_string(hide_password=False)


def _config(url: str) -> Config:
    config = revisions.alembic_config()
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(_config(url), revision)


def current(url: str) -> str | None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        engine.dispose()


def pending(url: str) -> list[str]:
    """Revisions not yet applied, oldest first."""
    script = ScriptDirectory.from_config(_config(url))
    now = current(url)
    revisions = [r.revision for r in script.walk_revisions("base", "head")]
    revisions.reverse()
    if now is None:
        return revisions
    return revisions[revisions.index(now) + 1 :]
