"""Five-tier adaptive streaming: down at once, up only after a hold."""

from __future__ import annotations

import pytest

from edgeqi.streaming import TIERS_KBPS, StreamingConfig, TierSelector


def test_the_papers_five_tiers() -> None:
    assert TIERS_KBPS == (150, 500, 1500, 3000, 6000)


def test_upgrades_one_tier_at_a_time_after_the_hold() -> None:
    sel = TierSelector(StreamingConfig(upgrade_hold_s=10.0), initial=0)
    assert sel.update(0.0, 20000.0, 0.0, 10.0) == 0
    assert sel.update(5.0, 20000.0, 0.0, 10.0) == 0
    assert sel.update(10.0, 20000.0, 0.0, 10.0) == 1
    assert sel.update(15.0, 20000.0, 0.0, 10.0) == 1  # the next hold starts here
    assert sel.update(20.0, 20000.0, 0.0, 10.0) == 1
    assert sel.update(25.0, 20000.0, 0.0, 10.0) == 2


def test_a_burst_shorter_than_the_hold_does_not_upgrade() -> None:
    sel = TierSelector(StreamingConfig(upgrade_hold_s=10.0), initial=1)
    sel.update(0.0, 5000.0, 0.0, 10.0)
    sel.update(6.0, 600.0, 0.0, 10.0)
    assert sel.update(12.0, 5000.0, 0.0, 10.0) == 1


def test_drops_several_tiers_at_once_when_bandwidth_collapses() -> None:
    sel = TierSelector(StreamingConfig(), initial=4)
    assert sel.update(0.0, 400.0, 0.0, 10.0) == 0
    assert sel.tier_kbps == 150


def test_loss_or_a_draining_buffer_steps_down() -> None:
    sel = TierSelector(StreamingConfig(max_loss=0.05, min_buffer_s=2.0), initial=3)
    assert sel.update(0.0, 50000.0, 0.2, 10.0) == 2
    assert sel.update(1.0, 50000.0, 0.0, 0.5) == 1


def test_invalid_initial_tier() -> None:
    with pytest.raises(ValueError, match="initial tier"):
        TierSelector(StreamingConfig(), initial=5)


def test_unknown_buffer_does_not_block_upgrades() -> None:
    sel = TierSelector(StreamingConfig(upgrade_hold_s=0.0), initial=0)
    assert sel.update(0.0, 20000.0, 0.0, None) == 0
    assert sel.update(1.0, 20000.0, 0.0, None) == 1
