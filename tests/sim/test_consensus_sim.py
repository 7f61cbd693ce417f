"""Consensus in the simulator: real replicas over the virtual network, attacks, metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from edgeqi.consensus import Verifier
from edgeqi.consensus.messages import signature_ok
from edgeqi.protocol import ConsensusMessage, Message
from sim.runner import PolicySimulation
from sim.scenario_config import ConfigError, ScenarioConfig


def _run(scn: ScenarioConfig) -> tuple[dict[str, Any], PolicySimulation]:
    sim = PolicySimulation(scn, "edgeqi", record_queues=False)
    metrics = sim.run().metrics
    c = metrics["consensus"]
    assert isinstance(c, dict)
    return c, sim


BASE = ("city=small", "consensus=pbft", "duration_s=900", "seed=3", "policy.compare=[edgeqi]")


def test_every_cycle_is_agreed_quickly_and_coverage_saves_energy(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    c, sim = _run(scenario(*BASE))
    inter = c["intersection"]
    assert c["rounds"] == 9 and inter["decisions"] == 9 and c["undecided_rounds"] == 0
    assert inter["decision_latency_ms_p99"] < 1000.0
    assert c["view_changes"] == 0 and c["rejected"] == {}
    # Broadcast PBFT over MQTT: n reports, 1 pre-prepare, n-1 prepares, n commits, checkpoints.
    assert abs(inter["messages_per_decision"] - c["expected_pbft"]["publishes_per_decision"]) < 1.5
    assert c["coverage_saving_fraction"] > 0.2
    assert 0 < c["consensus_energy_j"] < c["coverage_energy_saved_j"]
    assert c["decision_error_veh_mean"] < 2.0
    assert sim.world.green_split[0, 0] != 0.5  # the agreed Webster plan was adopted


def test_consensus_runs_are_reproducible(scenario: Callable[..., ScenarioConfig]) -> None:
    a, _ = _run(scenario(*BASE))
    b, _ = _run(scenario(*BASE))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_equivocating_primary_forces_a_view_change_and_cycles_still_commit(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    c, sim = _run(scenario(*BASE, "+consensus.byzantine=[{node: 0, behaviour: equivocate}]"))
    assert c["view_changes"] >= 3  # the three honest cameras moved past the primary
    assert c["intersection"]["decisions"] >= 8
    replicas = sim.consensus.groups[0].replicas if sim.consensus else {}
    assert all(r.view >= 1 for k, r in replicas.items() if k != 0)


def test_invalid_signatures_are_rejected_and_counted(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    c, _ = _run(scenario(*BASE, "+consensus.byzantine=[{node: 2, behaviour: bad_signature}]"))
    assert c["rejected"]["bad_signature"] > 9 * 3
    assert c["intersection"]["decisions"] == 9


def test_partition_that_heals_stalls_then_recovers(scenario: Callable[..., ScenarioConfig]) -> None:
    c, sim = _run(
        scenario(
            *BASE,
            "+consensus.partitions=[{nodes: [2, 3], at_s: 200.0, duration_s: 250.0}]",
        )
    )
    assert 1 <= c["undecided_rounds"] <= 4
    assert sim.consensus is not None
    adopted = sim.consensus.groups[0].adopted
    assert "cycle-9" in adopted  # decided again after the partition healed


def test_two_inflating_cameras_of_seven_cannot_move_the_agreed_queue(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    seven = (
        "city.cameras_per_intersection=7",
        "city.approaches_per_camera=4",
        "consensus.redundancy=7",
    )
    honest, _ = _run(scenario(*BASE, *seven))
    liars, _ = _run(
        scenario(
            *BASE,
            *seven,
            "+consensus.byzantine=[{node: 5, behaviour: inflate, factor: 5.0},"
            "{node: 6, behaviour: inflate, factor: 5.0}]",
        )
    )
    assert liars["robust_fusion_share"] == 1.0
    assert liars["suspected_reports"] > 0
    assert liars["decision_error_veh_mean"] < honest["decision_error_veh_mean"] + 1.0


def test_district_committee_agrees_on_green_wave_offsets(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    c, sim = _run(
        scenario(
            "city=district",
            "nodes=16",
            "consensus=pbft",
            "consensus.committee_every_cycles=4",
            "duration_s=800",
            "policy.compare=[edgeqi]",
        )
    )
    district = c["district"]
    assert district["decisions"] == 2
    assert district["decision_latency_ms_p99"] < 1000.0
    offsets = sim.world.offset_s.tolist()
    assert offsets == [0.0, 24.0, 48.0, 72.0]  # 300 m apart at 12.5 m/s, 90 s cycle


def test_over_a_broker_consensus_leaves_through_the_nodes_numbered_in_their_sequence(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    scn = scenario("city=small", "consensus=pbft", "duration_s=200", "policy.compare=[edgeqi]")
    sim = PolicySimulation(scn, "edgeqi", record_queues=False)
    sent: list[Message] = []
    sim.sink = lambda _k, m: sent.append(m)
    sim.run()
    assert sim.consensus is not None
    votes = [m for m in sent if isinstance(m, ConsensusMessage)]
    # Every publish of the two rounds (reports, pre-prepare, prepares, commits, checkpoints).
    assert len(votes) == sum(sim.consensus.stats.messages.values()) > 0
    assert sent.index(votes[0]) > 0  # interleaved with the nodes' own traffic
    verifier = Verifier(sim.consensus.public)
    assert all(signature_ok(verifier, m) for m in votes)  # renumbering keeps signatures valid
    for node in {m.node_id for m in sent}:
        seqs = [m.seq for m in sent if m.node_id == node]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # one gapless sequence


def test_liars_up_to_f_stay_inside_the_honest_range_and_beyond_f_do_not(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    """Seven cameras see everything, every cycle an audit: f = 2 liars are trimmed away."""
    seven = (
        "city.cameras_per_intersection=7",
        "city.approaches_per_camera=4",
        "consensus.audit_every=1",
        "consensus.lying_factor=4.0",
    )
    by_liars = {
        k: _run(scenario(*BASE, *seven, f"consensus.byzantine_per_intersection={k}"))[0]
        for k in (0, 2, 3)
    }
    for k in (0, 2):
        assert by_liars[k]["within_honest_range_share"] == 1.0
        assert by_liars[k]["robust_fusion_share"] == 1.0
    assert by_liars[2]["settings"]["byzantine_per_intersection"] == 2
    # A third liar outnumbers the trimming: the first decision's fused queues leave the
    # honest range; the replicas then leave out the f = 2 cameras that strayed most (two
    # liars, never more than f, so the honest majority is kept), and the trimmed mean over
    # the other five cameras drops the third liar in every later decision.
    beyond = by_liars[3]
    assert 1.0 - 4 / (4 * 9) <= beyond["within_honest_range_share"] < 1.0  # 9 cycles, 4 each
    assert beyond["suspicion"]["liars_excluded"] == 2
    assert beyond["suspicion"]["decisions_to_exclude_max"] == 1
    assert beyond["suspicion"]["honest_excluded"] == 0
    assert beyond["decision_error_veh_p99"] > by_liars[2]["decision_error_veh_p99"] + 1.0


ROBUST = ("city=overlap", "consensus=pbft_byzantine", "duration_s=900", "seed=3")


def test_safety_reads_every_replicas_log_and_a_corrupted_one_fails_it(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    c, sim = _run(scenario(*ROBUST, "policy.compare=[edgeqi]"))
    safety = c["safety"]
    # 3 intersections x 3 honest cameras (the 4th lies) + 3 district delegates.
    assert safety["replicas_checked"] == 12 and safety["groups_within_f"] == 4
    assert safety["rounds_checked"] == c["rounds"] + c["district"]["decisions"]
    assert safety["divergent_commits"] == 0 and safety["safe"] is True
    assert sim.consensus is not None
    log = sim.consensus.groups[1].logs["n00005"]  # an honest camera of intersection 1
    number, key, _ = log[3]
    log[3] = (number, key, "corrupted")
    corrupted = sim.consensus.safety()
    assert corrupted["divergent_commits_within_f"] == 1 and corrupted["safe"] is False


def test_f_liars_of_every_kind_stay_inside_the_honest_range_and_are_excluded(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    for kind in ("inflate", "deflate", "random", "collude"):
        c, _ = _run(scenario(*ROBUST, f"consensus.lying_behaviour={kind}"))
        assert c["within_honest_range_share"] == 1.0, kind
        assert c["robust_fusion_share"] == 1.0 and c["geometry"]["robust_every_cycle"]
        s = c["suspicion"]
        assert s["liars_excluded"] == s["liars"] == 3, kind
        assert s["honest_excluded"] == 0 and s["false_suspect_rate"] == 0.0, kind


def test_colluders_report_one_value_and_liars_ignore_the_agreed_coverage(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    _, sim = _run(
        scenario(
            *ROBUST,
            "city.cameras_per_intersection=7",
            "consensus.byzantine_per_intersection=2",
            "consensus.lying_behaviour=collude",
        )
    )
    assert sim.consensus is not None
    outcomes = sim.consensus.groups[0].outcomes
    colluders = [dict(o.reports)[m] for o in outcomes for m in ("n00005", "n00006")]
    pairs = list(zip(colluders[::2], colluders[1::2], strict=True))
    assert all(a == b and len(a) == 4 for a, b in pairs)  # excluded, they still report all


def test_robust_coverage_is_refused_where_too_few_cameras_see_an_approach(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    with pytest.raises(ConfigError, match="approaches_per_camera=2"):
        scenario("city=small", "consensus=pbft_byzantine")
