"""Which cameras lie: a two-sided CUSUM of each camera's deviation from the robust queue.

A one-shot tolerance ("a report this far from the fused value is a lie") misses the
liar that matters most: one that distorts every report by a modest, consistent amount
(inflates by the same factor, say), because each single report stays within the
tolerance that honest counting noise needs. A cumulative sum does not: every report a
camera makes on an approach whose fused value ``2f + 1`` reports backed adds the
report's standardised deviation ``z``, less an allowance, to that camera's upward and
downward sums; an honest camera's deviations average zero and its sums stay near zero,
a consistent liar's grow every cycle until one crosses the threshold. A single huge
lie crosses it at once. A liar whose reports on ``m`` robustly fused approaches each
stray by ``z_a`` standard deviations is therefore suspected within
``ceil(threshold / sum(z_a - allowance))`` decisions; one that strays by less than the
allowance on every approach is never suspected, and moves no fused value by more than
the honest noise does.

``z = (report - fused) / sigma`` with ``sigma = sqrt(noise_veh**2 + (noise_share *
fused)**2)``: a detector's counting noise in vehicles, and a share of the queue for the
errors that grow with it (occlusion in long queues). The sums depend on the agreed
decisions alone, taken in decision order, so every honest camera of a cluster holds the
same sums and suspects the same cameras.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edgeqi.consensus.agreement import Fused


@dataclass(frozen=True, slots=True)
class SuspicionRule:
    noise_veh: float
    """Standard deviation of an honest camera's count, vehicles."""
    noise_share: float
    """Further standard deviation per vehicle of queue."""
    allowance: float
    """Subtracted from every ``|z|`` step: deviations below it never accumulate."""
    threshold: float
    """A sum above this makes its camera a suspect."""

    def sigma(self, fused: float) -> float:
        return math.hypot(self.noise_veh, self.noise_share * fused)


@dataclass(slots=True)
class Suspicion:
    """Every camera's upward and downward sums, fed with each decision's reports."""

    rule: SuspicionRule
    high: dict[str, float] = field(default_factory=dict)
    low: dict[str, float] = field(default_factory=dict)

    def observe(
        self, reports: Sequence[tuple[str, Mapping[str, float]]], fused: Mapping[str, Fused]
    ) -> frozenset[str]:
        """Add one decision's reports; the reporting cameras whose sum is over the threshold."""
        r = self.rule
        suspects = set()
        for cam, queues in reports:
            hi, lo = self.high.get(cam, 0.0), self.low.get(cam, 0.0)
            for approach, v in sorted(queues.items()):
                fz = fused.get(approach)
                if fz is None or not fz.robust:
                    continue
                z = (v - fz.vehicles) / r.sigma(fz.vehicles)
                hi = max(0.0, hi + z - r.allowance)
                lo = max(0.0, lo - z - r.allowance)
            self.high[cam], self.low[cam] = hi, lo
            if max(hi, lo) > r.threshold:
                suspects.add(cam)
        return frozenset(suspects)

    def score(self, cam: str) -> float:
        """How far over nothing the camera's larger sum is (0 for one never seen)."""
        return max(self.high.get(cam, 0.0), self.low.get(cam, 0.0))

    def worst(self, suspects: frozenset[str], room: int) -> frozenset[str]:
        """At most ``room`` of ``suspects``, the largest sums first (ties by name).

        The replicas assume at most ``f`` faulty cameras, so they never leave out more than
        ``f``: beyond ``f`` liars the fused values the sums are measured against are the
        liars' own, honest cameras' sums grow too, and excluding every suspect would leave
        out the honest majority of the remaining cameras with the liars."""
        ranked = sorted(suspects, key=lambda c: (-self.score(c), c))
        return frozenset(ranked[: max(0, room)])
