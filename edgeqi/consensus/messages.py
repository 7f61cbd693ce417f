"""Consensus messages on the wire: :class:`~edgeqi.protocol.ConsensusMessage`, signed.

A signature covers what the protocol means (cluster, phase, view, sequence number,
digest, sender and a hash of the body) and not the transport's ``seq`` and ``ts``.
That keeps certificates compact: a quorum of prepare, commit or checkpoint votes is
carried inside a view change as ``(sender, signature)`` pairs and re-verified by
whoever receives it, instead of as whole nested messages, so a view change among
eight cameras stays a few kilobytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from enum import StrEnum

from edgeqi.consensus.crypto import Signer, Verifier
from edgeqi.protocol import ConsensusMessage

DOMAIN = b"edgeqi-pbft/1"


class Phase(StrEnum):
    REQUEST = "request"
    PRE_PREPARE = "preprepare"
    PREPARE = "prepare"
    COMMIT = "commit"
    CHECKPOINT = "checkpoint"
    VIEW_CHANGE = "viewchange"
    NEW_VIEW = "newview"
    STATUS = "status"
    """Catch-up help for a replica that fell behind: certificates it missed."""
    FETCH = "fetch"
    """A replica that adopted a checkpoint asks for the commit certificates it lacks."""
    REPORT = "report"
    """An application message signed by the same keys (a camera's queue report)."""


PHASES = frozenset(p.value for p in Phase)


def value_digest(key: str, value: str) -> str:
    """What a replica agrees on: the hash of a request's key and value."""
    return hashlib.sha256(key.encode() + b"\x00" + value.encode()).hexdigest()


NULL_DIGEST = value_digest("", "")
"""The no-op a new primary proposes for a sequence number nobody prepared."""


def signed_bytes(
    cluster: str, phase: str, view: int, number: int, digest: str, sender: str, body: str
) -> bytes:
    """The bytes a signature covers."""
    body_hash = hashlib.sha256(body.encode()).hexdigest() if body else ""
    return b"|".join(
        (
            DOMAIN,
            cluster.encode(),
            phase.encode(),
            str(view).encode(),
            str(number).encode(),
            digest.encode(),
            sender.encode(),
            body_hash.encode(),
        )
    )


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def unb64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode(), validate=True)
    except (binascii.Error, ValueError):
        return None


def seal(
    signer: Signer,
    *,
    cluster: str,
    phase: str,
    view: int,
    number: int,
    digest: str,
    body: str = "",
    seq: int,
    ts: float,
) -> ConsensusMessage:
    """A signed message from ``signer``."""
    data = signed_bytes(cluster, phase, view, number, digest, signer.node_id, body)
    return ConsensusMessage(
        node_id=signer.node_id,
        seq=seq,
        ts=ts,
        cluster=cluster,
        phase=phase,
        view=view,
        number=number,
        digest=digest,
        body=body,
        signature=b64(signer.sign(data)),
    )


def signature_ok(verifier: Verifier, m: ConsensusMessage) -> bool:
    """Whether ``m`` carries a valid signature of its ``node_id``."""
    sig = unb64(m.signature)
    if sig is None:
        return False
    data = signed_bytes(m.cluster, m.phase, m.view, m.number, m.digest, m.node_id, m.body)
    return verifier.verify(m.node_id, sig, data)


def vote_ok(
    verifier: Verifier,
    cluster: str,
    phase: str,
    view: int,
    number: int,
    digest: str,
    sender: str,
    signature: str,
) -> bool:
    """Whether a compact vote (a body-less message reduced to its signature) is valid."""
    sig = unb64(signature)
    if sig is None:
        return False
    return verifier.verify(
        sender, sig, signed_bytes(cluster, phase, view, number, digest, sender, "")
    )
