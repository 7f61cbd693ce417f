"""``edgeqi keys``: provision per-node Ed25519 consensus keys as files a field node loads.

``edgeqi keys generate --out DIR cam-0 cam-1 ...`` writes, per node, ``NODE.key``
(PKCS#8 PEM, mode 0600, stays on that node) and ``NODE.pub`` (raw public key, hex),
and ``directory.json`` (node -> public key), which every member of a cluster needs.
``--secret`` derives the keys from a secret instead of the OS's random source
(reproducible test benches; never for a deployment). The file handling lives here,
outside the node core, which only ever sees bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from edgeqi.consensus import derive_seed
from edgeqi.protocol import NODE_ID_PATTERN
from hardware.key_files import DIRECTORY, load_directory, load_keypair, load_verifier


def generate(out: Path, nodes: list[str], secret: str | None = None) -> dict[str, str]:
    """Write every node's key files and the directory; return node -> public key hex."""
    out.mkdir(parents=True, exist_ok=True)
    directory: dict[str, str] = {}
    for node in nodes:
        if not re.match(NODE_ID_PATTERN, node):
            raise ValueError(f"invalid node id {node!r}")
        raw = derive_seed(secret, node) if secret is not None else None
        key = (
            Ed25519PrivateKey.from_private_bytes(raw)
            if raw is not None
            else Ed25519PrivateKey.generate()
        )
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        path = out / f"{node}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        (out / f"{node}.pub").write_text(public + "\n")
        directory[node] = public
    merged = load_directory(out / DIRECTORY) if (out / DIRECTORY).exists() else {}
    merged.update({n: bytes.fromhex(p) for n, p in directory.items()})
    (out / DIRECTORY).write_text(
        json.dumps({n: p.hex() for n, p in sorted(merged.items())}, indent=2) + "\n"
    )
    return directory


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="edgeqi keys", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    gen = sub.add_parser("generate", help="write NODE.key, NODE.pub and directory.json")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--secret", help="derive keys from this secret (test benches only)")
    gen.add_argument("nodes", nargs="+")
    check = sub.add_parser("check", help="sign and verify with a key against a directory")
    check.add_argument("key", type=Path)
    check.add_argument("--directory", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.action == "generate":
        try:
            keys = generate(args.out, args.nodes, args.secret)
        except ValueError as exc:
            print(f"edgeqi keys: {exc}", file=sys.stderr)
            return 2
        for node, public in keys.items():
            print(f"{node} {public}")
        return 0
    pair = load_keypair(args.key)
    verifier = load_verifier(args.directory)
    ok = verifier.verify(
        pair.node_id, pair.signer().sign(b"edgeqi keys check"), b"edgeqi keys check"
    )
    print(f"{pair.node_id}: {'ok' if ok else 'NOT in directory or key mismatch'}")
    return 0 if ok else 1
