"""The systemd unit agrees with what the runtime does (``hardware/systemd.py``)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hardware.systemd import Notifier

UNIT = Path(__file__).resolve().parents[2] / "hardware" / "deploy" / "edgeqi-node.service"


def _unit() -> configparser.RawConfigParser:
    # systemd allows repeated keys (Environment=); the checks below read single ones.
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", value.strip())
    assert match, f"unsupported time span {value!r}"
    return int(match[1]) * (60 if match[2] == "min" else 1)


def test_unit_is_notify_type_with_a_watchdog_the_runtime_pings_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = _unit()["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] in ("main", "all")
    watchdog = _seconds(service["WatchdogSec"])
    # systemd hands the runtime WATCHDOG_USEC; the runtime pings at half of it.
    monkeypatch.setenv("WATCHDOG_USEC", str(int(watchdog * 1e6)))
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    interval = Notifier.watchdog_interval_s()
    assert interval is not None and 0 < interval < watchdog
    assert "AF_UNIX" in service["RestrictAddressFamilies"].split()  # sd_notify's socket


def test_unit_restarts_on_failure_runs_the_node_and_is_hardened() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["Restart"] == "on-failure" and _seconds(service["RestartSec"]) > 0
    assert int(unit["Unit"]["StartLimitBurst"]) > 1
    assert re.search(r"/edgeqi node --config /etc/edgeqi/node\.yaml$", service["ExecStart"])
    assert service["ConfigurationDirectory"] == "edgeqi"
    # The queue file lives in the one writable place ProtectSystem=strict leaves.
    assert service["ProtectSystem"] == "strict" and service["StateDirectory"] == "edgeqi"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectHome"] == "yes"
    assert {"video", "i2c", "gpio"} <= set(service["SupplementaryGroups"].split())
    assert "PrivateDevices" not in service  # the camera, GPU and I2C bus must stay visible
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    # verify checks that ExecStart's binary exists: point it at this checkout's.
    edgeqi = Path(sys.executable).with_name("edgeqi")
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/edgeqi/.venv/bin/edgeqi", str(edgeqi)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_notifier_sends_ready_and_watchdog_datagrams(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        notifier = Notifier(str(path))
        assert notifier.ready("detecting") and notifier.watchdog()
        assert server.recv(256) == b"READY=1\nSTATUS=detecting"
        assert server.recv(256) == b"WATCHDOG=1"
    assert not Notifier("").enabled and not Notifier("").watchdog()
    assert not Notifier("").notify("READY=1")  # outside systemd: nothing sent
