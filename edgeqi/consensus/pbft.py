"""A PBFT replica as a deterministic state machine.

The replica never reads a clock and never does I/O: it is handed a message or a
timer tick together with the current time, and returns the messages to send and
the decisions it committed. The same object therefore runs over the simulator's
virtual network, over MQTT, and under a property-based test that chooses every
delivery order.

Protocol (Castro and Liskov, 1999), with ``n`` replicas tolerating
``f = (n - 1) // 3`` Byzantine ones and quorums of ``2f + 1`` (for ``n = 3f + 1``;
``ceil((n + f + 1) / 2)`` in general, see :attr:`ClusterConfig.quorum`):

- normal case: a request is broadcast; the primary of the view assigns it a
  sequence number (pre-prepare); backups accept and broadcast prepare; a replica
  with the pre-prepare and ``2f`` matching prepares is *prepared* and broadcasts
  commit; ``2f + 1`` matching commits make it *committed*, and committed requests
  are executed in sequence-number order;
- checkpoints every ``checkpoint_interval`` executions; ``2f + 1`` matching ones
  make it stable and truncate the log below it (the low water mark);
- view change when a request stays pending past a timeout that doubles with each
  successive view change; the new primary gathers ``2f + 1`` view changes and
  re-proposes everything prepared in them (a no-op where nothing was);
- catch-up: a replica that asks for a view change others do not need is sent the
  commit and checkpoint certificates it missed, so a replica cut off by a
  partition executes what was decided once the partition heals.

Every message is signed and verified on receipt; anything that fails a check is
counted under a reason in :attr:`Replica.rejected` and never applied.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import ValidationError

from edgeqi.consensus.crypto import Signer, Verifier
from edgeqi.consensus.messages import (
    NULL_DIGEST,
    Phase,
    seal,
    signature_ok,
    value_digest,
    vote_ok,
)
from edgeqi.protocol import ConsensusMessage

RETRANSMITTED_VIEWS = 2
"""A replica in view change repeats its view changes for this many views below its own."""
RETRANSMITTED_REQUESTS = 4
FUTURE_VIEWS = 2
"""Messages of up to this many views ahead are kept until their view starts."""

Validator = Callable[[str, str], bool]
"""Application check of a request ``(key, value)`` before a backup accepts it."""


def _always_valid(key: str, value: str) -> bool:
    return bool(key)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """The membership and timing of one PBFT group."""

    cluster: str
    members: tuple[str, ...]
    request_timeout_s: float = 1.0
    """A pending request not executed within this starts a view change (doubles per change)."""
    checkpoint_interval: int = 4
    window: int = 8
    """Sequence numbers accepted above the low water mark."""
    max_backoff: int = 6
    """Timeouts grow as ``request_timeout_s * 2**k`` with ``k`` capped here."""
    remembered_keys: int = 1024

    def __post_init__(self) -> None:
        if len(set(self.members)) != len(self.members) or not self.members:
            raise ValueError("members must be distinct and non-empty")
        if self.window < self.checkpoint_interval:
            raise ValueError("window must be at least one checkpoint interval")

    @property
    def n(self) -> int:
        return len(self.members)

    @property
    def f(self) -> int:
        return (self.n - 1) // 3

    @property
    def quorum(self) -> int:
        """``ceil((n + f + 1) / 2)``: any two quorums share at least ``f + 1`` replicas, so
        at least one honest one. It is ``2f + 1`` when ``n = 3f + 1``; for other sizes
        ``2f + 1`` is too small (three cameras would have ``f = 0`` and quorums of one,
        and two sides of a partition would each decide alone)."""
        return (self.n + self.f + 2) // 2

    def primary(self, view: int) -> str:
        return self.members[view % self.n]


@dataclass(frozen=True, slots=True)
class Decision:
    """A request committed at ``number`` (executed once per key; no-ops are not reported)."""

    number: int
    view: int
    key: str
    value: str
    digest: str


@dataclass(slots=True)
class Output:
    """What one call produced: ``(recipient or None for everyone, message)`` and decisions."""

    messages: list[tuple[str | None, ConsensusMessage]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def extend(self, other: Output) -> None:
        self.messages.extend(other.messages)
        self.decisions.extend(other.decisions)


O_co = TypeVar("O_co", bound=Output, covariant=True)


class StateMachine(Protocol[O_co]):
    """What a runtime drives: a :class:`Replica`, or Layer 5's cycle around one
    (:class:`edgeqi.consensus.cycle.CycleReplica`). A transport hands it messages and
    timer ticks with the time and sends what it returns; nothing else touches it."""

    @property
    def id(self) -> str: ...

    @property
    def cfg(self) -> ClusterConfig: ...

    @property
    def next_deadline(self) -> float | None: ...

    def receive(self, now: float, m: ConsensusMessage) -> O_co: ...

    def tick(self, now: float) -> O_co: ...


@dataclass(slots=True)
class _Slot:
    """One ``(view, number)`` of the log."""

    key: str = ""
    value: str = ""
    digest: str = ""
    preprepare: ConsensusMessage | None = None
    prepares: dict[str, ConsensusMessage] = field(default_factory=dict)
    commits: dict[str, ConsensusMessage] = field(default_factory=dict)
    prepared: bool = False
    committed: bool = False


@dataclass(frozen=True, slots=True)
class _Committed:
    view: int
    key: str
    value: str
    digest: str
    votes: tuple[tuple[str, str], ...]


class Replica:
    """One member of a PBFT cluster."""

    def __init__(
        self,
        config: ClusterConfig,
        signer: Signer,
        verifier: Verifier,
        validate: Validator = _always_valid,
    ) -> None:
        if signer.node_id not in config.members:
            raise ValueError(f"{signer.node_id} is not a member of {config.cluster}")
        self.cfg = config
        self.id = signer.node_id
        self._signer = signer
        self._verifier = verifier
        self._validate = validate
        self._out_seq = 0
        self.view = 0
        self.in_view_change = False
        self.low = 0
        """Low water mark: the last stable checkpoint."""
        self.last_executed = 0
        self._state_digest = NULL_DIGEST
        self._stable_proof: list[tuple[str, str]] = []
        self._stable_digest = NULL_DIGEST
        self._log: dict[tuple[int, int], _Slot] = {}
        self._committed: dict[int, _Committed] = {}
        self._prepared_cert: dict[int, dict[str, Any]] = {}
        self._checkpoints: dict[int, dict[str, ConsensusMessage]] = {}
        self._view_changes: dict[int, dict[str, ConsensusMessage]] = {}
        self._new_view_msg: ConsensusMessage | None = None
        self._pending: OrderedDict[str, str] = OrderedDict()
        self._proposed: set[str] = set()
        self._next_number = 1
        self._executed_keys: OrderedDict[str, int] = OrderedDict()
        self._timer: float | None = None
        self._backoff = 0
        self._now = 0.0
        self.rejected: Counter[str] = Counter()
        self.view_changes = 0
        self._adopted: list[Decision] = []
        self._gaps: set[int] = set()
        """Numbers adopted through a checkpoint whose request this replica never saw."""
        self._fetch = False
        self._my_view_changes: dict[int, ConsensusMessage] = {}
        self._retransmit_at: float | None = None
        self._status_sent: dict[str, tuple[int, int, int, int]] = {}
        self.skipped = 0
        """Sequence numbers adopted from a stable checkpoint instead of executed."""

    # -- public interface ---------------------------------------------------------------

    @property
    def primary(self) -> str:
        return self.cfg.primary(self.view)

    @property
    def is_primary(self) -> bool:
        return self.primary == self.id

    def executed(self, key: str) -> bool:
        return key in self._executed_keys

    def request(self, now: float, key: str, value: str, broadcast: bool = True) -> Output:
        """Submit a request: broadcast it, and propose it if this replica is the primary.

        ``broadcast=False`` when every replica submits its own request for the key (as the
        cameras of a cycle do), so that nobody needs to hear it from someone else.
        """
        self._now = now
        out = Output()
        if not key or self.executed(key):
            return out
        if broadcast:
            digest = value_digest(key, value)
            body = _request_body(key, value)
            self._send(out, None, Phase.REQUEST, self.view, 0, digest, body)
        self._add_pending(key, value)
        self._propose(out)
        return out

    def receive(self, now: float, m: ConsensusMessage) -> Output:
        """Handle one message from the network."""
        self._now = now
        out = Output()
        if m.node_id == self.id:
            return out  # our own broadcast looped back by the transport
        reason = self._check(m)
        if reason is not None:
            self.rejected[reason] += 1
            return out
        handler = self._handlers.get(m.phase)
        if handler is None:  # REPORT is the application's business
            return out
        handler(self, m, out)
        self._propose(out)
        return self._flush(out)

    def tick(self, now: float) -> Output:
        """Fire expired timers."""
        self._now = now
        out = Output()
        if self._timer is not None and now >= self._timer:
            if self.in_view_change and not self._pending:
                self._timer = None  # nothing to push for: wait for a new view or a request
            else:
                self._start_view_change(self.view + 1, out)
        if self.in_view_change and self._retransmit_at is not None and now >= self._retransmit_at:
            # Messages can be lost (a partition, a full buffer): repeat our recent view
            # changes so that replicas left in an earlier view can still gather a quorum.
            if self._pending:
                for v in sorted(self._my_view_changes):
                    out.messages.append((None, self._my_view_changes[v]))
                # ... and the requests we are waiting for, which others may never have seen.
                for key, value in list(self._pending.items())[:RETRANSMITTED_REQUESTS]:
                    digest = value_digest(key, value)
                    body = _request_body(key, value)
                    self._send(out, None, Phase.REQUEST, self.view, 0, digest, body)
                self._retransmit_at = now + self.cfg.request_timeout_s
            else:
                self._retransmit_at = None
        self._propose(out)
        return self._flush(out)

    def _flush(self, out: Output) -> Output:
        if self._fetch and self._gaps:
            body = json.dumps({"executed": min(self._gaps) - 1})
            self._send(out, None, Phase.FETCH, self.view, 0, NULL_DIGEST, body)
        self._fetch = False
        if self._adopted:
            out.decisions.extend(self._adopted)
            self._adopted = []
        return out

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has something to do (``None``: nothing pending)."""
        times = [t for t in (self._timer, self._retransmit_at) if t is not None]
        return min(times) if times else None

    # -- checks -------------------------------------------------------------------------

    def _check(self, m: ConsensusMessage) -> str | None:
        if m.cluster != self.cfg.cluster:
            return "wrong_cluster"
        if m.phase not in self._handlers and m.phase != Phase.REPORT:
            return "malformed"
        if m.node_id not in self.cfg.members or not self._verifier.knows(m.node_id):
            return "unknown_sender"
        if not signature_ok(self._verifier, m):
            return "bad_signature"
        return None

    def _timeout(self) -> float:
        return self.cfg.request_timeout_s * float(2 ** min(self._backoff, self.cfg.max_backoff))

    def _in_window(self, number: int) -> str | None:
        if number <= self.low:
            # Votes of the interval just made stable still arrive from slower replicas:
            # dropped without counting; anything older is a stale (or replayed) message.
            return "late" if number > self.low - self.cfg.checkpoint_interval else "stale_seq"
        if number > self.low + self.cfg.window:
            return "seq_out_of_window"
        return None

    @property
    def _active(self) -> bool:
        return not self.in_view_change

    # -- sending ------------------------------------------------------------------------

    def _make(
        self, phase: Phase, view: int, number: int, digest: str, body: str = ""
    ) -> ConsensusMessage:
        self._out_seq += 1
        return seal(
            self._signer,
            cluster=self.cfg.cluster,
            phase=phase.value,
            view=view,
            number=number,
            digest=digest,
            body=body,
            seq=self._out_seq,
            ts=max(0.0, self._now),
        )

    def _send(
        self,
        out: Output,
        to: str | None,
        phase: Phase,
        view: int,
        number: int,
        digest: str,
        body: str = "",
    ) -> ConsensusMessage:
        m = self._make(phase, view, number, digest, body)
        out.messages.append((to, m))
        return m

    # -- requests and proposals ---------------------------------------------------------

    def _add_pending(self, key: str, value: str) -> None:
        if not key or key in self._pending or self.executed(key):
            return
        self._pending[key] = value
        if self._active and self._timer is None:
            self._timer = self._now + self._timeout()
        elif not self._active and self._retransmit_at is None:
            self._retransmit_at = self._now + self.cfg.request_timeout_s

    def _on_request(self, m: ConsensusMessage, out: Output) -> None:
        parsed = _parse_request(m.body)
        if parsed is None or not parsed[0] or value_digest(*parsed) != m.digest:
            self.rejected["malformed"] += 1
            return
        key, value = parsed
        if not self._validate(key, value):
            self.rejected["invalid_value"] += 1
            return
        self._add_pending(key, value)

    def _propose(self, out: Output) -> None:
        if not self.is_primary or not self._active:
            return
        for key, value in list(self._pending.items()):
            if key in self._proposed:
                continue
            if self._next_number > self.low + self.cfg.window:
                return
            number = self._next_number
            self._next_number += 1
            self._proposed.add(key)
            digest = value_digest(key, value)
            body = _request_body(key, value)
            m = self._send(out, None, Phase.PRE_PREPARE, self.view, number, digest, body)
            slot = self._slot(self.view, number)
            slot.key, slot.value, slot.digest, slot.preprepare = key, value, digest, m
            self._advance(self.view, number, out)

    def _slot(self, view: int, number: int) -> _Slot:
        slot = self._log.get((view, number))
        if slot is None:
            slot = self._log[(view, number)] = _Slot()
        return slot

    # -- normal case --------------------------------------------------------------------

    def _normal_check(self, m: ConsensusMessage) -> str | None:
        """Messages of the current view, or of the next few (kept until that view starts)."""
        if m.view < self.view or m.view > self.view + FUTURE_VIEWS:
            return "wrong_view"
        return self._in_window(m.number)

    def _on_preprepare(self, m: ConsensusMessage, out: Output) -> None:
        reason = self._normal_check(m)
        if reason is None and m.node_id != self.cfg.primary(m.view):
            reason = "not_primary"
        parsed = _parse_request(m.body) if reason is None else None
        if reason is None and (
            parsed is None or not parsed[0] or value_digest(*parsed) != m.digest
        ):
            reason = "malformed"
        if reason is not None or parsed is None:
            if reason != "late":
                self.rejected[reason or "malformed"] += 1
            return
        key, value = parsed
        slot = self._slot(m.view, m.number)
        if slot.preprepare is not None:
            self.rejected["equivocation" if slot.digest != m.digest else "duplicate"] += 1
            return
        if not self._validate(key, value):
            self.rejected["invalid_value"] += 1
            return
        slot.key, slot.value, slot.digest, slot.preprepare = key, value, m.digest, m
        self._add_pending(key, value)
        if m.view == self.view and self._active:
            slot.prepares[self.id] = self._send(
                out, None, Phase.PREPARE, m.view, m.number, m.digest
            )
            self._advance(m.view, m.number, out)

    def _on_vote(self, m: ConsensusMessage, out: Output) -> None:
        reason = self._normal_check(m)
        if reason is None and m.body:
            reason = "malformed"
        if reason is None and m.phase == Phase.PREPARE and m.node_id == self.cfg.primary(m.view):
            reason = "not_backup"
        if reason is not None:
            if reason != "late":
                self.rejected[reason] += 1
            return
        slot = self._slot(m.view, m.number)
        votes = slot.prepares if m.phase == Phase.PREPARE else slot.commits
        seen = votes.get(m.node_id)
        if seen is not None:
            self.rejected["equivocation" if seen.digest != m.digest else "duplicate"] += 1
            return
        votes[m.node_id] = m
        self._advance(m.view, m.number, out)

    def _advance(self, view: int, number: int, out: Output) -> None:
        if view != self.view or not self._active:
            return
        slot = self._log.get((view, number))
        if slot is None or slot.preprepare is None:
            return
        q = self.cfg.quorum
        if not slot.prepared:
            matching = [p for p in slot.prepares.values() if p.digest == slot.digest]
            if len(matching) < q - 1:
                return
            slot.prepared = True
            self._prepared_cert[number] = {
                "view": view,
                "pp": slot.preprepare.model_dump(exclude_none=True),
                "votes": [[p.node_id, p.signature] for p in matching[: q - 1]],
            }
            slot.commits[self.id] = self._send(out, None, Phase.COMMIT, view, number, slot.digest)
        if not slot.committed:
            matching = [c for c in slot.commits.values() if c.digest == slot.digest]
            if len(matching) < q:
                return
            slot.committed = True
            if number > self.last_executed and number not in self._committed:
                self._committed[number] = _Committed(
                    view,
                    slot.key,
                    slot.value,
                    slot.digest,
                    tuple((c.node_id, c.signature) for c in matching[:q]),
                )
            self._execute(out)

    def _execute(self, out: Output) -> None:
        progressed = False
        while (c := self._committed.get(self.last_executed + 1)) is not None:
            number = self.last_executed + 1
            self.last_executed = number
            self._state_digest = value_digest(self._state_digest, c.digest)
            progressed = True
            if c.key and not self.executed(c.key):
                self._remember(c.key, number)
                out.decisions.append(Decision(number, c.view, c.key, c.value, c.digest))
            self._pending.pop(c.key, None)
            if number % self.cfg.checkpoint_interval == 0:
                m = self._send(out, None, Phase.CHECKPOINT, 0, number, self._state_digest)
                self._checkpoints.setdefault(number, {})[self.id] = m
                self._try_stable(number)
        if progressed and self._active:
            self._backoff = 0
            self._timer = self._now + self._timeout() if self._pending else None

    def _remember(self, key: str, number: int) -> None:
        self._executed_keys[key] = number
        while len(self._executed_keys) > self.cfg.remembered_keys:
            self._executed_keys.popitem(last=False)

    # -- checkpoints --------------------------------------------------------------------

    def _on_checkpoint(self, m: ConsensusMessage, out: Output) -> None:
        if m.number <= self.low:
            if m.number < self.low:  # the one just made stable may still arrive: harmless
                self.rejected["stale_seq"] += 1
            return
        if m.body or m.view != 0 or m.number % self.cfg.checkpoint_interval:
            self.rejected["malformed"] += 1
            return
        votes = self._checkpoints.setdefault(m.number, {})
        if m.node_id in votes:
            self.rejected["duplicate"] += 1
            return
        votes[m.node_id] = m
        self._try_stable(m.number)

    def _try_stable(self, number: int) -> None:
        votes = self._checkpoints.get(number, {})
        tally = Counter(v.digest for v in votes.values())
        if not tally or number <= self.low:
            return
        digest, count = tally.most_common(1)[0]
        if count < self.cfg.quorum:
            return
        proof = [(s, v.signature) for s, v in votes.items() if v.digest == digest]
        self._make_stable(number, digest, proof[: self.cfg.quorum])

    def _make_stable(self, number: int, digest: str, proof: list[tuple[str, str]]) -> None:
        """Move the low water mark to ``number``; adopt its state if this replica is behind."""
        if number <= self.low:
            return
        if number > self.last_executed:
            # Adopt the certified state; what this replica saw committed in the gap is still
            # a decision (the prefix it missed is not, and is counted as skipped).
            for k in range(self.last_executed + 1, number + 1):
                c = self._committed.get(k)
                if c is None:
                    self.skipped += 1
                    self._gaps.add(k)
                elif c.key and not self.executed(c.key):
                    self._remember(c.key, k)
                    self._adopted.append(Decision(k, c.view, c.key, c.value, c.digest))
                self._pending.pop(c.key if c else "", None)
            self.last_executed = number
            self._state_digest = digest
            self._fetch = bool(self._gaps)
        self.low = number
        self._stable_proof = proof
        self._stable_digest = digest
        self._next_number = max(self._next_number, number + 1)
        self._log = {k: s for k, s in self._log.items() if k[1] > number}
        # Commit certificates of the last window are kept to help replicas that fell behind.
        keep = number - self.cfg.window
        self._committed = {k: c for k, c in self._committed.items() if k > keep}
        self._gaps = {k for k in self._gaps if k > keep}
        self._prepared_cert = {k: c for k, c in self._prepared_cert.items() if k > number}
        self._checkpoints = {k: c for k, c in self._checkpoints.items() if k > number}

    def _checkpoint_proof_ok(self, number: int, digest: str, proof: Any) -> bool:
        if number == 0:
            return digest == NULL_DIGEST
        if number % self.cfg.checkpoint_interval or not isinstance(proof, list):
            return False
        return self._votes_ok(Phase.CHECKPOINT, 0, number, digest, proof, self.cfg.quorum)

    def _votes_ok(
        self,
        phase: Phase,
        view: int,
        number: int,
        digest: str,
        votes: Iterable[Any],
        need: int,
        exclude: str | None = None,
    ) -> bool:
        """``need`` distinct members' valid signatures on the same vote."""
        seen: set[str] = set()
        for item in votes:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                return False
            sender, sig = item
            if not (isinstance(sender, str) and isinstance(sig, str)):
                return False
            if sender in seen or sender == exclude or sender not in self.cfg.members:
                return False
            if not vote_ok(
                self._verifier, self.cfg.cluster, phase.value, view, number, digest, sender, sig
            ):
                return False
            seen.add(sender)
        return len(seen) >= need

    # -- view change --------------------------------------------------------------------

    def _start_view_change(self, view: int, out: Output) -> None:
        if view <= self.view and self.in_view_change:
            return
        self.view = view
        self.in_view_change = True
        self.view_changes += 1
        self._backoff += 1
        self._timer = None  # armed once 2f + 1 replicas want this view (PBFT liveness rule)
        self._retransmit_at = self._now + self.cfg.request_timeout_s
        self._proposed = set()
        prepared = [
            {"n": n, **cert} for n, cert in sorted(self._prepared_cert.items()) if n > self.low
        ]
        body = json.dumps(
            {
                "low": self.low,
                "state": self._stable_digest,
                "proof": [list(p) for p in self._stable_proof],
                "prepared": prepared,
                "executed": self.last_executed,
            },
            separators=(",", ":"),
        )
        m = self._send(out, None, Phase.VIEW_CHANGE, view, self.low, self._stable_digest, body)
        self._view_changes.setdefault(view, {})[self.id] = m
        self._my_view_changes[view] = m
        for old in [v for v in self._my_view_changes if v < view - RETRANSMITTED_VIEWS]:
            del self._my_view_changes[old]
        self._arm_view_change_timer()
        self._try_new_view(view, out)

    def _arm_view_change_timer(self) -> None:
        votes = self._view_changes.get(self.view, {})
        if self.in_view_change and self._timer is None and len(votes) >= self.cfg.quorum:
            self._timer = self._now + self._timeout()

    def _parse_view_change(self, m: ConsensusMessage) -> dict[str, Any] | None:
        """The body of a valid view change, every certificate in it verified; else ``None``."""
        try:
            body = json.loads(m.body)
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        low, state, proof = body.get("low"), body.get("state"), body.get("proof")
        prepared, executed = body.get("prepared"), body.get("executed")
        if not (
            isinstance(low, int)
            and low == m.number
            and isinstance(state, str)
            and state == m.digest
            and isinstance(prepared, list)
            and isinstance(executed, int)
        ):
            return None
        if not self._checkpoint_proof_ok(low, state, proof):
            return None
        for cert in prepared:
            if self._prepared_value(cert, low, m.view) is None:
                return None
        return body

    def _prepared_value(
        self, cert: Any, low: int, new_view: int
    ) -> tuple[int, int, str, str, str] | None:
        """``(number, view, key, value, digest)`` of a valid prepared certificate."""
        if not isinstance(cert, dict):
            return None
        n, view, pp_raw, votes = cert.get("n"), cert.get("view"), cert.get("pp"), cert.get("votes")
        if not (isinstance(n, int) and isinstance(view, int)):
            return None
        if not (low < n <= low + self.cfg.window and view < new_view and isinstance(votes, list)):
            return None
        pp = _decode_phase(pp_raw, Phase.PRE_PREPARE)
        if pp is None:
            return None
        primary = self.cfg.primary(view)
        if pp.cluster != self.cfg.cluster or pp.view != view or pp.number != n:
            return None
        if pp.node_id != primary or not signature_ok(self._verifier, pp):
            return None
        parsed = _parse_request(pp.body)
        if parsed is None or value_digest(*parsed) != pp.digest:
            return None
        need = self.cfg.quorum - 1
        if not self._votes_ok(Phase.PREPARE, view, n, pp.digest, votes, need, exclude=primary):
            return None
        return n, view, parsed[0], parsed[1], pp.digest

    def _on_view_change(self, m: ConsensusMessage, out: Output) -> None:
        body = self._parse_view_change(m)
        if body is None:
            self.rejected["bad_certificate"] += 1
            return
        if body["executed"] < self.last_executed or (m.view <= self.view and self._active):
            # The sender is behind: send it what it missed.
            self._send_status(m.node_id, int(body["executed"]), out)
        if m.view < self.view or (m.view == self.view and self._active):
            self.rejected["wrong_view"] += 1
            return
        votes = self._view_changes.setdefault(m.view, {})
        if m.node_id in votes:
            return  # a retransmission
        votes[m.node_id] = m
        if m.view == self.view:
            self._arm_view_change_timer()
        # Join rule: f + 1 replicas want a higher view, so at least one honest one does.
        wanting = {s: v for v, vcs in self._view_changes.items() if v > self.view for s in vcs}
        if len(wanting) >= self.cfg.f + 1:
            self._start_view_change(min(wanting.values()), out)
        self._try_new_view(m.view, out)

    def _carried(
        self, bodies: list[dict[str, Any]], view: int
    ) -> tuple[dict[str, Any], dict[int, tuple[str, str, str]]]:
        """The highest checkpoint among view changes and what must be re-proposed above it."""
        best = max(bodies, key=lambda b: int(b["low"]))
        low = int(best["low"])
        chosen: dict[int, tuple[int, str, str, str]] = {}
        for b in bodies:
            for cert in b["prepared"]:
                got = self._prepared_value(cert, int(b["low"]), view)
                if got is None:
                    continue
                n, v, key, value, digest = got
                if n > low and (n not in chosen or chosen[n][0] < v):
                    chosen[n] = (v, key, value, digest)
        top = max(chosen, default=low)
        carried = {
            n: chosen[n][1:] if n in chosen else ("", "", NULL_DIGEST)
            for n in range(low + 1, top + 1)
        }
        return best, carried

    def _try_new_view(self, view: int, out: Output) -> None:
        if self.cfg.primary(view) != self.id or view != self.view or self._active:
            return
        vcs = self._view_changes.get(view, {})
        if len(vcs) < self.cfg.quorum or self.id not in vcs:
            return
        others = [vcs[s] for s in sorted(vcs) if s != self.id]
        chosen = [vcs[self.id], *others[: self.cfg.quorum - 1]]
        bodies = [json.loads(v.body) for v in chosen]
        _, carried = self._carried(bodies, view)
        pres = [
            self._make(Phase.PRE_PREPARE, view, n, d, _request_body(k, v))
            for n, (k, v, d) in carried.items()
        ]
        body = json.dumps(
            {
                "vcs": [v.model_dump(exclude_none=True) for v in chosen],
                "pre": [p.model_dump(exclude_none=True) for p in pres],
            },
            separators=(",", ":"),
        )
        m = self._send(out, None, Phase.NEW_VIEW, view, 0, NULL_DIGEST, body)
        self._enter_view(m, bodies, pres, out)

    # Each check refuses a forged or malformed NEW-VIEW in the order PBFT's proof is built;
    # kept as one sequence of early returns so the whole validation can be read at once.
    def _parse_new_view(  # noqa: C901, PLR0911, PLR0912
        self, m: ConsensusMessage
    ) -> tuple[list[dict[str, Any]], list[ConsensusMessage]] | None:
        try:
            body = json.loads(m.body)
            raw, raw_pre = body["vcs"], body["pre"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(raw, list) or not isinstance(raw_pre, list):
            return None
        if len(raw) < self.cfg.quorum:
            return None
        bodies: list[dict[str, Any]] = []
        senders: set[str] = set()
        for item in raw:
            vc = _decode_phase(item, Phase.VIEW_CHANGE)
            if vc is None or vc.view != m.view or vc.cluster != self.cfg.cluster:
                return None
            if vc.node_id in senders or vc.node_id not in self.cfg.members:
                return None
            if not signature_ok(self._verifier, vc):
                return None
            parsed = self._parse_view_change(vc)
            if parsed is None:
                return None
            senders.add(vc.node_id)
            bodies.append(parsed)
        _, carried = self._carried(bodies, m.view)
        if len(raw_pre) != len(carried):
            return None
        pres: list[ConsensusMessage] = []
        for item, (n, (_, _, digest)) in zip(raw_pre, carried.items(), strict=True):
            pp = _decode_phase(item, Phase.PRE_PREPARE)
            if pp is None or pp.view != m.view or pp.number != n or pp.digest != digest:
                return None
            if pp.node_id != m.node_id or pp.cluster != self.cfg.cluster:
                return None
            if not signature_ok(self._verifier, pp):
                return None
            pres.append(pp)
        return bodies, pres

    def _on_new_view(self, m: ConsensusMessage, out: Output) -> None:
        if m.node_id != self.cfg.primary(m.view):
            self.rejected["not_primary"] += 1
            return
        if m.view < self.view or (m.view == self.view and self._active):
            self.rejected["wrong_view"] += 1
            return
        parsed = self._parse_new_view(m)
        if parsed is None:
            self.rejected["bad_certificate"] += 1
            return
        self._enter_view(m, parsed[0], parsed[1], out)

    def _enter_view(
        self,
        nv: ConsensusMessage,
        bodies: list[dict[str, Any]],
        pres: list[ConsensusMessage],
        out: Output,
    ) -> None:
        """Install the view of a valid new-view message and re-run what it carries over."""
        view = nv.view
        best, carried = self._carried(bodies, view)
        if int(best["low"]) > self.low:
            self._make_stable(int(best["low"]), best["state"], [tuple(p) for p in best["proof"]])
        self.view = view
        self.in_view_change = False
        self._retransmit_at = None
        self._new_view_msg = nv
        self._proposed = set()
        self._view_changes = {v: s for v, s in self._view_changes.items() if v > view}
        # Early pre-prepares of this view for carried numbers are superseded by the new view.
        self._log = {
            k: s
            for k, s in self._log.items()
            if k[0] > view or (k[0] == view and (k[1] not in carried or s.preprepare is None))
        }
        top = max(carried, default=self.low)
        self._next_number = max(top, self.low) + 1
        primary = self.cfg.primary(view)
        for pp in pres:
            key, value, _ = carried[pp.number]
            slot = self._slot(view, pp.number)
            slot.key, slot.value, slot.digest, slot.preprepare = key, value, pp.digest, pp
            if key:
                self._proposed.add(key)
                self._add_pending(key, value)
        self._timer = self._now + self._timeout() if self._pending else None
        for (v, n), slot in sorted(self._log.items()):
            if v != view or slot.preprepare is None or n <= self.low:
                continue
            if self.id != primary and self.id not in slot.prepares:
                slot.prepares[self.id] = self._send(out, None, Phase.PREPARE, view, n, slot.digest)
            if slot.key:
                self._proposed.add(slot.key)
            self._next_number = max(self._next_number, n + 1)
            self._advance(view, n, out)

    # -- catch-up -----------------------------------------------------------------------

    def _send_status(self, to: str, executed: int, out: Output) -> None:
        # f + 1 helpers (so at least one honest) in ring order after the sender answer, and
        # each at most once per state of its own, so retransmitted view changes of a
        # lagging replica do not each draw n replies.
        members = self.cfg.members
        ahead = (members.index(self.id) - members.index(to)) % self.cfg.n
        if not 1 <= ahead <= self.cfg.f + 1:
            return
        state = (executed, self.view, self.last_executed, self.low)
        if self._status_sent.get(to) == state:
            return
        self._status_sent[to] = state
        commits = [
            {"n": n, "view": c.view, "key": c.key, "value": c.value, "votes": list(c.votes)}
            for n, c in sorted(self._committed.items())
            if executed < n <= self.last_executed
        ]
        behind = executed < self.low
        if not commits and not behind and self._new_view_msg is None:
            return
        body = json.dumps(
            {
                "low": self.low if behind else 0,
                "state": self._stable_digest if behind else NULL_DIGEST,
                "proof": [list(p) for p in self._stable_proof] if behind else [],
                "commits": commits,
                "newview": ""
                if self._new_view_msg is None
                else self._new_view_msg.model_dump(exclude_none=True),
            },
            separators=(",", ":"),
        )
        self._send(out, to, Phase.STATUS, self.view, 0, NULL_DIGEST, body)

    def _on_fetch(self, m: ConsensusMessage, out: Output) -> None:
        try:
            executed = json.loads(m.body)["executed"]
        except (ValueError, KeyError, TypeError):
            executed = None
        if not isinstance(executed, int):
            self.rejected["malformed"] += 1
            return
        if executed < self.last_executed:
            self._send_status(m.node_id, executed, out)

    # State transfer validates a checkpoint proof step by step before adopting it; one
    # reading of the whole check beats the same steps split across helpers.
    def _on_status(self, m: ConsensusMessage, out: Output) -> None:  # noqa: C901, PLR0912
        try:
            body = json.loads(m.body)
            low, state, proof = body["low"], body["state"], body["proof"]
            commits, newview = body["commits"], body["newview"]
        except (ValueError, KeyError, TypeError):
            self.rejected["malformed"] += 1
            return
        if not (
            isinstance(low, int)
            and isinstance(state, str)
            and isinstance(commits, list)
            and isinstance(newview, str | dict)
        ):
            self.rejected["malformed"] += 1
            return
        if low > self.low:
            if not self._checkpoint_proof_ok(low, state, proof):
                self.rejected["bad_certificate"] += 1
                return
            self._make_stable(low, state, [tuple(p) for p in proof])
        for c in commits:
            got = self._commit_cert(c)
            if got is None:
                self.rejected["bad_certificate"] += 1
                return
            n, entry = got
            if n in self._gaps:
                self._gaps.discard(n)
                self.skipped -= 1
                if entry.key and not self.executed(entry.key):
                    self._remember(entry.key, n)
                    out.decisions.append(
                        Decision(n, entry.view, entry.key, entry.value, entry.digest)
                    )
                self._pending.pop(entry.key, None)
            elif n > self.last_executed and n not in self._committed:
                self._committed[n] = entry
        self._execute(out)
        if newview:
            nv = _decode_phase(newview, Phase.NEW_VIEW)
            fresh = nv is not None and (
                nv.view > self.view or (nv.view == self.view and self.in_view_change)
            )
            if nv is not None and fresh and nv.cluster == self.cfg.cluster:
                if signature_ok(self._verifier, nv):
                    self._on_new_view(nv, out)
                else:
                    self.rejected["bad_certificate"] += 1

    def _commit_cert(self, c: Any) -> tuple[int, _Committed] | None:
        """A commit certificate: ``2f + 1`` signed commits on a request's digest."""
        if not isinstance(c, dict):
            return None
        n, view, key, value, votes = (c.get(k) for k in ("n", "view", "key", "value", "votes"))
        if not (
            isinstance(n, int)
            and isinstance(view, int)
            and isinstance(key, str)
            and isinstance(value, str)
            and isinstance(votes, list)
        ):
            return None
        digest = value_digest(key, value)
        if not self._votes_ok(Phase.COMMIT, view, n, digest, votes, self.cfg.quorum):
            return None
        pairs = tuple((str(v[0]), str(v[1])) for v in votes)
        return n, _Committed(view, key, value, digest, pairs)

    _handlers: ClassVar[dict[str, Callable[[Replica, ConsensusMessage, Output], None]]] = {
        Phase.REQUEST.value: _on_request,
        Phase.PRE_PREPARE.value: _on_preprepare,
        Phase.PREPARE.value: _on_vote,
        Phase.COMMIT.value: _on_vote,
        Phase.CHECKPOINT.value: _on_checkpoint,
        Phase.VIEW_CHANGE.value: _on_view_change,
        Phase.NEW_VIEW.value: _on_new_view,
        Phase.STATUS.value: _on_status,
        Phase.FETCH.value: _on_fetch,
    }


def _request_body(key: str, value: str) -> str:
    return json.dumps({"key": key, "value": value}, separators=(",", ":"))


def _decode_phase(raw: Any, phase: Phase) -> ConsensusMessage | None:
    """A nested message (carried as a JSON object inside a body) of the given phase."""
    if not isinstance(raw, dict):
        return None
    try:
        m = ConsensusMessage.model_validate(raw)
    except ValidationError:
        return None
    if m.phase != phase:
        return None
    return m


def _parse_request(body: str) -> tuple[str, str] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    key, value = data.get("key"), data.get("value")
    if not isinstance(key, str) or not isinstance(value, str):
        return None
    return key, value
