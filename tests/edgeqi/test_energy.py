"""Battery, solar harvesting and the energy meter."""

from __future__ import annotations

import numpy as np
import pytest

from edgeqi.energy import (
    Battery,
    DeviceProfile,
    EnergyMeter,
    PowerState,
    SolarPanel,
    radio_energy_j,
    task_energy_j,
)

PROFILE = DeviceProfile("p", 2.0, 5.0, 4.0, 0.04, 0.02, 1.288, 0.438, 11.576, 1.06)


def test_battery_never_negative_and_never_above_capacity() -> None:
    b = Battery(capacity_j=100.0, charge_j=30.0)
    assert b.draw(50.0) == 30.0
    assert b.empty and b.soc == 0.0
    assert b.harvest(500.0) == 100.0
    assert b.soc == 1.0
    assert b.harvest(1.0) == 0.0


def test_solar_is_zero_at_night_and_peaks_at_noon() -> None:
    panel = SolarPanel(peak_w=20.0, sunrise_h=6.0, sunset_h=18.0)
    assert panel.power_w(3 * 3600.0) == 0.0
    assert panel.power_w(12 * 3600.0) == pytest.approx(20.0)
    assert panel.energy_j(0.0, 5 * 3600.0) == 0.0


@pytest.mark.parametrize(
    ("t0", "t1"),
    [(5 * 3600.0, 9 * 3600.0), (17 * 3600.0, 31 * 3600.0), (0.0, 3 * 86400.0 + 7000.0)],
)
def test_solar_energy_is_the_integral_of_power(t0: float, t1: float) -> None:
    panel = SolarPanel(peak_w=20.0)
    ts = np.linspace(t0, t1, 400_001)
    power = np.array([panel.power_w(t) for t in ts[::100]])
    numeric = float(np.trapezoid(power, ts[::100]))
    assert panel.energy_j(t0, t1) == pytest.approx(numeric, rel=1e-3, abs=1.0)


def test_a_full_day_of_sun() -> None:
    panel = SolarPanel(peak_w=10.0, sunrise_h=6.0, sunset_h=18.0)
    day = 12 * 3600.0
    assert panel.energy_j(0.0, 86400.0) == pytest.approx(10.0 * 2 * day / np.pi)


def test_meter_total_is_sum_of_power_times_time() -> None:
    m = EnergyMeter()
    m.add(PowerState.IDLE, 2.0, 10.0)
    m.add(PowerState.COMPUTE_FULL, 5.0, 1.0)
    m.add(PowerState.IDLE, 2.0, 5.0)
    assert m.total_j == 2.0 * 15.0 + 5.0
    assert m.seconds_by_state[PowerState.IDLE] == 15.0
    with pytest.raises(ValueError, match="non-negative"):
        m.add(PowerState.RADIO, 1.0, -1.0)


def test_radio_and_task_energy() -> None:
    joules, seconds = radio_energy_j(PROFILE, 625_000, 5000.0)
    assert seconds == pytest.approx(1.0)
    assert joules == pytest.approx(1.288 + 0.438 * 5.0)
    full = task_energy_j(PROFILE, True, 10)
    reduced = task_energy_j(PROFILE, False, 10)
    assert full == pytest.approx((10 * 0.04 * 5.0, 0.4))
    assert reduced[0] < full[0] and reduced[1] < full[1]
