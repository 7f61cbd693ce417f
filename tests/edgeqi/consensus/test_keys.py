"""``edgeqi keys``: files a node loads, signatures that verify against the directory."""

from __future__ import annotations

import stat
from pathlib import Path

from experiments.cli import main
from hardware.key_files import load_directory, load_keypair, load_verifier


def test_generate_writes_loadable_keys(tmp_path: Path) -> None:
    assert main(["keys", "generate", "--out", str(tmp_path), "cam-0", "cam-1"]) == 0
    pair = load_keypair(tmp_path / "cam-0.key")
    assert stat.S_IMODE((tmp_path / "cam-0.key").stat().st_mode) == 0o600
    directory = load_directory(tmp_path / "directory.json")
    assert set(directory) == {"cam-0", "cam-1"}
    assert directory["cam-0"] == pair.public
    assert (tmp_path / "cam-1.pub").read_text().strip() == directory["cam-1"].hex()
    verifier = load_verifier(tmp_path / "directory.json")
    sig = pair.signer().sign(b"x")
    assert verifier.verify("cam-0", sig, b"x")
    assert not verifier.verify("cam-1", sig, b"x")
    assert (
        main(
            [
                "keys",
                "check",
                str(tmp_path / "cam-1.key"),
                "--directory",
                str(tmp_path / "directory.json"),
            ]
        )
        == 0
    )


def test_secret_makes_keys_reproducible_and_random_keys_differ(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    main(["keys", "generate", "--out", str(a), "--secret", "s", "cam-0"])
    main(["keys", "generate", "--out", str(b), "--secret", "s", "cam-0"])
    main(["keys", "generate", "--out", str(c), "cam-0"])
    pub = load_directory(a / "directory.json")["cam-0"]
    assert pub == load_directory(b / "directory.json")["cam-0"]
    assert pub != load_directory(c / "directory.json")["cam-0"]
    assert main(["keys", "generate", "--out", str(a), "bad id!"]) == 2
    assert (
        main(["keys", "check", str(c / "cam-0.key"), "--directory", str(a / "directory.json")]) == 1
    )
