"""Private instances of Mosquitto, PostgreSQL and Redis for tests, benchmarks and load tests.

Each user starts its own servers from the installed binaries on free loopback ports
and stops them afterwards; services already running on this machine are never used.
A missing binary calls :data:`on_missing`, which raises :class:`MissingServiceError`; the
test suite replaces it with a skip (locally) or a failure (under ``CI=true``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import NoReturn

IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    """Wait until something accepts connections on ``127.0.0.1:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port}")


class MissingServiceError(RuntimeError):
    """A server binary this machine lacks."""


def _raise_missing(message: str) -> NoReturn:
    raise MissingServiceError(message)


on_missing: Callable[[str], NoReturn] = _raise_missing
"""What a missing binary does; tests swap in pytest's skip/fail."""


def need_binary(path: str | None, what: str) -> str:
    """Return the binary's path or report it missing through :data:`on_missing`."""
    if path and os.path.exists(path):
        return path
    on_missing(f"{what} not installed (run scripts/ensure-system-packages.sh)")


def mosquitto_binary() -> str:
    return need_binary(shutil.which("mosquitto") or "/usr/sbin/mosquitto", "mosquitto")


def mosquitto_client(name: str) -> str:
    """``mosquitto_pub`` / ``mosquitto_sub`` (Debian ``mosquitto-clients``)."""
    return need_binary(shutil.which(name) or f"/usr/bin/{name}", name)


def postgres_bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(need_binary(found[-1] if found else None, "postgresql"))


@dataclass(frozen=True)
class BrokerTls:
    """A TLS listener's files; ``require_certificate``: clients must present one the CA
    signed (mutual TLS)."""

    cafile: Path
    certfile: Path
    keyfile: Path
    require_certificate: bool = False


class Mosquitto:
    """One broker process; :meth:`restart` keeps its port (and its persistence file).

    Its settings are those the project ships (``broker_conf_text``). ``durable`` (save
    after every change, so what it acknowledged survives :meth:`kill`) is what
    ``edgeqi mqtt-acl`` ships for deployment and the load test's broker uses, but off
    here by default: it costs most of the broker's throughput (BENCHMARKS.md, "Broker
    durability"), which the throughput benchmarks would measure instead of ingest.

    With ``tls`` it also listens with TLS on :attr:`tls_port` (``mqtts://``), as a field
    deployment's broker does; the plain listener stays for the backend's own clients.
    """

    def __init__(
        self,
        workdir: Path,
        extra_conf: str = "",
        allow_anonymous: bool = True,
        tls: BrokerTls | None = None,
        durable: bool = False,
    ) -> None:
        from backend.ingest.broker_acl import broker_conf_text

        self.binary = mosquitto_binary()
        self.workdir = workdir
        self.port = free_port()
        self.tls_port = free_port() if tls is not None else None
        tls_conf = ""
        if tls is not None:
            tls_conf = (
                f"listener {self.tls_port} 127.0.0.1\n"
                f"cafile {tls.cafile}\ncertfile {tls.certfile}\nkeyfile {tls.keyfile}\n"
                f"require_certificate {'true' if tls.require_certificate else 'false'}\n"
                "tls_version tlsv1.2\n"
            )
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{tls_conf}"
            f"allow_anonymous {'true' if allow_anonymous else 'false'}\n"
            f"{broker_conf_text(durable=durable)}persistence_location {workdir}/\n"
            "max_queued_messages 200000\n"
            f"{'user root' if os.geteuid() == 0 else ''}\n"
            f"{extra_conf}"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise ValueError("this broker has no TLS listener")
        return f"mqtts://localhost:{self.tls_port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_port(self.port)
        if self.tls_port is not None:
            wait_port(self.tls_port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash or power loss would end it: no shutdown save."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def mosquitto_with_logins(
    workdir: Path,
    passwords: Mapping[str, str],
    backends: Sequence[str],
    nodes: Sequence[str],
    tls: BrokerTls | None = None,
    extra_conf: str = "",
    durable: bool = False,
) -> Mosquitto:
    """A broker (not started yet) where each user logs in with its password and gets the ACL
    of its role: ``backends`` read every node's topics, each of ``nodes`` writes only its own."""
    from backend.ingest.broker_acl import acl_text, mosquitto_hash

    passwd = workdir / "passwd"
    passwd.write_text("".join(f"{u}:{mosquitto_hash(p)}\n" for u, p in passwords.items()))
    passwd.chmod(0o600)
    acl = workdir / "acl"
    acl.write_text(acl_text(list(backends), list(nodes)))
    return Mosquitto(
        workdir,
        extra_conf=f"password_file {passwd}\nacl_file {acl}\n{extra_conf}",
        allow_anonymous=False,
        tls=tls,
        durable=durable,
    )


class Postgres:
    """A throwaway cluster: initdb into a temp dir, pg_ctl start on a free port."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.bindir = postgres_bindir()
        # As root the server runs as ``postgres``, which cannot traverse pytest's 0700
        # temp root; a directory of its own directly under /tmp avoids that.
        self.own_dir = workdir is None or os.geteuid() == 0
        workdir = Path(tempfile.mkdtemp(prefix="edgeqi-pg-")) if self.own_dir else workdir
        assert workdir is not None
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.sock = workdir / "sock"
        self.sock.mkdir()
        if os.geteuid() == 0:
            import pwd

            pw = pwd.getpwnam("postgres")
            for path in (workdir, self.sock):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.user = "edgeqi"

    def _run(self, *args: str) -> None:
        env = dict(os.environ)
        done = _run_as_postgres(args, env)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")

    def start(self) -> None:
        self._run(
            f"{self.bindir}/initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.resume()

    def resume(self) -> None:
        """Start the server on its existing data directory (after :meth:`pause`)."""
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            f"{self.bindir}/pg_ctl",
            "-D",
            str(self.data),
            "-o",
            opts,
            "-w",
            "-l",
            str(self.data.parent / "pg.log"),
            "start",
        )

    def pause(self) -> None:
        """Stop the server (fast shutdown), keeping its data for :meth:`resume`."""
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        """Stop the server; a directory this object made for itself is removed too."""
        _run_as_postgres(
            [f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"]
        )
        if self.own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"


def _run_as_postgres(
    args: Sequence[str], env: dict[str, str] | None = None
) -> CompletedProcess[bytes]:
    """Run a PostgreSQL tool; it refuses to run as root, so drop to ``postgres`` when we are."""
    if os.geteuid() != 0:
        return subprocess.run(args, capture_output=True, env=env, check=False)
    import pwd

    pw = pwd.getpwnam("postgres")
    return subprocess.run(
        args, capture_output=True, env=env, check=False, user=pw.pw_uid, group=pw.pw_gid
    )


class Redis:
    """A private redis-server without persistence on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.binary = need_binary(shutil.which("redis-server") or "/usr/bin/redis-server", "redis")
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
