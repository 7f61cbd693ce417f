"""``edgeqi provision``: make one field node's identity, credentials and ``node.yaml``.

Run on the operator's machine (or on the device) before the node first starts:

1. the node's Ed25519 consensus key (``keys/NODE.key``, 0600) with ``edgeqi keys``'
   code, its public key merged into the cluster's ``directory.json`` (``--directory``,
   updated in place so the operator can hand it to the other cameras);
2. its MQTT login: registered with the backend (``POST /api/nodes/register`` with
   the provisioning token), which returns the password once and keeps only its hash,
   from which ``edgeqi mqtt-acl --database-url`` writes the broker's password and ACL
   files; or, for a bench without a backend, a password made here and merged into a
   Mosquitto password/ACL directory (``--mosquitto-dir``) as ``edgeqi mqtt-acl`` does;
3. the broker's CA (and a client certificate for mutual TLS) copied next to the
   config, and ``node.yaml`` (:class:`~hardware.node_config.NodeRuntimeConfig`) written
   and read back, so what the node will load has been validated here.

Everything goes into one directory (``--out``, e.g. ``/etc/edgeqi``) whose paths in
``node.yaml`` are relative, so the directory can be copied onto the device as is.
The provisioning token is read from ``--token-file`` or ``$EDGEQI_PROVISIONING_TOKEN``,
never from the command line (where ``ps`` would show it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

import scenarios
from backend.ingest.broker_acl import CONSENSUS_ACL, mosquitto_hash, node_acl
from edgeqi.protocol import NODE_ID_PATTERN
from experiments.tools.keys import generate
from hardware import node_config as nc
from hardware.key_files import DIRECTORY, load_directory


class ProvisionError(RuntimeError):
    """Provisioning cannot go on; the message says why (exit code 2)."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def device_section(profile: str) -> dict[str, object]:
    """The ``device`` block of ``scenarios/energy/<profile>.yaml``: what a node.yaml carries.

    The simulator and the field node then charge energy from the same cited figures, and
    the device itself never needs the scenario tree.
    """
    path = Path(scenarios.__file__).parent / "energy" / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(q.stem for q in path.parent.glob("*.yaml"))
        raise ProvisionError(f"--profile: unknown energy profile {profile!r} (known: {known})")
    device: dict[str, object] = yaml.safe_load(path.read_text())["device"]
    return device


def register(
    backend_url: str, token: str, node_id: str, intersection: str, rotate: bool, timeout: float
) -> Credentials:
    """Register the node with the backend; return the MQTT login it issued."""
    body = json.dumps({"node_id": node_id, "intersection": intersection, "rotate": rotate})
    request = urllib.request.Request(
        backend_url.rstrip("/") + "/api/nodes/register",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Provisioning-Token": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        hint = " (already registered: --rotate issues a new password)" if exc.code == 409 else ""
        raise ProvisionError(f"backend refused registration: {exc.code} {detail}{hint}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ProvisionError(f"backend {backend_url} unreachable: {exc}") from exc
    return Credentials(str(data["mqtt_username"]), str(data["mqtt_password"]))


def add_to_mosquitto(directory: Path, node_id: str, password: str) -> None:
    """Merge the node into ``directory``'s ``passwd`` and ``acl`` (Mosquitto reloads them
    on SIGHUP); a node already listed gets its new hash and keeps its ACL block."""
    directory.mkdir(parents=True, exist_ok=True)
    passwd, acl = directory / "passwd", directory / "acl"
    entries = {}
    if passwd.exists():
        for line in passwd.read_text().splitlines():
            user, sep, digest = line.partition(":")
            if sep:
                entries[user] = digest
    entries[node_id] = mosquitto_hash(password)
    passwd.write_text("".join(f"{u}:{h}\n" for u, h in sorted(entries.items())))
    os.chmod(passwd, 0o600)
    existing = acl.read_text() if acl.exists() else ""
    if f"user {node_id}\n" not in existing:
        block = node_acl(node_id) + ("" if CONSENSUS_ACL in existing else CONSENSUS_ACL)
        acl.write_text(
            existing + ("\n" if existing and not existing.endswith("\n") else "") + block
        )


def _secret_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")


def _copy(src: Path | None, dest: Path, private: bool = False) -> Path | None:
    if src is None:
        return None
    if not src.is_file():
        raise ProvisionError(f"{src}: no such file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    os.chmod(dest, 0o600 if private else 0o644)
    return dest


def _keys(args: argparse.Namespace, keys_dir: Path) -> None:
    """The consensus key, and this node in the cluster directory (if one was given)."""
    shared: Path | None = args.directory
    if shared is not None and shared.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared, keys_dir / DIRECTORY)
    generate(keys_dir, [args.node_id])
    if shared is not None:
        merged = load_directory(keys_dir / DIRECTORY)
        shared.parent.mkdir(parents=True, exist_ok=True)
        shared.write_text(
            json.dumps({n: k.hex() for n, k in sorted(merged.items())}, indent=2) + "\n"
        )


def _credentials(args: argparse.Namespace) -> Credentials:
    if args.backend_url:
        token = os.environ.get("EDGEQI_PROVISIONING_TOKEN")
        if args.token_file is not None:
            token = args.token_file.read_text().strip()
        if not token:
            raise ProvisionError("--token-file or $EDGEQI_PROVISIONING_TOKEN is needed")
        creds = register(
            args.backend_url, token, args.node_id, args.intersection, args.rotate, args.timeout
        )
    elif args.mosquitto_dir is not None:
        creds = Credentials(args.node_id, secrets.token_urlsafe(24))
    else:
        raise ProvisionError("give --backend-url (registration) or --mosquitto-dir (bench)")
    if args.mosquitto_dir is not None:
        add_to_mosquitto(args.mosquitto_dir, creds.username, creds.password)
    return creds


def provision(args: argparse.Namespace) -> nc.NodeRuntimeConfig:
    """Do the three steps; return the config written to ``OUT/node.yaml``."""
    if not re.match(NODE_ID_PATTERN, args.node_id):
        raise ProvisionError(f"invalid node id {args.node_id!r}")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    keys_dir = out / "keys"
    if (keys_dir / f"{args.node_id}.key").exists() and not args.rotate:
        raise ProvisionError(f"{keys_dir / args.node_id}.key exists: --rotate replaces it")
    creds = _credentials(args)  # first: if the backend refuses, nothing here has changed
    _keys(args, keys_dir)
    _secret_file(out / "mqtt.password", creds.password)
    tls = None
    if args.ca_file is not None:
        ca = _copy(args.ca_file, out / "tls" / "ca.pem")
        assert ca is not None
        tls = nc.TlsConfig(
            ca_file=ca,
            cert_file=_copy(args.client_cert, out / "tls" / "client.pem"),
            key_file=_copy(args.client_key, out / "tls" / "client.key", private=True),
        )
    peers = sorted({*args.peers.split(","), args.node_id}) if args.peers else []
    source: int | str = int(args.camera) if args.camera.isdigit() else args.camera
    data = {
        "node_id": args.node_id,
        "intersection": args.intersection,
        "camera": {"source": source, "fps": args.fps},
        "model": {"full": args.model, "reduced": args.reduced_model},
        "broker": {
            "url": args.broker_url,
            "username": creds.username,
            "password_file": out / "mqtt.password",
            "tls": tls.model_dump() if tls is not None else None,
        },
        "queue": {"path": args.queue_path or out / "queue.sqlite"},
        "consensus": {
            "key_file": keys_dir / f"{args.node_id}.key",
            "directory_file": keys_dir / DIRECTORY,
            "peers": peers,
        },
        "power": {
            "kind": args.power,
            "options": dict(args.power_option),
            "device": device_section(args.profile),
        },
        "backend_url": args.backend_url,
    }
    try:
        config = nc.NodeRuntimeConfig.model_validate(data)
    except ValueError as exc:
        raise ProvisionError(f"the config would be invalid: {exc}") from exc
    path = out / "node.yaml"
    nc.dump(config, path)
    return nc.load(path)


def _option(text: str) -> tuple[str, int | float | str]:
    """``KEY=VALUE``; the value as an int (``0x40`` too), else a float, else text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    for convert in (lambda v: int(v, 0), float):
        try:
            return key, convert(value)
        except ValueError:
            continue
    return key, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edgeqi provision",
        description=(
            "Make one field node's identity in one directory: consensus keys, MQTT login "
            "(registered with the backend), TLS files and a validated node.yaml."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--node-id", required=True)
    p.add_argument("--intersection", required=True)
    p.add_argument("--out", type=Path, required=True, help="the node's config directory")
    p.add_argument("--broker-url", required=True, help="mqtts://host:8883 or mqtt://host:1883")
    p.add_argument("--ca-file", type=Path, help="CA that signed the broker's certificate")
    p.add_argument("--client-cert", type=Path, help="client certificate (mutual TLS)")
    p.add_argument("--client-key", type=Path, help="its private key")
    p.add_argument("--backend-url", help="register with this backend (http[s]://host:port)")
    p.add_argument("--token-file", type=Path, help="file holding the provisioning token")
    p.add_argument("--mosquitto-dir", type=Path, help="merge the login into passwd/acl here")
    p.add_argument("--directory", type=Path, help="the cluster's directory.json (updated)")
    p.add_argument("--peers", help="comma-separated node ids of the cluster, this one included")
    p.add_argument("--camera", default="0", help="device index, file, rtsp:// URL or pipeline")
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--model", default="ssdlite-person", help="model variant or .onnx path")
    p.add_argument("--reduced-model", default="ssdlite-person-int8")
    p.add_argument("--power", default="none", choices=[k.value for k in nc.PowerKind])
    p.add_argument(
        "--power-option",
        type=_option,
        action="append",
        default=[],
        help="KEY=VALUE for the sensor (bus=1, address=0x40, shunt_ohms=0.1, interval_ms=1000)",
    )
    p.add_argument(
        "--profile",
        default="jetson_nano_10w",
        help="copy the device's power figures from scenarios/energy/NAME.yaml (%(default)s)",
    )
    p.add_argument("--queue-path", type=Path, help="queue file (default OUT/queue.sqlite)")
    p.add_argument("--rotate", action="store_true", help="replace existing key and password")
    p.add_argument("--timeout", type=float, default=10.0)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        config = provision(args)
    except ProvisionError as exc:
        print(f"edgeqi provision: {exc}", file=sys.stderr)
        return 2
    print(f"provisioned {config.node_id}: {args.out / 'node.yaml'}")
    return 0
