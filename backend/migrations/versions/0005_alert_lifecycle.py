"""Alert lifecycle: pending/firing/resolved, who acknowledged when, silences, ``for_s``;
the shipped default rules.

The default rules are data, inserted here so that every new database starts with them
(an operator may edit, disable or delete them like any other rule). Their thresholds:

- camera offline: no message for 90 s, three missed heartbeats at the 30 s period of
  ``scenarios/workload/urban.yaml``;
- battery low: state of charge below 20 % for five minutes (a passing dip under load
  is not an alert);
- queue spill-back: a queue of 225 m or more for a minute, 90 % of the 250 m storage
  length of an approach in ``scenarios/city/*.yaml``, i.e. the queue reaches back to
  the upstream junction;
- consensus view change: a cluster's PBFT view increased (its primary was replaced).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT_RULES = [
    ("camera offline", "node.silent_s", ">", 90.0, "critical", 0.0),
    ("battery low", "heartbeat.battery_soc", "<", 0.2, "warning", 300.0),
    ("queue spill-back", "queue.length_m", ">=", 225.0, "warning", 60.0),
    ("consensus view change", "consensus.view_change", ">", 0.0, "warning", 0.0),
]

RULES = sa.table(
    "alert_rules",
    sa.column("name", sa.String),
    sa.column("metric", sa.String),
    sa.column("op", sa.String),
    sa.column("threshold", sa.Float),
    sa.column("node_id", sa.String),
    sa.column("severity", sa.String),
    sa.column("action", sa.String),
    sa.column("webhook_url", sa.Text),
    sa.column("cooldown_s", sa.Float),
    sa.column("for_s", sa.Float),
    sa.column("enabled", sa.Boolean),
    sa.column("created_ms", sa.BigInteger),
)


def _id() -> sa.Column[int]:
    """The surrogate key every table has (BIGINT, INTEGER on SQLite for its rowid)."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "alert_silences",
        _id(),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("node_id", sa.String(length=64), nullable=True),
        sa.Column("intersection", sa.String(length=128), nullable=True),
        sa.Column("starts_ms", sa.BigInteger(), nullable=False),
        sa.Column("ends_ms", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("for_s", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="firing")
        )
        batch_op.add_column(sa.Column("intersection", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("approach", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("fired_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("resolved_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("updated_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("silence_id", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            "fk_alerts_silence", "alert_silences", ["silence_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_alerts_state", ["state"], unique=False)
    # Alerts stored before this revision fired when they were created.
    op.execute("UPDATE alerts SET fired_ms = created_ms, updated_ms = created_ms")
    op.bulk_insert(
        RULES,
        [
            {
                "name": name,
                "metric": metric,
                "op": cmp,
                "threshold": threshold,
                "node_id": None,
                "severity": severity,
                "action": "notify",
                "webhook_url": None,
                "cooldown_s": 0.0,
                "for_s": for_s,
                "enabled": True,
                "created_ms": 0,
            }
            for name, metric, cmp, threshold, severity, for_s in DEFAULT_RULES
        ],
    )


def downgrade() -> None:
    names = [r[0] for r in DEFAULT_RULES]
    op.execute(RULES.delete().where(RULES.c.created_ms == 0, RULES.c.name.in_(names)))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state")
        batch_op.drop_constraint("fk_alerts_silence", type_="foreignkey")
        for column in (
            "silence_id",
            "acknowledged_ms",
            "acknowledged_by",
            "updated_ms",
            "resolved_ms",
            "fired_ms",
            "approach",
            "intersection",
            "state",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.drop_column("for_s")
    op.drop_table("alert_silences")
