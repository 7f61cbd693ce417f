"""The ``edgeqi`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import sys

USAGE = """usage: edgeqi <command> [args]

commands:
  run [OVERRIDES...]   run a scenario (Hydra: city=metro seed=3, -m for sweeps, --cfg job)
  report SWEEP_DIR     gather the summaries of a sweep: means and 95% intervals per policy,
                       the paper's claims beside the measured values, figures (PNG + PDF)
  serve [--port N]     run the backend API (SQLite and an in-process bus unless configured)
  ingest [--mqtt-url U] run an ingest-only backend worker (pair with EDGEQI_ROLE=api serve)
  migrate [DB_URL]     apply the backend's database migrations (Alembic) and exit
  mqtt-acl ...         write Mosquitto password and ACL files for node credentials

`edgeqi <command> --help` for a command's own options.
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "run":
        from experiments.run import main as run_main

        return run_main(rest)
    if command == "report":
        from experiments.report import main as report_main

        return report_main(rest)
    if command == "serve":
        from backend.server import serve

        return serve(rest)
    if command == "ingest":
        from backend.worker import main as ingest_main

        return ingest_main(rest)
    if command == "migrate":
        from backend.db import main as migrate_main

        return migrate_main(rest)
    if command == "mqtt-acl":
        from backend.mqtt_acl import main as acl_main

        return acl_main(rest)
    print(f"edgeqi: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
