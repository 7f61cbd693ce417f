"""What an intersection's cameras agree on each signal cycle, and what the district agrees on.

The PBFT request of a cycle is a set of at least ``2f + 1`` signed camera reports.
Every replica checks each report's signature before accepting a proposal, and every
honest replica derives the same decision from the agreed set with the pure
functions below:

- :func:`fuse`: the queue per approach, trimmed so that ``f`` lying cameras cannot
  push it outside the range the honest cameras reported;
- :func:`webster_plan`: the next signal timing (Webster's optimal cycle and
  green split from the critical flow ratio of each phase);
- :func:`assign_coverage`: which camera watches which approach next cycle, so
  overlapping cameras stop duplicating detection work, with periodic audit cycles in
  which everyone watches everything so a lying camera can be noticed and excluded;
- :func:`green_wave_offsets`: the district committee's corridor decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from edgeqi.consensus.crypto import Signer, Verifier
from edgeqi.consensus.messages import Phase, seal, signature_ok
from edgeqi.protocol import ConsensusMessage


@dataclass(frozen=True, slots=True)
class Fused:
    """One approach's agreed queue and whether ``2f + 1`` reports backed it."""

    vehicles: float
    reports: int
    robust: bool


def fuse(values: Sequence[float], f: int) -> Fused:
    """Trimmed mean: drop the ``f`` lowest and ``f`` highest, average the rest.

    With at least ``2f + 1`` values of which at most ``f`` are lies, every value left
    after trimming lies between the smallest and the largest honest value, so the
    result does too. With fewer values it falls back to the median (``robust=False``).
    """
    xs = sorted(values)
    if not xs:
        return Fused(0.0, 0, False)
    if len(xs) >= 2 * f + 1:
        kept = xs[f : len(xs) - f]
        return Fused(sum(kept) / len(kept), len(xs), True)
    mid = len(xs) // 2
    median = xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2.0
    return Fused(median, len(xs), False)


def fuse_reports(reports: Sequence[Mapping[str, float]], f: int) -> dict[str, Fused]:
    """Fuse per approach over whichever reports cover it."""
    by_approach: dict[str, list[float]] = {}
    for r in reports:
        for approach, v in r.items():
            by_approach.setdefault(approach, []).append(v)
    return {a: fuse(vs, f) for a, vs in sorted(by_approach.items())}


@dataclass(frozen=True, slots=True)
class SignalPlan:
    cycle_s: float
    split_phase0: float
    """Share of effective green given to phase 0 (the sim's ``set_green_split``)."""
    flow_ratio: float


def webster_plan(
    queue_by_phase: Sequence[float],
    saturation_veh_per_s: float,
    current_cycle_s: float,
    lost_time_s: float,
    min_cycle_s: float = 40.0,
    max_cycle_s: float = 150.0,
) -> SignalPlan:
    """Webster: ``C = (1.5 L + 5) / (1 - Y)``, greens in proportion to critical ratios.

    ``queue_by_phase`` is each phase's critical (largest) agreed queue, taken as the
    vehicles arriving per cycle; ``y = (queue / cycle) / saturation flow``.
    """
    ys = [max(0.0, q) / current_cycle_s / saturation_veh_per_s for q in queue_by_phase]
    y_total = sum(ys)
    cycle = max_cycle_s if y_total >= 0.95 else (1.5 * lost_time_s + 5.0) / (1.0 - y_total)
    cycle = min(max_cycle_s, max(min_cycle_s, cycle))
    split = ys[0] / y_total if y_total > 0 else 1.0 / len(ys)
    return SignalPlan(round(cycle, 3), round(min(0.9, max(0.1, split)), 4), round(y_total, 4))


def assign_coverage(
    visible: Mapping[str, Sequence[str]],
    cycle: int,
    excluded: frozenset[str] = frozenset(),
    redundancy: int = 1,
    audit_every: int = 0,
) -> dict[str, tuple[str, ...]]:
    """Camera -> approaches it watches next cycle.

    Each approach gets ``redundancy`` cameras among those that see it, preferring
    cameras not ``excluded`` (suspected of lying) and spreading load; the choice
    rotates with ``cycle`` so batteries drain evenly. Every ``audit_every``-th cycle
    (0: never) every camera watches everything it can see.
    """
    cameras = sorted(visible)
    if audit_every and cycle % audit_every == 0:
        return {c: tuple(sorted(visible[c])) for c in cameras}
    approaches = sorted({a for c in cameras for a in visible[c]})
    load = dict.fromkeys(cameras, 0)
    chosen: dict[str, list[str]] = {c: [] for c in cameras}
    for i, a in enumerate(approaches):
        seers = [c for c in cameras if a in visible[c]]
        rot = (cycle + i) % len(seers)
        order = seers[rot:] + seers[:rot]
        order.sort(key=lambda c: (c in excluded, load[c]))
        for c in order[: max(1, redundancy)]:
            chosen[c].append(a)
            load[c] += 1
    return {c: tuple(chosen[c]) for c in cameras}


def green_wave_offsets(
    intersections: Sequence[str], spacing_m: float, speed_mps: float, cycle_s: float
) -> dict[str, float]:
    """Offsets along a corridor so a platoon at ``speed_mps`` meets green at each signal."""
    return {
        name: round((k * spacing_m / speed_mps) % cycle_s, 3)
        for k, name in enumerate(intersections)
    }


# -- reports and requests on the wire -------------------------------------------------


def sign_report(
    signer: Signer, cluster: str, cycle: int, queues: Mapping[str, float], seq: int, ts: float
) -> ConsensusMessage:
    """A camera's signed queue report for ``cycle`` (vehicles per approach)."""
    body = json.dumps({a: round(v, 2) for a, v in sorted(queues.items())}, separators=(",", ":"))
    return seal(
        signer,
        cluster=cluster,
        phase=Phase.REPORT.value,
        view=0,
        number=cycle,
        digest="report",
        body=body,
        seq=seq,
        ts=ts,
    )


def report_queues(m: ConsensusMessage) -> dict[str, float] | None:
    try:
        data = json.loads(m.body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, float] = {}
    for k, v in data.items():
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v < 1e6:
            return None
        out[str(k)] = float(v)
    return out


def cycle_request(reports: Sequence[ConsensusMessage]) -> str:
    """The value proposed for a cycle: the signed reports, in the order given."""
    return json.dumps([r.model_dump(exclude_none=True) for r in reports], separators=(",", ":"))


def parse_cycle_request(
    value: str, cluster: str, cycle: int, quorum: int, verifier: Verifier, members: Sequence[str]
) -> list[tuple[str, dict[str, float]]] | None:
    """``(camera, queues)`` of a valid request: ``quorum`` distinct members' signed reports."""
    try:
        raw = json.loads(value)
    except ValueError:
        return None
    if not isinstance(raw, list) or len(raw) < quorum or len(raw) > len(members):
        return None
    out: list[tuple[str, dict[str, float]]] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            return None
        try:
            m = ConsensusMessage.model_validate(item)
        except ValidationError:
            return None
        if m.phase != Phase.REPORT:
            return None
        if m.cluster != cluster or m.number != cycle or m.node_id in seen:
            return None
        if m.node_id not in members or not signature_ok(verifier, m):
            return None
        queues = report_queues(m)
        if queues is None:
            return None
        seen.add(m.node_id)
        out.append((m.node_id, queues))
    return sorted(out)
