"""A tiny in-memory network for PBFT tests: every delivery, drop and delay is chosen by the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from edgeqi.consensus import ClusterConfig, Decision, KeyPair, Output, Replica, Verifier
from edgeqi.consensus.crypto import derive_seed
from edgeqi.protocol import ConsensusMessage


def keys_for(members: tuple[str, ...], secret: str = "test") -> dict[str, KeyPair]:
    return {m: KeyPair(m, derive_seed(secret, m)) for m in members}


@dataclass
class InFlight:
    src: str
    dst: str
    msg: ConsensusMessage


@dataclass
class Cluster:
    """``n`` replicas, the messages in flight between them, and what each decided."""

    n: int
    timeout_s: float = 1.0
    byzantine: frozenset[str] = frozenset()
    validate: Callable[[str, str], bool] | None = None
    checkpoint_interval: int = 4
    window: int = 8
    now: float = 0.0
    in_flight: list[InFlight] = field(default_factory=list)
    decided: dict[str, dict[int, Decision]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.members = tuple(f"cam-{i}" for i in range(self.n))
        self.keys = keys_for(self.members)
        public = {m: k.public for m, k in self.keys.items()}
        self.config = ClusterConfig(
            "int-0000",
            self.members,
            request_timeout_s=self.timeout_s,
            checkpoint_interval=self.checkpoint_interval,
            window=self.window,
        )
        self.replicas = {
            m: Replica(
                self.config,
                self.keys[m].signer(),
                Verifier(public),
                *(() if self.validate is None else (self.validate,)),
            )
            for m in self.members
        }
        self.decided = {m: {} for m in self.members}

    @property
    def honest(self) -> list[str]:
        return [m for m in self.members if m not in self.byzantine]

    def emit(self, src: str, out: Output) -> None:
        for d in out.decisions:
            seen = self.decided[src].get(d.number)
            assert seen is None or seen.digest == d.digest, f"{src} decided {d.number} twice"
            self.decided[src][d.number] = d
        for to, m in out.messages:
            for dst in self.members if to is None else (to,):
                if dst != src:
                    self.in_flight.append(InFlight(src, dst, m))

    def request(self, member: str, key: str, value: str) -> None:
        self.emit(member, self.replicas[member].request(self.now, key, value))

    def deliver(self, i: int) -> None:
        f = self.in_flight.pop(i)
        self.emit(f.dst, self.replicas[f.dst].receive(self.now, f.msg))

    def tick(self, dt: float) -> None:
        self.now += dt
        for m in self.members:
            self.emit(m, self.replicas[m].tick(self.now))

    def run_until_quiet(self, max_rounds: int = 200, silent: frozenset[str] = frozenset()) -> None:
        """Deliver everything (dropping what ``silent`` members send), then let timers fire."""
        for _ in range(max_rounds):
            while self.in_flight:
                f = self.in_flight.pop(0)
                if f.src in silent or f.dst in silent:
                    continue
                self.emit(f.dst, self.replicas[f.dst].receive(self.now, f.msg))
            deadlines = [
                d
                for m in self.members
                if m not in silent and (d := self.replicas[m].next_deadline) is not None
            ]
            if not deadlines:
                return
            self.tick(max(0.0, min(deadlines) - self.now) + 1e-6)
