"""Node location: where each camera stands and which approach it watches (issue 18).

Heartbeats gained an optional ``location`` {lat, lon} and ``approach``; the registry
keeps the latest given so the dashboard's city map can place every node. The columns
are nullable because nodes that predate the fields never send them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("approach", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("approach")
        batch.drop_column("lon")
        batch.drop_column("lat")
