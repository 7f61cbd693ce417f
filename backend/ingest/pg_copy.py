"""PostgreSQL's bulk path for a flush: ``COPY`` into a staging table, one merge.

A multi-row ``INSERT ... VALUES`` makes PostgreSQL parse and plan a statement whose
size grows with the batch, and makes the driver render every value as a bound
parameter; ``COPY FROM STDIN`` streams rows in the text format instead (psycopg 3
formats them in C). The ledger goes through a temporary table (``ON COMMIT DELETE
ROWS``: empty at every flush, private to the connection) and one ``INSERT ... SELECT
... ON CONFLICT (node_id, seq) DO NOTHING RETURNING``, so a replayed batch is still
recognised row by row. Detection rows belong only to messages that merge returned
as new in the same transaction, so they are copied straight into their table. The
per-flush increments of rollups and node counters take the same way: staged, then one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` each, instead of one upsert per row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.sql.expression import Executable

from backend.core.orm import DetectionRow

STAGE = "edgeqi_stage_messages"

LEDGER_COLUMNS = ("node_id", "seq", "kind", "ts_ms", "received_ms", "size_bytes", "payload")

DETECTION_COLUMNS = tuple(c.name for c in DetectionRow.__table__.columns if c.name != "id")
"""Copied straight into ``detections``: every column but the generated id."""

_COLS = ", ".join(LEDGER_COLUMNS)
_MERGE = (
    f"INSERT INTO messages ({_COLS}) SELECT {_COLS} FROM {STAGE} "
    "ON CONFLICT (node_id, seq) DO NOTHING RETURNING node_id, seq"
)


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
    """Stream ``rows`` (tuples in ``columns`` order) into ``table`` with ``COPY``, inside
    the connection's current transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def merge_ledger(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> set[tuple[str, int]]:
    """Stage the ledger rows and merge them; return the ``(node_id, seq)`` that were new."""
    ensure_stages(conn)
    copy_rows(conn, STAGE, LEDGER_COLUMNS, rows)
    return {(r[0], r[1]) for r in conn.exec_driver_sql(_MERGE)}


STAGED = ("messages", "rollups", "rollup_levels", "nodes")
"""The tables a flush merges into through a staging table of the same columns (but id)."""


@functools.cache
def _stages() -> dict[str, Table]:
    """Each staged table's staging twin; one object per process, so that SQLAlchemy's
    statement cache compiles each merge once."""
    from backend.core.orm import Base

    meta = MetaData()
    return {
        name: Table(
            f"edgeqi_stage_{name}",
            meta,
            *(Column(c.name, c.type) for c in Base.metadata.tables[name].columns if c.name != "id"),
        )
        for name in STAGED
    }


@functools.cache
def _create_stages_sql() -> str:
    return "; ".join(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage.name} ON COMMIT DELETE ROWS AS "
        f"SELECT {', '.join(stage.c.keys())} FROM {name} WITH NO DATA"
        for name, stage in _stages().items()
    )


def ensure_stages(conn: Connection) -> None:
    """Create the staging tables of this connection if it has none yet: one round trip,
    inside the flush's transaction, so a rolled-back flush cannot leave a connection
    that believes it has them."""
    conn.exec_driver_sql(_create_stages_sql())


def upsert_statement(
    table: Table, columns: Sequence[str], finish: Callable[[Insert], Executable]
) -> Executable:
    """``INSERT INTO table (columns) SELECT columns FROM <its stage>`` completed by
    ``finish`` (its ``ON CONFLICT`` clause); build it once and reuse it."""
    stage = _stages()[table.name]
    chosen = [stage.c[c] for c in columns]
    return finish(postgresql.insert(table).from_select(list(columns), select(*chosen)))


def upsert_from_stage(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    statement: Executable,
) -> None:
    """COPY ``rows`` into ``table``'s staging table, then run ``statement`` (from
    :func:`upsert_statement` for the same columns): a flush's upsert is one statement
    whatever the number of rows. Rows must not repeat a conflict key, and
    :func:`ensure_stages` must have run in this transaction."""
    columns = list(rows[0])
    stage = _stages()[table.name]
    copy_rows(conn, stage.name, columns, ([row[c] for c in columns] for row in rows))
    conn.execute(statement)
