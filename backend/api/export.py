"""Streamed export of detections and logs as CSV, JSON or XLSX.

CSV and JSON are generated row by row from a server-side cursor, so memory stays
flat whatever the size. XLSX cannot be produced incrementally over HTTP (it is a zip
with a directory at the end); it is built with openpyxl's write-only mode into a
spooled temporary file and then streamed in chunks.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook
from sqlalchemy import Engine, Select, select

from backend.api.deps import RuntimeDep, Seconds, Viewer, ms
from backend.core.orm import DetectionRow, LogRow

router = APIRouter(prefix="/api", tags=["export"])

COLUMNS: dict[str, list[str]] = {
    "detections": [c.name for c in DetectionRow.__table__.columns],
    "logs": [c.name for c in LogRow.__table__.columns],
}
"""Exported columns: the tables' own, in their order (so a new column is exported too)."""
MEDIA = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _query(
    dataset: str,
    node_id: str | None,
    since: float | None,
    until: float | None,
    limit: int,
    equal: dict[str, str | None] | None = None,
) -> Select[Any]:
    model = DetectionRow if dataset == "detections" else LogRow
    table = model.__table__
    q = select(*[table.c[c] for c in COLUMNS[dataset]])
    if node_id is not None:
        q = q.where(table.c.node_id == node_id)
    for column, value in (equal or {}).items():
        if value is not None and column in table.c:
            q = q.where(table.c[column] == value)
    if since is not None:
        q = q.where(table.c.ts_ms >= ms(since))
    if until is not None:
        q = q.where(table.c.ts_ms < ms(until))
    return q.order_by(table.c.id).limit(limit)


def _rows(engine: Engine, query: Select[Any]) -> Iterator[tuple[Any, ...]]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result:
            yield tuple(row)


def _csv(header: list[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for i, row in enumerate(rows):
        writer.writerow(row)
        if i % 1000 == 999:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _json(header: list[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[bytes]:
    yield b"["
    first = True
    for row in rows:
        text = json.dumps(dict(zip(header, row, strict=True)))
        yield (text if first else "," + text).encode()
        first = False
    yield b"]"


def _xlsx(dataset: str, header: list[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[bytes]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(dataset)
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as tmp:
        wb.save(tmp)
        tmp.seek(0)
        while chunk := tmp.read(64 * 1024):
            yield chunk


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "The file, one row per stored row with the table's columns",
            "content": {
                MEDIA["csv"]: {"schema": {"type": "string"}},
                MEDIA["json"]: {"schema": {"type": "array", "items": {"type": "object"}}},
                MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def export(
    rt: RuntimeDep,
    _: Viewer,
    dataset: Literal["detections", "logs"] = "detections",
    format: Literal["csv", "json", "xlsx"] = "csv",
    node_id: str | None = None,
    since: Seconds = None,
    until: Seconds = None,
    limit: Annotated[int, Query(ge=1, le=1_048_575)] = 100_000,
    cls: Annotated[str | None, Query(max_length=128, description="detections only")] = None,
    intersection: Annotated[str | None, Query(max_length=128)] = None,
    level: Annotated[str | None, Query(max_length=16, description="logs only")] = None,
) -> StreamingResponse:
    """Rows of ``dataset`` in id order; XLSX is capped by Excel's sheet size.

    Filters match the list endpoints', so the dashboard exports exactly what it shows.
    """
    header = COLUMNS[dataset]
    equal = {"cls": cls, "intersection": intersection, "level": level}
    rows = _rows(rt.engine, _query(dataset, node_id, since, until, limit, equal))
    if format == "csv":
        body: Iterator[bytes] = _csv(header, rows)
    elif format == "json":
        body = _json(header, rows)
    else:
        body = _xlsx(dataset, header, rows)
    filename = f"edgeqi-{dataset}.{format}"
    return StreamingResponse(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
