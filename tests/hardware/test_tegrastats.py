"""tegrastats parsing across board generations, and the power sensor built on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware import tegrastats
from hardware.power import TegrastatsPower

RECORDED = Path(__file__).parent / "recorded"


def test_nano_line_units_and_rails() -> None:
    first = next(tegrastats.replay(RECORDED / "tegrastats_nano.log"))
    assert first.ram_used_mb == 1873 and first.ram_total_mb == 3964
    assert first.cpu_load == (9.0, 3.0, 2.0, 1.0)
    assert first.gpu_load == 0.0
    assert first.rails_mw["POM_5V_GPU"] == (40.0, 40.0)
    assert first.input_w == pytest.approx(1.315)  # POM_5V_IN, not the sum of rails
    assert first.temps_c["GPU"] == 24.5
    assert "RAM" not in first.rails_mw and "SWAP" not in first.rails_mw


def test_orin_line_with_units_idle_cores_and_absent_sensors() -> None:
    loaded = list(tegrastats.replay(RECORDED / "tegrastats_orin.log"))[1]
    assert loaded.cpu_load[-2:] == (None, None)
    assert loaded.cpu_percent == pytest.approx((34 + 29 + 30 + 27) / 4)
    assert loaded.gpu_load == 67.0
    assert "CV0" not in loaded.temps_c and loaded.temps_c["GPU"] == 46.6
    assert loaded.rails_mw["VDD_IN"] == (6890.0, 5661.0)
    assert loaded.input_w == pytest.approx(6.89)


def test_a_board_without_an_input_rail_sums_its_rails() -> None:
    line = "RAM 721/31927MB (lfb 7291x4MB) CPU [2%@1190,off] GPU 150/150 CPU 311/311 SOC 1087/1087"
    assert tegrastats.parse(line).input_w == pytest.approx((150 + 311 + 1087) / 1000)


def test_lines_that_are_not_samples_are_skipped() -> None:
    with pytest.raises(ValueError, match="not a tegrastats line"):
        tegrastats.parse("tegrastats: some unrelated warning")
    assert len(list(tegrastats.replay(RECORDED / "tegrastats_nano.log"))) == 4


def test_tegrastats_power_reports_the_latest_sample() -> None:
    sensor = TegrastatsPower(tegrastats.replay(RECORDED / "tegrastats_nano.log"))
    sensor._thread.join(timeout=5)  # replay ends; the last sample stays current
    reading = sensor.read()
    assert reading.watts == pytest.approx(4.871)
    assert reading.rails["POM_5V_GPU"] == pytest.approx(1.93)
