"""Power and health readers on recorded sysfs trees and recorded INA219 registers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hardware import health
from hardware.power import Ina219I2C, SysfsPower, battery_soc, hwmon_rails
from hardware.systemd import Notifier


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, value in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")


def test_orin_ina3221_hwmon_rails(tmp_path: Path) -> None:
    hw = "sys/class/hwmon/hwmon1"
    _write(
        tmp_path,
        {
            f"{hw}/name": "ina3221",
            f"{hw}/in1_label": "VDD_IN",
            f"{hw}/in1_input": "5072",  # mV
            f"{hw}/curr1_input": "1012",  # mA
            f"{hw}/in2_label": "VDD_CPU_GPU_CV",
            f"{hw}/in2_input": "5064",
            f"{hw}/curr2_input": "203",
            "sys/class/hwmon/hwmon0/name": "cpu_thermal",  # ignored: not a power monitor
        },
    )
    sensor = SysfsPower(tmp_path)
    reading = sensor.read()
    assert reading.rails["VDD_CPU_GPU_CV"] == pytest.approx(5.064 * 0.203)
    assert reading.watts == pytest.approx(5.072 * 1.012)  # the input rail, not the sum
    assert reading.soc is None


def test_nano_iio_driver_and_pi_ina219_with_battery(tmp_path: Path) -> None:
    iio = "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0"
    _write(
        tmp_path,
        {
            f"{iio}/rail_name_0": "POM_5V_IN",
            f"{iio}/in_power0_input": "4713",  # mW
            f"{iio}/rail_name_1": "POM_5V_GPU",
            f"{iio}/in_power1_input": "1809",
        },
    )
    assert hwmon_rails(tmp_path) == pytest.approx({"POM_5V_IN": 4.713, "POM_5V_GPU": 1.809})

    pi = tmp_path / "pi"
    _write(
        pi,
        {
            "sys/class/hwmon/hwmon2/name": "ina219",
            "sys/class/hwmon/hwmon2/power1_input": "3450000",  # µW
            "sys/class/power_supply/BAT0/type": "Battery",
            "sys/class/power_supply/BAT0/capacity": "73",
            "sys/class/power_supply/AC/type": "Mains",
        },
    )
    reading = SysfsPower(pi).read()
    assert reading.watts == pytest.approx(3.45) and reading.soc == pytest.approx(0.73)
    assert battery_soc(tmp_path) is None


def test_no_power_monitor_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no INA power monitor"):
        SysfsPower(tmp_path)


class RecordedBus:
    """SMBus words as a Pi reads them from an INA219 (low byte first)."""

    def __init__(self, registers: dict[int, int]) -> None:
        self.registers = registers

    def read_word_data(self, i2c_addr: int, register: int) -> int:
        assert i2c_addr == 0x40
        word = self.registers[register]
        return ((word & 0xFF) << 8) | (word >> 8)


def test_ina219_over_i2c_decodes_shunt_and_bus_voltage() -> None:
    # 40 mV across 0.1 ohm (0.4 A), 5.1 V bus: registers as the datasheet encodes them.
    bus = RecordedBus({0x01: 4000, 0x02: (5100 // 4) << 3})
    reading = Ina219I2C(bus).read()
    assert reading.watts == pytest.approx(5.1 * 0.4)
    # A reversed current reads as a negative shunt voltage (two's complement).
    assert Ina219I2C(RecordedBus({0x01: 0x10000 - 4000, 0x02: (5100 // 4) << 3})).read().watts < 0


def test_health_reads_thermal_zones_and_memory(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "sys/class/thermal/thermal_zone0/type": "CPU-therm",
            "sys/class/thermal/thermal_zone0/temp": "45500",
            "sys/class/thermal/thermal_zone1/type": "CV0-therm",
            "sys/class/thermal/thermal_zone1/temp": "-256000",
        },
    )
    assert health.thermal_zones(tmp_path) == {"CPU-therm": 45.5}
    snap = health.read(tmp_path)
    assert snap.temp_c == 45.5 and 0 < snap.mem_used_mb < snap.mem_total_mb


def test_watchdog_interval_is_half_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert Notifier.watchdog_interval_s() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert Notifier.watchdog_interval_s() is None


def test_a_vanished_notify_socket_does_not_raise(tmp_path: Path) -> None:
    assert not Notifier(str(tmp_path / "gone.sock")).watchdog()
