"""PostgreSQL's bulk path for a flush: ``COPY`` into a staging table, one merge.

A multi-row ``INSERT ... VALUES`` makes PostgreSQL parse and plan a statement whose
size grows with the batch, and makes the driver render every value as a bound
parameter; ``COPY FROM STDIN`` streams rows in the text format instead (psycopg 3
formats them in C). The ledger goes through a temporary table (``ON COMMIT DELETE
ROWS``: empty at every flush, private to the connection) and one ``INSERT ... SELECT
... ON CONFLICT (node_id, seq) DO NOTHING RETURNING``, so a replayed batch is still
recognised row by row. Detection rows belong only to messages that merge returned
as new in the same transaction, so they are copied straight into their table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

STAGE = "edgeqi_stage_messages"

LEDGER_COLUMNS = ("node_id", "seq", "kind", "ts_ms", "received_ms", "size_bytes", "payload")

DETECTION_COLUMNS = (
    "node_id",
    "seq",
    "idx",
    "ts_ms",
    "received_ms",
    "intersection",
    "cls",
    "conf",
    "x",
    "y",
    "w",
    "h",
    "track",
)

_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
    "node_id varchar(64) NOT NULL, seq bigint NOT NULL, kind varchar(16) NOT NULL, "
    "ts_ms bigint NOT NULL, received_ms bigint NOT NULL, size_bytes integer NOT NULL, "
    "payload text) ON COMMIT DELETE ROWS"
)
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
    conn.exec_driver_sql(_CREATE_STAGE)
    copy_rows(conn, STAGE, LEDGER_COLUMNS, rows)
    return {(r[0], r[1]) for r in conn.exec_driver_sql(_MERGE)}
