"""The collector seals publishes into typed row groups; the table is the same however cut."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

import sim.collector
from sim.runner import run_scenario
from sim.scenario_config import ScenarioConfig


def _messages(scn: ScenarioConfig) -> dict[str, pd.DataFrame]:
    return {name: r.messages for name, r in run_scenario(scn).policies.items()}


def test_row_groups_of_any_size_give_the_same_message_table(
    scenario: Callable[..., ScenarioConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    scn = scenario(
        "city=small", "duration_s=300", "seed=4", "policy.compare=[edgeqi,fifo]", "network=lte"
    )
    whole = _messages(scn)
    assert len(whole["fifo"]) > 100  # several groups of 7 below, and a partial last one
    monkeypatch.setattr(sim.collector, "ROW_GROUP_ROWS", 7)
    cut = _messages(scn)
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(frame, cut[name], check_exact=True)
        assert frame["arrival"].dtype == "float64"


def test_a_run_where_nothing_arrived_keeps_arrival_as_none() -> None:
    from edgeqi.protocol import QueueObservation

    c = sim.collector.Collector(start_epoch_s=100.0)
    m = QueueObservation(
        node_id="n0", seq=0, ts=101.0, intersection="i0", approach="north",
        vehicles=3.0, length_m=21.0, wait_s=4.0,
    )  # fmt: skip
    for _ in range(3):
        c.record(0, m, 101.0, None, 100.5, 120, 160, 4, False)
    frame = c.messages_frame()
    assert list(frame["arrival"]) == [None, None, None]
    assert list(frame["sent_at"]) == [1.0, 1.0, 1.0]
    assert c.wire_bytes == 480
