"""PBFT's safety property checked on what the replicas actually committed.

PBFT promises that no two honest replicas commit different requests at the same
sequence number while at most ``f`` replicas are faulty. The check reads every
replica's own committed log, not the leader's or the controller's view, because a
divergence shows only when the honest logs are put side by side. A key (one cycle's
request) committed with two different values, at the same or at different sequence
numbers, is a divergence too: the cameras would then act on two different agreed report
sets for one cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

Commit = tuple[int, str, str]
"""``(sequence number, key, digest)`` of one committed request."""


@dataclass(frozen=True, slots=True)
class SafetyCheck:
    replicas: int
    """Honest replicas whose logs were compared."""
    commits: int
    """Entries read from those logs."""
    rounds: int
    """Distinct sequence numbers committed by at least one honest replica."""
    compared: int
    """Of those, committed by two or more honest replicas (where divergence could show)."""
    divergent: int
    """Sequence numbers at which honest replicas committed different requests, and keys
    committed with different values at different numbers."""


def check_logs(logs: Mapping[str, Sequence[Commit]], honest: Collection[str]) -> SafetyCheck:
    """Compare the committed logs of the ``honest`` replicas of one cluster."""
    by_number: dict[int, set[tuple[str, str]]] = {}
    committers: dict[int, int] = {}
    by_key: dict[str, set[tuple[int, str]]] = {}
    replicas = commits = 0
    for replica, log in sorted(logs.items()):
        if replica not in honest:
            continue
        replicas += 1
        commits += len(log)
        for number in {n for n, _, _ in log}:
            committers[number] = committers.get(number, 0) + 1
        for number, key, digest in log:
            by_number.setdefault(number, set()).add((key, digest))
            by_key.setdefault(key, set()).add((number, digest))
    divergent = sum(len(v) > 1 for v in by_number.values())
    # A key with two values at one number is counted there already; at two numbers, here.
    divergent += sum(
        len({d for _, d in v}) > 1 and len({n for n, _ in v}) > 1 for v in by_key.values()
    )
    return SafetyCheck(
        replicas=replicas,
        commits=commits,
        rounds=len(by_number),
        compared=sum(c > 1 for c in committers.values()),
        divergent=divergent,
    )
