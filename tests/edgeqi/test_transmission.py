"""Algorithm 2 on constructed inputs."""

from __future__ import annotations

import json

import numpy as np

from edgeqi.transmission import (
    Action,
    AnomalyTransmitter,
    CycleConfirmation,
    CycleMax,
    RobustBaseline,
    TransmissionConfig,
    decode_batch,
    median,
)

NOON = 12 * 3600.0
MIDNIGHT = 0.0


def trained(
    values: list[float], start: float = NOON, step: float = 90.0, **cfg: float
) -> AnomalyTransmitter:
    tx = AnomalyTransmitter(TransmissionConfig(**cfg))  # type: ignore[arg-type]
    for k, v in enumerate(values):
        tx.observe("i0/N", v, start + k * step)
    return tx


def test_score_excludes_the_scored_sample() -> None:
    base = RobustBaseline(TransmissionConfig())
    for k in range(20):
        base.update("a", 10.0 + (k % 3), NOON + k)
    z, med, _, n = base.score("a", 1000.0, NOON + 30)
    assert n == 20
    assert med == 11.0, "the huge value must not pull the median"
    assert z > 100.0


def test_all_four_actions_are_reached() -> None:
    rng = np.random.default_rng(0)
    history = list(10.0 + rng.normal(0.0, 1.0, size=30))
    tx = trained(history, cusum_slack=100.0)  # CUSUM out of the way: z alone decides
    t = NOON + 40 * 90.0
    scale = tx.observe("i0/N", 10.0, t).scale
    assert tx.observe("i0/N", 10.0, t).action is Action.DISCARD
    assert tx.observe("i0/N", 10.0 + 2.5 * scale, t).action is Action.BATCH
    assert tx.observe("i0/N", 10.0 + 4.5 * scale, t).action is Action.TRANSMIT
    assert tx.observe("i0/N", 10.0 + 9.0 * scale, t).action is Action.TRANSMIT_NOW
    assert tx.take_discarded() >= 1
    assert tx.take_discarded() == 0


def test_cusum_catches_a_sustained_shift_below_medium_z() -> None:
    rng = np.random.default_rng(1)
    # Normal samples with variance 4 at mean 20 are no count (a count's variance is at
    # least its mean): the count floor is off so that the MAD alone sets sigma.
    tx = trained(list(20.0 + rng.normal(0.0, 2.0, size=40)), count_dispersion=0.0)
    t = NOON + 41 * 90.0
    verdicts = []
    for k in range(15):
        v = tx.observe("i0/N", 20.0 + 3.0 * 2.0 * 1.4826 * 0.6, t + k * 90.0)  # about z = 2.7
        verdicts.append(v)
    assert all(v.z < TransmissionConfig().medium_z for v in verdicts)
    assert any(v.action is Action.TRANSMIT_NOW for v in verdicts)


def test_no_alarm_before_min_history() -> None:
    tx = AnomalyTransmitter(TransmissionConfig(min_history=5))
    first = [tx.observe("k", v, NOON + i) for i, v in enumerate([1.0, 50.0, 1.0, 80.0])]
    assert all(v.action is Action.BATCH for v in first)


def test_time_of_day_bins_separate_rush_hour_from_night() -> None:
    cfg = TransmissionConfig(min_history=5)
    tx = AnomalyTransmitter(cfg)
    rush = 8 * 3600.0
    for day in range(3):
        for k in range(10):
            tx.observe("k", 40.0 + (k % 3), day * 86400.0 + rush + k * 60.0)
            tx.observe("k", 2.0 + (k % 2), day * 86400.0 + MIDNIGHT + 3600.0 + k * 60.0)
    at_rush = tx.observe("k", 41.0, 3 * 86400.0 + rush + 30.0)
    at_night = tx.observe("k", 41.0, 3 * 86400.0 + 3600.0 + 30.0)
    assert at_rush.action is Action.DISCARD
    assert at_night.action is Action.TRANSMIT_NOW


def test_an_ongoing_anomaly_is_not_learnt_at_once() -> None:
    rng = np.random.default_rng(2)
    tx = trained(list(10.0 + rng.normal(0.0, 1.0, size=30)), cusum_slack=100.0)
    t = NOON + 31 * 90.0
    actions = [tx.observe("i0/N", 40.0, t + k * 90.0).action for k in range(6)]
    assert actions.count(Action.DISCARD) == 0


def test_batch_is_compressed_and_round_trips() -> None:
    tx = AnomalyTransmitter(TransmissionConfig(batch_period_s=60.0))
    for k in range(5):  # below min_history everything is batched
        tx.observe("k", float(k), NOON + k, {"t": NOON + k, "a": "N", "v": float(k)})
    assert not tx.batch_due(NOON + 10)
    assert tx.batch_due(NOON + 61)
    payload = tx.flush(NOON + 61)
    assert payload is not None
    assert payload.count == 5
    assert payload.max_value == 4.0
    assert decode_batch(payload.codec, payload.data) == [
        {"t": NOON + k, "a": "N", "v": float(k)} for k in range(5)
    ]
    assert tx.flush(NOON + 130) is None


def test_compression_pays_off_on_a_full_batch() -> None:
    tx = AnomalyTransmitter(TransmissionConfig(min_history=1000))
    for k in range(300):
        tx.observe(
            "k", float(k % 7), NOON + k, {"t": round(NOON + k, 3), "a": "N", "v": float(k % 7)}
        )
    payload = tx.flush(NOON + 400)
    assert payload is not None
    assert payload.compressed_bytes < payload.raw_bytes / 3
    assert (
        len(json.dumps(decode_batch(payload.codec, payload.data), separators=(",", ":")))
        == payload.raw_bytes
    )


def test_cycle_max_reports_each_window_once() -> None:
    c = CycleMax(90.0)
    out = [c.push("k", v, t) for t, v in [(0, 3), (30, 9), (60, 4), (90, 1), (120, 2), (180, 0)]]
    assert out == [None, None, None, 9, None, 2]


def test_median_matches_numpy_bit_for_bit() -> None:
    """The scorer's pure-Python median must give NumPy's answer exactly, or every
    baseline, z-score and result downstream of it would shift."""
    rng = np.random.default_rng(7)
    for n in range(1, 62):
        values = np.round(rng.gamma(2.0, 6.0, size=n), int(rng.integers(0, 3))).tolist()
        med = median(values)
        assert med == float(np.median(values))
        deviations = [abs(v - med) for v in values]
        assert median(deviations) == float(np.median(np.abs(np.array(values) - med)))


def test_ordinary_cycle_to_cycle_variation_of_a_small_queue_is_not_critical() -> None:
    """Peaks of 4, 4, 6, 2, 4 vehicles, then 13: what random arrivals over a red phase do
    (seen in a district run, no episode near). The MAD of five samples is 0, so with only
    the 1-vehicle floor this scored z = 9, a critical alert with a clip; a count varies at
    least as a Poisson one does, so sigma >= sqrt(4) and the cycle is not critical."""
    tx = trained([4.0, 4.0, 6.0, 2.0, 4.0])
    verdict = tx.observe("i0/N", 13.0, NOON + 5 * 90.0)
    assert verdict.scale == 2.0
    assert verdict.action is not Action.TRANSMIT_NOW


def test_a_tripled_queue_is_still_critical_under_the_count_floor() -> None:
    tx = trained([9.0, 10.0, 11.0, 10.0, 12.0, 8.0, 10.0])
    assert tx.observe("i0/N", 30.0, NOON + 7 * 90.0).action is Action.TRANSMIT_NOW


def test_count_dispersion_zero_is_the_old_floor() -> None:
    tx = trained([4.0, 4.0, 6.0, 2.0, 4.0], count_dispersion=0.0)
    assert tx.observe("i0/N", 13.0, NOON + 5 * 90.0).scale == 1.0


def test_a_built_up_cusum_alarm_is_confirmed_at_once_a_one_cycle_spike_is_not() -> None:
    """The CUSUM restarts after signalling: a sustained shift just below medium_z signals
    once every few cycles, so M-of-N over its alarms would never confirm it."""
    rng = np.random.default_rng(1)
    cfg = TransmissionConfig(count_dispersion=0.0)
    tx = trained(list(20.0 + rng.normal(0.0, 2.0, size=40)), count_dispersion=0.0)
    confirm = CycleConfirmation(cfg)
    t = NOON + 41 * 90.0
    shift = [tx.observe("i0/N", 20.0 + 3.0 * 2.0 * 1.4826 * 0.6, t + k * 90.0) for k in range(15)]
    assert any(confirm.confirms("i0/N", v) for v in shift)
    spike = tx.observe("i0/N", 200.0, t + 16 * 90.0)
    assert spike.action is Action.TRANSMIT_NOW
    assert not CycleConfirmation(cfg).confirms("i0/N", spike), "one cycle, however large"
