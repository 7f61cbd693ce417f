"""The link-quality monitor converges to what it observes."""

from __future__ import annotations

import pytest

from edgeqi.network import LinkMonitor


def test_converges_to_constant_rtt_and_throughput() -> None:
    m = LinkMonitor(initial_bandwidth_kbps=100.0, initial_rtt_ms=500.0)
    for k in range(200):
        m.on_sent(k)
        m.on_ack(k, rtt_ms=80.0, nbytes=10_000, transfer_s=0.04)
    q = m.quality()
    assert q.rtt_ms == pytest.approx(80.0, rel=1e-3)
    assert q.rtt_p90_ms == pytest.approx(80.0, rel=1e-2)
    assert q.bandwidth_kbps == pytest.approx(2000.0, rel=1e-3)
    assert q.loss == 0.0


def test_loss_is_the_share_of_recent_publishes_lost() -> None:
    m = LinkMonitor(loss_window=100)
    for k in range(100):
        if k % 4 == 0:
            m.on_loss(k)
        else:
            m.on_ack(k, 50.0, 100, 0.001)
    assert m.quality().loss == pytest.approx(0.25)
    for k in range(100):
        m.on_ack(100 + k, 50.0, 100, 0.001)
    assert m.quality().loss == 0.0


def test_jitter_raises_the_high_percentile_estimate() -> None:
    steady, jittery = LinkMonitor(), LinkMonitor()
    for k in range(200):
        steady.on_ack(k, 100.0, 1000, 0.01)
        jittery.on_ack(k, 20.0 if k % 2 else 180.0, 1000, 0.01)
    assert jittery.quality().rtt_p90_ms > steady.quality().rtt_p90_ms + 100.0
    assert jittery.quality().score < steady.quality().score


def test_quality_is_computed_once_per_feedback() -> None:
    """Each node step asks for the link quality; it changes only on an ack or a loss."""
    m = LinkMonitor()
    first = m.quality()
    m.on_sent(1.0)
    assert m.quality() is first  # a send changes nothing the quality reads
    m.on_ack(2.0, rtt_ms=400.0, nbytes=1000, transfer_s=0.1)
    after_ack = m.quality()
    assert after_ack.rtt_ms > first.rtt_ms
    m.on_loss(3.0)
    assert m.quality().loss > after_ack.loss
