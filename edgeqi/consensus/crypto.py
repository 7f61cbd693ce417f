"""Ed25519 keys and signatures for consensus messages.

Keys are plain bytes so that the caller decides where they live: the simulator
derives them from the run's seed (Ed25519 signing is deterministic, so a run's
messages and their sizes are reproducible byte for byte) and a field node loads
them from the files ``edgeqi keys`` writes. Nothing here touches a file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIGNATURE_BYTES = 64
KEY_BYTES = 32


def derive_seed(secret: bytes | str, node_id: str) -> bytes:
    """A 32-byte private seed for ``node_id`` from a shared secret (used by the simulator)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(b"edgeqi-consensus-key\x00" + raw + b"\x00" + node_id.encode()).digest()


@dataclass(frozen=True, slots=True)
class KeyPair:
    """One node's signing key; ``public`` is the 32 raw bytes its peers are given."""

    node_id: str
    private: bytes

    def __post_init__(self) -> None:
        if len(self.private) != KEY_BYTES:
            raise ValueError(
                f"an Ed25519 private key is {KEY_BYTES} bytes, got {len(self.private)}"
            )

    @property
    def public(self) -> bytes:
        key = Ed25519PrivateKey.from_private_bytes(self.private).public_key()
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def signer(self) -> Signer:
        return Signer(self.node_id, self.private)


class Signer:
    """Signs on behalf of one node."""

    __slots__ = ("_key", "node_id")

    def __init__(self, node_id: str, private: bytes) -> None:
        self.node_id = node_id
        self._key = Ed25519PrivateKey.from_private_bytes(private)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class Verifier:
    """Checks signatures against a fixed directory of node public keys; counts its work."""

    __slots__ = ("_keys", "checks")

    def __init__(self, public_keys: dict[str, bytes]) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {
            node: Ed25519PublicKey.from_public_bytes(raw) for node, raw in public_keys.items()
        }
        self.checks = 0

    def knows(self, node_id: str) -> bool:
        return node_id in self._keys

    def verify(self, node_id: str, signature: bytes, data: bytes) -> bool:
        """True when ``signature`` is ``node_id``'s over ``data``; unknown signers fail."""
        key = self._keys.get(node_id)
        if key is None or len(signature) != SIGNATURE_BYTES:
            return False
        self.checks += 1
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True
