"""``node.yaml``: validation names the bad key, paths resolve against the file, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from experiments.tools.provision import device_section
from hardware.node_config import ConfigError, PowerKind, dump, load

MINIMAL = {
    "node_id": "cam-001",
    "intersection": "int-1",
    "camera": {"source": 0, "fps": 15},
    "model": {"full": "ssdlite-person", "reduced": "ssdlite-person-int8"},
    "broker": {
        "url": "mqtts://broker.example:8883",
        "username": "cam-001",
        "password_file": "mqtt.password",
        "tls": {"ca_file": "ca.pem"},
    },
    "queue": {"path": "queue.sqlite"},
    "consensus": {
        "key_file": "keys/cam-001.key",
        "directory_file": "keys/directory.json",
        "peers": ["cam-001", "cam-002"],
    },
    "power": {
        "kind": "ina219",
        "options": {"bus": 1, "address": 64, "shunt_ohms": 0.1},
        "device": device_section("jetson_nano_5w"),
    },
}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_paths_resolve_against_the_file_and_defaults_apply(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, MINIMAL))
    assert cfg.queue.path == tmp_path / "queue.sqlite"
    assert cfg.broker.tls is not None and cfg.broker.tls.ca_file == tmp_path / "ca.pem"
    assert cfg.consensus is not None and cfg.consensus.key_file == tmp_path / "keys/cam-001.key"
    assert cfg.power.kind is PowerKind.INA219
    assert cfg.cluster == "int-1" and cfg.client_id == "cam-001"
    assert cfg.model.execution_providers[-1] == "CPUExecutionProvider"
    (tmp_path / "mqtt.password").write_text("s3cret\n")
    assert cfg.broker.password() == "s3cret"


def test_unknown_and_invalid_keys_are_named(tmp_path: Path) -> None:
    bad = {**MINIMAL, "heartbeat": 5, "camera": {"source": 0, "fps": -1}}
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, bad))
    assert "heartbeat" in str(err.value) and "camera.fps" in str(err.value)


def test_tls_url_needs_a_ca_and_client_cert_needs_its_key(tmp_path: Path) -> None:
    no_ca = {**MINIMAL, "broker": {"url": "mqtts://b:8883"}}
    with pytest.raises(ConfigError, match="ca_file"):
        load(_write(tmp_path, no_ca))
    half = {**MINIMAL, "broker": {"url": "mqtt://b", "tls": {"ca_file": "a", "cert_file": "c"}}}
    with pytest.raises(ConfigError, match="key_file"):
        load(_write(tmp_path, half))


def test_dump_then_load_gives_the_same_config(tmp_path: Path) -> None:
    cfg = load(_write(tmp_path, MINIMAL))
    moved = tmp_path / "moved"
    moved.mkdir()
    out = tmp_path / "again.yaml"
    dump(cfg, out)
    assert "queue.sqlite" in out.read_text() and str(tmp_path) not in out.read_text()
    assert load(out) == cfg


def test_a_placed_node_sends_its_location_and_approach(tmp_path: Path) -> None:
    from edgeqi.protocol import Location
    from hardware.assemble import node_config

    placed = {**MINIMAL, "location": {"lat": 48.1372, "lon": 11.5756}, "approach": "N"}
    cfg = load(_write(tmp_path, placed))
    assert cfg.location == Location(lat=48.1372, lon=11.5756)
    dump(cfg, tmp_path / "again.yaml")
    assert load(tmp_path / "again.yaml") == cfg
    profile = cfg.power.device
    node = node_config(cfg, profile)
    assert (node.location, node.approach) == (cfg.location, "N")
    with pytest.raises(ConfigError, match=r"location\.lat"):
        load(_write(tmp_path, {**MINIMAL, "location": {"lat": 91, "lon": 0}}))
    assert node_config(load(_write(tmp_path, MINIMAL)), profile).location is None
