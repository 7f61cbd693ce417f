"""The simulator's vectorised energy integration agrees with the node core's EnergyMeter."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edgeqi.energy import EnergyMeter, PowerState
from sim.fleet_energy import STATES, EnergyModel
from sim.scenario_config import DeviceConfig, EnergyConfig

DEVICE = DeviceConfig(
    name="d",
    idle_w=2.0,
    full_w=5.0,
    reduced_w=4.0,
    full_latency_s=0.04,
    reduced_latency_s=0.02,
    radio_base_w=1.288,
    radio_w_per_mbps=0.438,
    radio_tail_s=11.576,
    radio_tail_w=1.06,
    source="test",
)


def model(nodes: int = 3, solar: float = 0.0, device: DeviceConfig = DEVICE) -> EnergyModel:
    cfg = EnergyConfig(
        name="e", device=device, battery_wh=10.0, initial_soc=(0.5, 0.5), solar_peak_w=solar
    )
    return EnergyModel(
        cfg, nodes, uplink_kbps=5000.0, start_epoch_s=0.0, rng=np.random.default_rng(0)
    )


def test_energy_drawn_is_the_integral_of_power_over_states() -> None:
    m = model()
    powered = np.array([True, True, False])
    meter = EnergyMeter()
    m.last_air_end[:] = [0.5, -np.inf, -np.inf]
    m.account(
        0.0,
        2.0,
        powered,
        np.array([0.3, 0.0, 0.0]),
        np.array([0.1, 0.2, 0.0]),
        np.array([0.2, 0.0, 0.0]),
    )
    # Node 0 by hand: idle 1.6 s, full 0.3 s, reduced 0.1 s, air 0.2 s,
    # tail from 0.5 s to 2.0 s less the air time.
    expected = 0.0
    expected += meter.add(PowerState.IDLE, 2.0, 1.6)
    expected += meter.add(PowerState.COMPUTE_FULL, 5.0, 0.3)
    expected += meter.add(PowerState.COMPUTE_REDUCED, 4.0, 0.1)
    expected += meter.add(PowerState.RADIO, 1.288 + 0.438 * 5.0, 0.2)
    expected += meter.add(PowerState.RADIO_TAIL, 1.06, 1.5 - 0.2)
    assert np.isclose(m.joules[0].sum(), expected)
    assert np.isclose(m.joules[0].sum(), meter.total_j)
    assert m.joules[2].sum() == 0.0, "an unpowered node draws nothing"
    assert np.isclose(m.seconds[1].sum(), 2.0)


def test_battery_balance_and_depletion() -> None:
    m = model(nodes=1)
    start = m.charge_j.copy()
    total = 0.0
    for k in range(100):
        m.account(
            k * 2.0,
            k * 2.0 + 2.0,
            np.array([True]),
            np.array([2.0]),
            np.array([0.0]),
            np.array([0.0]),
        )
        total += 10.0
    assert np.isclose(m.joules.sum(), total)
    assert np.isclose(start[0] - m.charge_j[0], total)
    for k in range(
        100, 5000
    ):  # 7.9 J a step does not divide what is left: the last step falls short
        m.account(
            k * 2.0, k * 2.0 + 2.0, ~m.depleted, np.array([1.3]), np.array([0.0]), np.array([0.0])
        )
    assert m.depleted[0]
    assert m.charge_j[0] == 0.0
    assert m.unsupplied_j[0] > 0.0


def test_solar_recharges_a_dead_node_by_day() -> None:
    m = model(nodes=1, solar=20.0)
    m.kill(0)
    t = 6 * 3600.0
    while m.depleted[0] and t < 18 * 3600.0:
        m.account(t, t + 60.0, ~m.depleted, np.array([0.0]), np.array([0.0]), np.array([0.0]))
        t += 60.0
    assert not m.depleted[0]
    assert m.harvested_j[0] > 0.0


def test_states_match_the_node_core() -> None:
    assert set(STATES) == set(PowerState)


SLEEPER = DEVICE.model_copy(update={"sleep_w": 0.4, "wake_s": 0.1})
"""A board that can sleep between 2-s windows (figures for the test, not a device)."""


def test_work_on_a_sleeping_board_costs_energy_in_proportion() -> None:
    m = model(nodes=4, device=SLEEPER)
    work = np.array([0.0, 0.2, 0.4, 0.8])  # detection seconds in the window
    m.account(0.0, 2.0, np.ones(4, dtype=bool), work, np.zeros(4), np.zeros(4))
    floor = 0.1 * 2.0 + 1.9 * 0.4  # wake at idle, sleep the rest
    assert np.isclose(m.joules[0].sum(), floor)
    above = m.joules.sum(axis=1) - floor
    assert np.allclose(above, work * (5.0 - 0.4)), "each second of work replaces one asleep"
    assert np.allclose(above[1:] / above[1], [1.0, 2.0, 4.0])
    idle_board = model(nodes=1)
    idle_board.account(0.0, 2.0, np.ones(1, dtype=bool), np.zeros(1), np.zeros(1), np.zeros(1))
    assert idle_board.joules.sum() == 2.0 * 2.0, "a board that cannot sleep idles between windows"
    assert idle_board.by_state_j()["sleep"] == 0.0


def test_video_encoding_keeps_a_sleeping_board_awake() -> None:
    m = model(nodes=2, device=SLEEPER)
    z = np.zeros(2)
    m.account(0.0, 2.0, np.ones(2, dtype=bool), z, z, z, busy_s=np.array([0.0, 2.0]))
    sleep_col = STATES.index(PowerState.SLEEP)
    assert m.seconds[1, sleep_col] == 0.0 and np.isclose(m.joules[1].sum(), 2.0 * 2.0)
    assert np.isclose(m.seconds[0, sleep_col], 1.9)


def test_sleep_power_above_idle_is_refused() -> None:
    with pytest.raises(ValidationError, match="sleep_w"):
        DeviceConfig.model_validate({**DEVICE.model_dump(), "sleep_w": 3.0})
