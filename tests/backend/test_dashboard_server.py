"""The dashboard demo server: it leaves nothing behind, however it is stopped.

``python -m experiments.loadtest.dashboard_server`` starts a private Mosquitto, a temporary
folder, the simulated city's process and the backend. Stopped with SIGTERM (what
systemd, ``kill`` and Playwright's graceful shutdown send), every one of them must
go; and with no ``--database`` it writes nothing into the folder it was started in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from experiments.services import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def wait_health(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url}/health did not answer in {timeout} s")


def test_sigterm_stops_the_broker_the_city_and_removes_the_temporary_folder(
    tmp_path: Path,
) -> None:
    tmp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    tmp.mkdir()
    cwd.mkdir()
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.loadtest.dashboard_server", "--port", str(port),
         "--nodes", "4", "--backfill-min", "0.2", "--password", "pw-e2e"],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_health(f"http://127.0.0.1:{port}", proc, timeout=120)
        children = psutil.Process(proc.pid).children(recursive=True)
        names = sorted(c.name() for c in children)
        assert any("mosquitto" in n for n in names), names
        assert any(tmp.iterdir()), "the broker's folder is under TMPDIR while running"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:  # do not leave them to the next test either
        p.kill()
    assert not alive, f"left running after SIGTERM: {[p.name() for p in alive]}"
    assert list(tmp.iterdir()) == [], "the temporary folder (broker, database) is removed"
    assert list(cwd.iterdir()) == [], "nothing written where the server was started"
    assert b"Traceback" not in stderr, stderr.decode()[-2000:]
