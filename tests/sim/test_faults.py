"""Fault plans: a camera already broken cannot break again."""

from __future__ import annotations

from sim.faults import FaultEvent, _merge_camera_faults


def test_overlapping_camera_faults_on_one_node_are_one_spell() -> None:
    events = [
        FaultEvent(100.0, "camera_fault", 2, 300.0, "black"),
        FaultEvent(150.0, "camera_fault", 3, 50.0, "frozen"),
        FaultEvent(250.0, "crash", 2, 60.0),
        FaultEvent(350.0, "camera_fault", 2, 200.0, "corrupt"),  # inside the first: extends it
        FaultEvent(380.0, "camera_fault", 2, 10.0, "corrupt"),  # inside the extended spell
        FaultEvent(600.0, "camera_fault", 2, 20.0, "frozen"),  # after it: a new spell
    ]
    merged = _merge_camera_faults(events)
    assert merged == [
        FaultEvent(100.0, "camera_fault", 2, 450.0, "black"),
        FaultEvent(150.0, "camera_fault", 3, 50.0, "frozen"),
        FaultEvent(250.0, "crash", 2, 60.0),
        FaultEvent(600.0, "camera_fault", 2, 20.0, "frozen"),
    ]
