"""Engines, sessions and schema migration for SQLite (WAL) and PostgreSQL.

The schema is owned by Alembic (``backend/migrations``): :func:`migrate` upgrades
any database to head, and the service calls it on start, so a fresh SQLite file and
a shared PostgreSQL instance reach the same schema by the same path.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"


def normalise_url(url: str) -> str:
    """Map plain ``postgresql://`` URLs onto the psycopg 3 driver the project installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets API readers proceed while ingest writes; busy_timeout rides out lock waits."""
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine with the per-dialect settings ingest relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_pre_ping=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (API handlers return them)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at this package's migrations; no ini file needed."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = normalise_url(url)
    return cfg


def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the newest schema revision (idempotent)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def now_ms() -> int:
    """Wall-clock epoch milliseconds; the backend is a real-time service, unlike ``edgeqi/``."""
    return int(time.time() * 1000)


def main(argv: list[str] | None = None) -> int:
    """``edgeqi migrate [URL]``: apply migrations (default: EDGEQI_DATABASE_URL)."""
    import argparse

    from backend.core.settings import Settings

    parser = argparse.ArgumentParser(prog="edgeqi migrate", description=main.__doc__)
    parser.add_argument("url", nargs="?", help="database URL (default from settings)")
    args = parser.parse_args(argv)
    url = args.url or Settings().database_url
    migrate(url)
    print(f"migrated {url.split('@')[-1]} to head")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
