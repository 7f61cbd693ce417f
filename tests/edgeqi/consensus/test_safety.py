"""The safety check (``edgeqi.consensus.safety``) on committed logs: it passes on agreeing
logs and fails on a corrupted one."""

from __future__ import annotations

from edgeqi.consensus.safety import Commit, check_logs

LOG: list[Commit] = [(1, "cycle-1", "d1"), (2, "cycle-2", "d2"), (3, "cycle-3", "d3")]
HONEST = ("c0", "c1", "c2")


def test_agreeing_logs_have_no_divergence_and_every_round_is_counted() -> None:
    logs = {"c0": LOG, "c1": LOG, "c2": LOG[:2], "c3": []}
    check = check_logs(logs, (*HONEST, "c3"))
    assert check.divergent == 0
    assert (check.replicas, check.commits, check.rounds, check.compared) == (4, 8, 3, 3)


def test_a_replica_that_committed_another_value_at_a_number_is_a_divergence() -> None:
    corrupted = [LOG[0], (2, "cycle-2", "forged"), LOG[2]]
    assert check_logs({"c0": LOG, "c1": corrupted, "c2": LOG}, HONEST).divergent == 1


def test_one_key_committed_twice_with_different_values_is_a_divergence() -> None:
    moved = [*LOG, (4, "cycle-2", "other")]
    assert check_logs({"c0": LOG, "c1": moved, "c2": LOG}, HONEST).divergent == 1


def test_a_faulty_replicas_log_is_not_held_against_the_honest_ones() -> None:
    forged = [(n, k, "forged") for n, k, _ in LOG]
    check = check_logs({"c0": LOG, "c1": LOG, "c2": LOG, "c3": forged}, HONEST)
    assert check.divergent == 0 and check.replicas == 3
