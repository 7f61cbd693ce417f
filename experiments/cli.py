"""The ``edgeqi`` command: one entry point, a subcommand per job.

Each subcommand's module is imported only when it runs, so ``edgeqi run`` never
pays for the backend's or the detectors' imports.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib import metadata

USAGE = """usage: edgeqi [--version] <command> [args]

commands:
  run [OVERRIDES...]   run a scenario (Hydra: city=metro seed=3, -m for sweeps, --cfg job)
  report SWEEP_DIR     gather the summaries of a sweep: means and 95% intervals per policy,
                       the paper's claims beside the measured values, figures (PNG + PDF)
  serve [--port N]     run the backend API (SQLite and an in-process bus unless configured)
  ingest [--mqtt-url U] run an ingest-only backend worker (pair with EDGEQI_ROLE=api serve)
  migrate [DB_URL]     apply the backend's database migrations (Alembic) and exit
  mqtt-acl ...         write Mosquitto password and ACL files for node credentials
  keys generate|check  provision per-node Ed25519 consensus keys (files loadable on a node)
  provision --node-id N ...      a field node's keys, MQTT login (registered with the
                       backend), TLS files and node.yaml, in one directory
  models prepare|register|list   detectors and sample media in the local cache (edgeqi models -h)
  calibrate [OVERRIDES...]       time each detector variant here; write a simulator device profile
  detect SOURCE [--model M]      detect on an image, video or camera: annotated frames + table
  node --config node.yaml        run one field node on this device (camera, detector, MQTT, PBFT)
  loadtest [OVERRIDES...]        simulated nodes in real time drive the real broker + backend

`edgeqi <command> --help` for a command's own options.
"""

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("experiments.runs.run", "main"),
    "report": ("experiments.reports.sweep_report", "main"),
    "serve": ("backend.server", "serve"),
    "ingest": ("backend.ingest.worker", "main"),
    "migrate": ("backend.core.db", "main"),
    "mqtt-acl": ("backend.ingest.broker_acl", "main"),
    "keys": ("experiments.tools.keys", "main"),
    "provision": ("experiments.tools.provision", "main"),
    "models": ("experiments.tools.model_cache", "main"),
    "calibrate": ("experiments.tools.calibrate", "main"),
    "detect": ("experiments.tools.detect", "main"),
    "node": ("hardware.field_node", "main"),
    "loadtest": ("experiments.loadtest.driver", "main"),
}
"""Subcommand -> (module, function taking the remaining arguments, returning the exit code)."""


def version() -> str:
    """The installed distribution's version (pyproject's ``project.version``)."""
    return metadata.version("edgeqi")


def _dispatch(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args[0] in ("-V", "--version"):
        print(f"edgeqi {version()}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"edgeqi: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    module, function = COMMANDS[command]
    code: int = getattr(importlib.import_module(module), function)(rest)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a reader that closes the pipe early (``| head``) ends it quietly."""
    try:
        code = _dispatch(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's documented recipe: point stdout at devnull so the interpreter's own
        # flush at exit does not raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
