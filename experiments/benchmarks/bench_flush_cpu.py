"""CPU per ingested message against messages per flush, in process, on PostgreSQL.

A flush has a fixed cost (its round trips and statements) beside a per-row one, so the
CPU per message depends on how many messages a flush holds, which the commit interval
sets (20 ms at 300 msg/s: 6). This submits 1-detection messages to an
:class:`Ingestor` (alert rules evaluated) and flushes every ``k`` of them into a
private PostgreSQL; no broker, so the figure is the validation + store path alone.

Usage::

    python -m experiments.benchmarks.bench_flush_cpu [--messages N] [--every 6 60 500]
"""

from __future__ import annotations

import argparse
import time

from backend.analytics.alert_rules import AlertEvaluator
from backend.core.db import make_engine, migrate
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Store
from experiments.benchmarks.bench_ingest import payloads
from experiments.services import Postgres


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--detections", type=int, default=1)
    parser.add_argument("--every", type=int, nargs="+", default=[6, 60, 500])
    args = parser.parse_args(argv)
    pg = Postgres()
    pg.start()
    print("| messages per flush | CPU ms per message |\n|---:|---:|")
    try:
        for k in args.every:
            url = pg.create_database(f"flush{k}")
            migrate(url)
            engine = make_engine(url)
            ingestor = Ingestor(
                Store(engine), batch_size=max(k, 1), alert_hook=AlertEvaluator(engine)
            )
            items = payloads(args.messages, 100, args.detections)
            started = time.process_time()
            for i, (topic, payload) in enumerate(items):
                ingestor.submit(topic, payload, ack=lambda: None)
                if i % k == k - 1:
                    ingestor.flush()
            ingestor.flush()
            ms = (time.process_time() - started) * 1000 / len(items)
            print(f"| {k} | {ms:.3f} |", flush=True)
            engine.dispose()
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
