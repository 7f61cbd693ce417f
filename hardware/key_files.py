"""A node's consensus key files, as ``edgeqi keys`` / ``edgeqi provision`` write them.

``NODE.key`` is the node's Ed25519 signing key (PKCS#8 PEM, mode 0600, never leaves the
node); ``directory.json`` maps every cluster member to its raw public key (hex). Reading
them is the runtime's job, so the node core only ever sees bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from edgeqi.consensus import KeyPair, Verifier

DIRECTORY = "directory.json"


def raw_private(key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes the core's :class:`~edgeqi.consensus.KeyPair` holds."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def load_keypair(path: Path, node_id: str | None = None) -> KeyPair:
    """A node's signing key from its ``NODE.key`` file."""
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return KeyPair(node_id or path.stem, raw_private(key))


def load_directory(path: Path) -> dict[str, bytes]:
    """Node -> raw public key, from ``directory.json``."""
    data = json.loads(path.read_text())
    return {str(n): bytes.fromhex(str(p)) for n, p in data.items()}


def load_verifier(path: Path) -> Verifier:
    return Verifier(load_directory(path))
