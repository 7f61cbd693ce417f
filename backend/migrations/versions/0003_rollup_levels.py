"""Coarser rollup levels (see backend.analytics.rollups), filled from the per-minute rows.

The new table is filled from the per-minute rollups already stored, so an upgraded
database answers coarse queries with the same figures as before the upgrade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backend.analytics.rollups import level_insert_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ALL = ("node_id", "intersection", "cls", "approach")
# Frozen copy of backend.analytics.rollups.LEVELS at this revision: (id, resolution, kept dims).
_LEVELS: tuple[tuple[int, int, tuple[str, ...]], ...] = (
    (1, 3_600_000, _ALL),
    (2, 300_000, ("node_id", "intersection")),
    (3, 3_600_000, ("node_id", "intersection")),
    (4, 300_000, ("intersection", "cls", "approach")),
    (5, 3_600_000, ("intersection", "cls", "approach")),
    (6, 300_000, ("cls", "approach")),
    (7, 3_600_000, ("cls", "approach")),
)


def upgrade() -> None:
    op.create_table(
        "rollup_levels",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("bucket_ms", sa.BigInteger(), nullable=False),
        sa.Column("cls", sa.String(length=160), nullable=False),
        sa.Column("intersection", sa.String(length=128), nullable=False),
        sa.Column("approach", sa.String(length=128), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_id", "bucket_ms", "cls", "intersection", "approach"),
    )
    op.create_index(
        "ix_rollup_levels_area", "rollup_levels", ["level", "intersection", "bucket_ms"]
    )
    op.create_index("ix_rollup_levels_time", "rollup_levels", ["level", "bucket_ms"])
    for level_id, res_ms, keeps in _LEVELS:
        op.execute(level_insert_sql(level_id, res_ms, keeps))


def downgrade() -> None:
    op.drop_index("ix_rollup_levels_time", table_name="rollup_levels")
    op.drop_index("ix_rollup_levels_area", table_name="rollup_levels")
    op.drop_table("rollup_levels")
