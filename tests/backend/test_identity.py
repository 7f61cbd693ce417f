"""The registration check never turns a database outage into a lost message."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from backend.core.db import make_engine, migrate
from backend.core.orm import Node
from backend.ingest.identity import Registry


def test_an_unreachable_database_keeps_the_last_known_registrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as s:
        s.add(Node(node_id="cam-1", registered_ms=1))
        s.commit()
    registry = Registry(engine, ttl_s=0.0)
    assert registry.registered("cam-1") and not registry.registered("cam-2")
    # The database goes away (a restart): the check answers from what it knew, no raise.
    registry.engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert registry.registered("cam-1")
    assert not registry.registered("cam-2")
