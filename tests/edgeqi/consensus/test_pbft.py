"""PBFT replica: normal case, rejection reasons, checkpoints, view change, catch-up."""

from __future__ import annotations

from edgeqi.consensus import Phase
from edgeqi.consensus.messages import seal, value_digest
from edgeqi.consensus.pbft import ClusterConfig
from tests.edgeqi.consensus.harness import Cluster


def test_normal_case_commits_everywhere_with_pbft_message_count() -> None:
    c = Cluster(4)
    c.request("cam-0", "cycle-1", "plan-a")
    sent_before = len(c.in_flight)
    c.run_until_quiet()
    for m in c.members:
        assert [d.value for d in c.decided[m].values()] == ["plan-a"]
        assert c.replicas[m].last_executed == 1
    assert sent_before == 3 + 3  # the request and the pre-prepare, each to three peers


def test_backup_request_reaches_primary_and_commits() -> None:
    c = Cluster(7)
    c.request("cam-5", "k", "v")
    c.run_until_quiet()
    assert all(c.decided[m][1].key == "k" for m in c.members)
    assert all(r.view == 0 for r in c.replicas.values())


def test_rejections_are_counted_by_reason_and_never_applied() -> None:
    c = Cluster(4)
    r = c.replicas["cam-1"]
    signer = c.keys["cam-0"].signer()
    body = '{"key":"k","value":"v"}'
    good = dict(cluster="int-0000", phase="preprepare", number=1, body=body, seq=1, ts=0.0)
    d = value_digest("k", "v")
    # bad signature: signed by cam-2 but claims cam-0
    forged = seal(c.keys["cam-2"].signer(), view=0, digest=d, **good).model_copy(
        update={"node_id": "cam-0"}
    )
    r.receive(0.0, forged)
    r.receive(0.0, seal(signer, view=3, digest=d, **good))  # wrong (future-too-far) view
    r.receive(0.0, seal(signer, view=0, digest="0" * 64, **good))  # digest does not match body
    r.receive(0.0, seal(c.keys["cam-2"].signer(), view=0, digest=d, **good))  # not the primary
    junk = dict(good, body="{not json")
    r.receive(0.0, seal(signer, view=0, digest=d, **junk))  # malformed body
    r.receive(0.0, seal(signer, view=0, digest=d, **dict(good, cluster="int-9999")))
    r.receive(0.0, seal(signer, view=0, digest=d, **dict(good, number=99)))  # out of window
    assert r.rejected == {
        "bad_signature": 1,
        "wrong_view": 1,
        "malformed": 2,
        "not_primary": 1,
        "wrong_cluster": 1,
        "seq_out_of_window": 1,
    }
    assert not r._log or all(s.preprepare is None for s in r._log.values())
    # a correct one is accepted and answered with a prepare
    out = r.receive(0.0, seal(signer, view=0, digest=d, **good))
    assert [m.phase for _, m in out.messages] == ["prepare"]


def test_stale_sequence_numbers_rejected_after_checkpoint() -> None:
    c = Cluster(4, checkpoint_interval=2, window=4)
    for k in range(6):
        c.request("cam-0", f"k{k}", "v")
        c.run_until_quiet()
    r = c.replicas["cam-1"]
    assert r.low == 6 and r.last_executed == 6
    old = seal(
        c.keys["cam-2"].signer(),
        cluster="int-0000",
        phase="prepare",
        view=0,
        number=3,
        digest=value_digest("k2", "v"),
        seq=99,
        ts=0.0,
    )
    before = r.rejected["stale_seq"]
    r.receive(c.now, old)
    assert r.rejected["stale_seq"] == before + 1


def test_checkpoint_truncates_log() -> None:
    c = Cluster(4, checkpoint_interval=4, window=8)
    for k in range(4):
        c.request("cam-0", f"k{k}", "v")
    c.run_until_quiet()
    for r in c.replicas.values():
        assert r.last_executed == 4
        assert r.low == 4
        assert all(n > 4 for _, n in r._log)
        assert not r._prepared_cert and not r._checkpoints
    c.request("cam-0", "k4", "v")
    c.run_until_quiet()
    assert all(r.last_executed == 5 and r.low == 4 for r in c.replicas.values())


def test_silent_primary_triggers_view_change_with_growing_timeouts() -> None:
    c = Cluster(4, timeout_s=1.0)
    silent = frozenset({"cam-0"})
    for m in c.honest:
        c.request(m, "k", "v")
    c.run_until_quiet(silent=silent)
    for m in ("cam-1", "cam-2", "cam-3"):
        r = c.replicas[m]
        assert r.view == 1 and r.primary == "cam-1"
        assert c.decided[m][1].key == "k"
    # the primary of view 1 is silent too: it now takes two doublings to settle on view 2
    c2 = Cluster(4, timeout_s=1.0)
    for m in ("cam-2", "cam-3", "cam-0"):
        c2.request(m, "k", "v")
    c2.run_until_quiet(silent=frozenset({"cam-0", "cam-1"}) - {"cam-0"})
    assert all(c2.decided[m][1].key == "k" for m in ("cam-0", "cam-2", "cam-3"))


def test_equivocating_primary_cannot_split_decisions() -> None:
    c = Cluster(4, byzantine=frozenset({"cam-0"}))
    signer = c.keys["cam-0"].signer()
    for i, dst in enumerate(("cam-1", "cam-2", "cam-3")):
        value = "A" if i < 2 else "B"
        m = seal(
            signer,
            cluster="int-0000",
            phase=Phase.PRE_PREPARE.value,
            view=0,
            number=1,
            digest=value_digest("k", value),
            body=f'{{"key":"k","value":"{value}"}}',
            seq=i + 1,
            ts=0.0,
        )
        c.emit("cam-0", type(c.replicas["cam-0"].tick(0.0))())  # nothing else from cam-0
        c.emit(dst, c.replicas[dst].receive(0.0, m))
    for m in c.honest:
        c.request(m, "k", "A")
    c.run_until_quiet(silent=frozenset({"cam-0"}))
    values = {c.decided[m][1].value for m in c.honest if 1 in c.decided[m]}
    assert len(values) <= 1
    # liveness: the honest three move on without the equivocating primary
    assert all(any(d.key == "k" for d in c.decided[m].values()) for m in c.honest)


def test_partitioned_replica_catches_up_after_heal() -> None:
    c = Cluster(4, checkpoint_interval=2, window=4)
    cut = frozenset({"cam-3"})
    for k in range(5):
        c.request("cam-0", f"k{k}", "v")
        c.run_until_quiet(silent=cut)
    assert c.replicas["cam-3"].last_executed == 0
    c.request("cam-0", "after", "v")
    for m in c.members:
        c.request(m, "after", "v")
    c.run_until_quiet()
    assert c.replicas["cam-3"].last_executed == c.replicas["cam-0"].last_executed == 6
    assert any(d.key == "after" for d in c.decided["cam-3"].values())


def test_cluster_config_quorums() -> None:
    cfg = ClusterConfig("c", tuple(f"n{i}" for i in range(7)))
    assert (cfg.n, cfg.f, cfg.quorum, cfg.primary(8)) == (7, 2, 5, "n1")
    # Sizes other than 3f + 1: two quorums still overlap in f + 1 replicas.
    for n in range(1, 12):
        q = ClusterConfig("c", tuple(f"n{i}" for i in range(n)))
        assert 2 * q.quorum - n >= q.f + 1 and q.quorum <= n - q.f
    three = ClusterConfig("c", ("a", "b", "c"))
    assert (three.f, three.quorum) == (0, 2)


def test_view_change_timeouts_double_until_an_honest_primary_takes_over() -> None:
    c = Cluster(7, timeout_s=1.0)
    silent = frozenset({"cam-0", "cam-1"})
    for m in c.members:
        c.request(m, "k", "v")
    c.in_flight = [f for f in c.in_flight if f.src not in silent]
    c.tick(1.01)  # the request timer fires everywhere: view change to view 1 (cam-1, silent)
    while c.in_flight:
        f = c.in_flight.pop(0)
        if f.dst not in silent and f.src not in silent:
            c.emit(f.dst, c.replicas[f.dst].receive(c.now, f.msg))
    r = c.replicas["cam-3"]
    assert r.view == 1 and r.in_view_change
    assert r._timer is not None and abs((r._timer - c.now) - 2.0) < 1e-6  # doubled
    c.run_until_quiet(silent=silent)
    assert all(
        c.replicas[m].view == 2 and c.decided[m][1].key == "k" for m in c.honest if m not in silent
    )
