"""The services a load test runs against, started here or reached by URL, and their faults.

Started here: a Mosquitto with a password file and ACL (one login per node, written
with :mod:`backend.ingest.broker_acl`), a PostgreSQL (or SQLite) database and ``edgeqi serve``
as its own process, so that it can be SIGKILLed and its CPU and memory sampled.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import httpx

from backend.ingest.mqtt_source import BrokerAddress
from experiments.benchmarks.bench_api import start_ingest_worker, start_server, wait_ingesting
from experiments.benchmarks.bench_ingest import payloads, raw_broker
from experiments.loadtest.cpu_meter import pin, split_cores
from experiments.loadtest.linkcut import LinkForwarder
from experiments.loadtest.loadtest_config import FaultConfig, LoadtestConfig
from experiments.services import Mosquitto, Postgres, Redis, free_port, mosquitto_with_logins

BACKEND_USER = "backend"
LOADTEST_USER = "loadtest"


class Stack:
    """Broker, database and backend for one load test; a context manager."""

    def __init__(self, cfg: LoadtestConfig, node_ids: list[str], credentials_file: str | None):
        self.cfg = cfg
        self.node_ids = node_ids
        self._tmp = tempfile.TemporaryDirectory(prefix="edgeqi-loadtest-")
        self.work = Path(self._tmp.name)
        self.broker: Mosquitto | None = None
        self.pg: Postgres | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.redis: Redis | None = None
        self.forwarders: dict[str, LinkForwarder] = {}
        self.credentials_file = credentials_file
        self.probe_auth: tuple[str, str] | None = None
        self.mqtt_url = ""
        self.database_url = ""
        self.api_base = ""
        self.token = ""
        self._backend_env: dict[str, str] = {}
        self._api_port = 0
        self.probes = 0
        self.raw_reference: dict[str, float] | None = None
        self.cores = split_cores() if cfg.load.pin_cores else None
        """(generator CPUs, backend CPUs), or ``None``: one core, or pinning is off."""

    # -- start / stop -----------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def _start(self) -> None:
        svc = self.cfg.services
        backend_url = self._start_broker() if svc.mqtt_url is None else svc.mqtt_url
        if self.broker is not None and self.cfg.load.raw_reference_messages:
            self._measure_raw_broker()
        if svc.mqtt_url is not None:
            self.mqtt_url = svc.mqtt_url
            address = BrokerAddress.parse(svc.mqtt_url)
            if address.username is not None:
                self.probe_auth = (address.username, address.password or "")
        if svc.database_url is not None:
            self.database_url = svc.database_url
        elif svc.db == "postgresql":
            self.pg = Postgres()
            self.pg.start()
            self.database_url = self.pg.create_database("loadtest")
        else:
            self.database_url = f"sqlite:///{self.work / 'loadtest.db'}"
        if svc.api_url is not None:
            self.api_base = svc.api_url.rstrip("/")
        else:
            self._api_port = free_port()
            self.api_base = f"http://127.0.0.1:{self._api_port}"
            self._backend_env = (
                dict(os.environ)
                | {
                    "EDGEQI_ENV": "test",
                    "EDGEQI_DATABASE_URL": self.database_url,
                    "EDGEQI_MQTT_URL": backend_url,
                    "EDGEQI_MQTT_RECONNECT_MAX_S": "2",
                    "EDGEQI_SECRET_KEY": "loadtest-" + secrets.token_hex(24),
                    "EDGEQI_ADMIN_USERNAME": svc.admin_username,
                    "EDGEQI_ADMIN_PASSWORD": svc.admin_password,
                }
                | svc.backend_env
            )
            if svc.ingest_workers:
                self.redis = Redis(self.work)
                self.redis.start()
                self._backend_env["EDGEQI_REDIS_URL"] = self.redis.url
            self.start_backend()
        login = httpx.post(
            f"{self.api_base}/api/auth/login",
            json={"username": svc.admin_username, "password": svc.admin_password},
            timeout=30,
        )
        self.token = login.raise_for_status().json()["access_token"]
        self.probes = wait_ingesting(
            self.api_base, self.token, self.broker_port, timeout=60, auth=self.probe_auth
        )

    def _start_broker(self) -> str:
        """A private broker where each node has its own login, with the production broker
        settings (persistence saved on every change); return the backend's URL."""
        passwords = {n: secrets.token_urlsafe(12) for n in self.node_ids}
        creds = self.work / "nodes.credentials"
        creds.write_text("".join(f"{n}:{p}\n" for n, p in passwords.items()))
        creds.chmod(0o600)
        self.credentials_file = str(creds)
        backend_pw, probe_pw = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        users = passwords | {BACKEND_USER: backend_pw, LOADTEST_USER: probe_pw}
        (self.work / "broker").mkdir()
        self.broker = mosquitto_with_logins(
            self.work / "broker",
            users,
            [BACKEND_USER, LOADTEST_USER],
            self.node_ids,
            extra_conf="max_inflight_messages 1000\n",
            durable=True,  # what `edgeqi mqtt-acl` ships: acknowledged survives a broker crash
        )
        self.broker.start()
        self.probe_auth = (LOADTEST_USER, probe_pw)
        self.mqtt_url = f"mqtt://127.0.0.1:{self.broker.port}"
        return f"mqtt://{BACKEND_USER}:{quote(backend_pw)}@127.0.0.1:{self.broker.port}"

    def _measure_raw_broker(self) -> None:
        """The broker's raw rate with a count-only subscriber, before the backend subscribes
        (so that none of these messages reaches its session)."""
        assert self.broker is not None
        load = self.cfg.load
        items = payloads(load.raw_reference_messages, 100, load.raw_reference_detections)
        ref = raw_broker(self.broker, items, self.probe_auth)
        self.raw_reference = {
            "messages": ref["received"],
            "messages_per_s": round(ref["received"] / ref["seconds"], 1),
            "payload_bytes_mean": round(sum(len(p) for _, p in items) / len(items), 1),
        }

    @property
    def broker_port(self) -> int:
        return BrokerAddress.parse(self.mqtt_url).port

    def start_backend(self) -> None:
        """The API (serving and ingesting, or API-only), then any ingest workers."""
        stamp = time.monotonic_ns()
        n = self.cfg.services.ingest_workers
        env = self._backend_env | ({"EDGEQI_ROLE": "api"} if n else {})
        self.server = start_server(self._api_port, env, self.work / f"backend-{stamp}.log")
        self.workers = [
            start_ingest_worker(self._backend_env, self.work / f"ingest-{stamp}-{i}.log")
            for i in range(n)
        ]
        if self.cores is not None:  # before they start their threads, which inherit it
            for pid in self.backend_pids:
                pin(pid, self.cores[1])

    def stop_backend(self, kill: bool = False) -> None:
        """SIGKILL (no flush, no acknowledgements) or SIGTERM every backend process."""
        for proc in [p for p in (self.server, *self.workers) if p is not None]:
            if kill:
                proc.kill()
            else:
                proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.server = None
        self.workers = []

    @property
    def worker_pids(self) -> list[int]:
        """The ingest workers (split layout), whose CPU is all ingest."""
        return [w.pid for w in self.workers]

    @property
    def backend_pids(self) -> list[int]:
        """The processes whose CPU and memory the report shows (API and ingest workers)."""
        if self.server is not None:
            return [self.server.pid, *(w.pid for w in self.workers)]
        pid = self.cfg.services.backend_pid
        return [] if pid is None else [pid]

    def address(self, node: str) -> tuple[str, int]:
        """Where a node connects: through a cuttable link for the link-cut fault's nodes."""
        forwarder = self.forwarders.get(node)
        host = BrokerAddress.parse(self.mqtt_url).host
        return ("127.0.0.1", forwarder.port) if forwarder else (host, self.broker_port)

    def prepare(self, fault: FaultConfig) -> None:
        """Before the nodes connect: route the link-cut fault's nodes through forwarders."""
        if fault.kind == "link_cut":
            for node in self.node_ids[: fault.nodes]:
                self.forwarders[node] = LinkForwarder(self.broker_port)

    def stop(self) -> None:
        for forwarder in self.forwarders.values():
            forwarder.close()
        self.stop_backend()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.broker is not None:
            self.broker.stop()
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
        self._tmp.cleanup()

    # -- faults -----------------------------------------------------------------------

    def inject(self, fault: FaultConfig) -> tuple[float, float]:
        """Apply the fault now; return (wall time it began, wall time service was back)."""
        began = time.time()
        if fault.kind == "broker_restart":
            assert self.broker is not None
            self.broker.stop()
            time.sleep(fault.down_s)
            self.broker.start()
        elif fault.kind == "broker_kill":
            assert self.broker is not None
            self.broker.kill()  # no shutdown save: only what autosave wrote survives
            time.sleep(fault.down_s)
            self.broker.start()
        elif fault.kind == "backend_kill":
            assert self.server is not None
            self.stop_backend(kill=True)
            time.sleep(fault.down_s)
            self.start_backend()
        elif fault.kind == "db_restart":
            assert self.pg is not None
            self.pg.pause()
            time.sleep(fault.down_s)
            self.pg.resume()
        elif fault.kind == "link_cut":
            for forwarder in self.forwarders.values():
                forwarder.cut()
            time.sleep(fault.down_s)
            for forwarder in self.forwarders.values():
                forwarder.restore()
        return began, time.time()
