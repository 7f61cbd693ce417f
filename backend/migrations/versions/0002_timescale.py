"""TimescaleDB: make ``rollups`` a hypertable when the extension is available.

Only PostgreSQL servers that ship the extension are touched; elsewhere this revision
does nothing, so plain PostgreSQL and SQLite keep plain tables. Retention is enforced
by :mod:`backend.analytics.retention` on every backend, hypertable or not.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DAY_MS = 86_400_000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).first()
    if available is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    op.execute(
        "SELECT create_hypertable('rollups', 'minute_ms', "
        f"chunk_time_interval => {_DAY_MS}::bigint, migrate_data => true, "
        "if_not_exists => true)"
    )


def downgrade() -> None:
    """Hypertables cannot be turned back into plain tables in place; nothing to undo."""
