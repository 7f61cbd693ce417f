"""Hardware-in-the-loop: simulated nodes in real time publish over a real Mosquitto."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.runs.compose import compose_scenario
from sim.realtime import anchored
from sim.runner import PolicySimulation
from sim.scoring import node_name
from tests.backend.mqtt_helpers import Ledger
from tests.backend.services import mosquitto_with_logins

pytestmark = pytest.mark.integration


def test_every_node_publishes_its_messages_with_its_own_credentials(
    tmp_path: Path,
) -> None:
    nodes = [node_name(k) for k in range(4)]
    creds = {n: f"pw-{n}" for n in nodes}
    (tmp_path / "nodes.txt").write_text("".join(f"{n}:{p}\n" for n, p in creds.items()))
    broker = mosquitto_with_logins(tmp_path, {**creds, "ledger": "pw-ledger"}, ["ledger"], nodes)
    broker.start()
    ledger = Ledger(broker.port, "ledger", "pw-ledger")
    try:
        scn = compose_scenario([
            "progress=false", "city=small", "duration_s=30",
            "realtime.mode=real", "realtime.speed=10",
            f"realtime.hil.broker_url=mqtt://127.0.0.1:{broker.port}",
            f"realtime.hil.credentials_file={tmp_path / 'nodes.txt'}",
        ])  # fmt: skip
        run = PolicySimulation(anchored(scn), "stream_all", record_queues=False).run()
        sent = {
            (node_name(int(n)), int(s))
            for n, s in zip(run.messages.node, run.messages.seq, strict=True)
        }
        got = ledger.wait_for(len(sent))
    finally:
        ledger.close()
        broker.stop()
    assert len(sent) > 4 * 30 / 2  # a detection batch per node per observation at least
    assert got == sent  # the ACL lets a node write only its own topics: each used its own login
    assert run.realtime is not None
    transport = run.realtime["transport"]
    assert isinstance(transport, dict)
    assert transport["delivered"] == len(sent) and transport["refused"] == 0
    assert transport["queued"] == transport["inflight"] == 0
