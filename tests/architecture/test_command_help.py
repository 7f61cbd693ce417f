"""``edgeqi`` and its subcommands explain themselves in plain text, as a terminal shows it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from experiments.cli import COMMANDS, version

# Hydra apps print Hydra's own --help (config groups and overrides).
HYDRA_APPS = {"run", "loadtest", "calibrate"}
ARGPARSE = sorted(set(COMMANDS) - HYDRA_APPS)
MARKUP = re.compile(r"``|:(mod|class|func|meth|attr):`")


def _edgeqi(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from experiments.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ARGPARSE)
def test_every_subcommand_has_plain_help(command: str) -> None:
    done = _edgeqi(command, "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"usage: edgeqi {command}")
    assert not MARKUP.search(text), text
    description = text.split("\n\n")[1]
    assert len(description.split()) >= 8, description
    assert description.rstrip().endswith("."), description


def test_version() -> None:
    done = _edgeqi("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"edgeqi {version()}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", version())


def test_a_closed_pipe_is_not_an_error() -> None:
    """``edgeqi -h | head`` where the reader has gone before the help is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    code = "import sys; from experiments.cli import main; sys.exit(main(['--help']))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
