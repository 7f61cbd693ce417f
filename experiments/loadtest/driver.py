"""``edgeqi loadtest``: the simulated city drives the real backend over a real broker.

A Hydra app (config ``scenarios/loadtest.yaml``): it starts, or connects to, the broker,
the database and the backend; runs the scenario's nodes in real time, each publishing
through its own MQTT transport; meanwhile runs API users and WebSocket subscribers
and, if configured, one fault; then waits for everything published to be stored and
compares, message by message, what was published with what was stored. It writes
``loadtest.json``, ``loadtest.md`` and ``loadtest.png`` and exits 1 when an SLO of
its config is violated (2: invalid config).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from experiments.benchmarks.bench_api import ApiSample, endpoints, load, server_side
from experiments.loadtest import cpu_meter, sweep
from experiments.loadtest import slo_report as rep
from experiments.loadtest.loadtest_config import LoadConfig, LoadtestConfig, load_config
from experiments.loadtest.node_shards import ShardedNodes
from experiments.loadtest.probes import DbLedger, ResourceSampler, ws_subscriber
from experiments.loadtest.stack import Stack
from sim.hil import spread_s
from sim.realtime import LagExceededError, anchored
from sim.runner import PolicySimulation
from sim.scenario_config import ConfigError, ScenarioConfig
from sim.scoring import node_name


def _live_load(
    api_base: str,
    token: str,
    load_cfg: dict[str, Any],
    duration: float,
    nodes: int,
    ready: Any,
    stop: Any,
    result: Path,
) -> None:
    """API users for ``duration`` and WebSocket clients until ``stop``, in a process of its own.

    Its own interpreter keeps the clients' timing off the simulator's GIL: a client that
    waits for the nodes' threads would report their delay as the backend's latency.
    Results go to ``result`` as JSON. ``ready`` is set once its interpreter has imported
    what it needs, so that the load window (and its CPU) starts with the load, not with
    the imports.
    """
    ready.set()
    cfg = LoadConfig.model_validate(load_cfg)
    url = f"{api_base.replace('http', 'ws', 1)}/ws?token={token}&topics={cfg.ws_topics}"
    api_samples: list[ApiSample] = []
    ws_events: list[tuple[float, str, int]] = []
    ws_state: dict[str, int] = {}

    async def main() -> None:
        subscribers = [
            asyncio.create_task(ws_subscriber(url, stop, ws_events, ws_state))
            for _ in range(cfg.ws_subscribers)
        ]
        looked_at = node_name(7 % nodes)
        if cfg.users:
            await _until_known(api_base, token, looked_at)
        calls = endpoints(nodes, time.time(), looked_at)
        if cfg.users:
            api_samples.extend(
                await load(
                    api_base, token, cfg.users, duration, cfg.think_s, calls, cfg.reference_think_s
                )
            )
        await asyncio.gather(*subscribers)

    asyncio.run(main())
    result.write_text(json.dumps({"api": api_samples, "ws": ws_events, "state": ws_state}))


async def _until_known(api_base: str, token: str, node: str, within_s: float = 30.0) -> None:
    """Wait until the backend knows the node the users look at in detail.

    The users start with the nodes, and a dashboard user opens a node it sees in the list:
    asking for one whose first message is still on its way is a 404 of the load test's own
    making, not the backend's (the CI load test counted two per run)."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(base_url=api_base, headers=headers, timeout=5) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"/api/nodes/{node}")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


def _exposition(stack: Stack) -> str:
    """The backend's ``/metrics`` text ("" if it does not answer)."""
    headers = {"Authorization": f"Bearer {stack.token}"}
    try:
        return httpx.get(f"{stack.api_base}/metrics", headers=headers, timeout=30).text
    except httpx.HTTPError:
        return ""


def _cpu_snapshot(stack: Stack, generator: dict[str, list[int]]) -> cpu_meter.Snapshot:
    api = [p for p in stack.backend_pids if p not in stack.worker_pids]
    return cpu_meter.snapshot(api, stack.worker_pids, generator, _exposition(stack))


def _backend_counters(stack: Stack) -> dict[str, Any]:
    """The backend's own view: share of fast requests and the redeliveries it absorbed."""
    text = _exposition(stack)
    if not text:
        return {}
    out: dict[str, Any] = {"api_server_side": server_side(text)}
    for family in text_string_to_metric_families(text):
        if family.name == "edgeqi_ingest_duplicates":
            out["redeliveries_absorbed"] = sum(s.value for s in family.samples)
    return out


# The load test's phases (services, nodes, probes, faults, report) in the order they
# run; each phase is a call, the statements are their wiring.
def run_loadtest(  # noqa: PLR0915
    scn: ScenarioConfig, cfg: LoadtestConfig, out: Path, console: Console
) -> dict[str, Any]:
    node_ids = [node_name(k) for k in range(scn.node_count)]
    fault = cfg.fault
    with Stack(cfg, node_ids, scn.realtime.hil.credentials_file) as stack:
        stack.prepare(fault)
        hil_cfg = scn.realtime.hil.model_copy(
            update={"broker_url": stack.mqtt_url, "credentials_file": stack.credentials_file}
        )
        scn = anchored(
            scn.model_copy(update={"realtime": scn.realtime.model_copy(update={"hil": hil_cfg})})
        )
        sim = PolicySimulation(scn, scn.policy.name, record_queues=False)
        nodes = ShardedNodes(
            hil_cfg,
            node_ids,
            cfg.generator.processes,
            address=stack.address,
            spread_s=spread_s(scn),
        )
        console.print(
            f"connecting {len(node_ids)} nodes to {stack.mqtt_url} "
            f"from {len(nodes.specs)} processes ..."
        )
        nodes.start()
        sim.sink = nodes
        db = DbLedger(stack.database_url, cfg.load.poll_s)
        sampler = ResourceSampler(lambda: stack.backend_pids, cfg.load.sample_s)
        db.start()
        sampler.start()
        ctx = multiprocessing.get_context("spawn")
        stop, ready = ctx.Event(), ctx.Event()
        result = stack.work / "live.json"
        live = ctx.Process(
            target=_live_load,
            args=(
                stack.api_base,
                stack.token,
                cfg.load.model_dump(),
                scn.duration_s,
                len(node_ids),
                ready,
                stop,
                result,
            ),
            daemon=True,
        )
        fault_times: list[tuple[float, float]] = []

        def injector() -> None:
            time.sleep(fault.at_s)
            console.print(f"fault: {fault.kind} for {fault.down_s:g} s")
            fault_times.append(stack.inject(fault))

        faulting = threading.Thread(target=injector, daemon=True)
        console.print(
            f"load: {len(node_ids)} nodes x {scn.duration_s:g} s in real time, "
            f"{cfg.load.users} API users, {cfg.load.ws_subscribers} WebSocket clients"
        )
        live.start()
        ready.wait(120)
        generator = {
            "simulator": [os.getpid()],
            "node_shards": nodes.pids,
            "api_users_and_ws_clients": [live.pid or 0],
        }
        cores: dict[str, Any] = {"pinned": stack.cores is not None}
        if stack.cores is not None:
            gen_cpus, backend_cpus = stack.cores
            cpu_meter.pin(os.getpid(), gen_cpus, descendants=False)  # not the services
            for pid in [live.pid or 0, *nodes.pids]:
                cpu_meter.pin(pid, gen_cpus)
            cores |= {"generator": gen_cpus, "backend": backend_cpus, "unpinned": "broker, db"}
        if fault.kind != "none":
            faulting.start()
        cpu_start = _cpu_snapshot(stack, generator)
        t0 = time.time()
        lag_error = None
        try:
            sim.run()
        except LagExceededError as exc:
            lag_error = str(exc)
            console.print(f"[bold red]{exc}")
        t1 = time.time()
        cpu_end = _cpu_snapshot(stack, generator)
        if fault.kind != "none":
            faulting.join()
        delivered = nodes.flush(cfg.load.drain_timeout_s)
        sent = nodes.sent()
        stored_all = db.wait_for(set(sent), cfg.load.drain_timeout_s)
        stop.set()
        live.join(timeout=60)
        got = json.loads(result.read_text()) if result.exists() else {}
        api_samples = [(str(a), float(b), int(c), str(d)) for a, b, c, d in got.get("api", [])]
        ws_events = [(float(a), str(b), int(c)) for a, b, c in got.get("ws", [])]
        ws_state = dict(got.get("state", {})) | {"exit_code": live.exitcode}
        db.stop()
        sampler.stop()
        transport = nodes.stats()
        handover_lag = nodes.lag()
        nodes.close()
        backend = _backend_counters(stack)
        final = db.reconcile()
        raw_reference = stack.raw_reference
    raw = rep.Raw(
        sent=sent,
        seen=db.seen,
        ws_events=ws_events,
        api_samples=api_samples,
        db_query_ms=db.query_ms,
        resources=sampler.samples,
        stored_rows=final["rows"],
        detection_rows=final["detection_rows"],
        load_window=(t0, t1),
        fault=fault_times[0] if fault_times else None,
    )
    report: dict[str, Any] = {
        "load": {
            "nodes": len(node_ids),
            "duration_s": scn.duration_s,
            "speed": scn.realtime.speed,
            "policy": scn.policy.name,
            "users": cfg.load.users,
            "think_s": cfg.load.think_s,
            "ws_subscribers": cfg.load.ws_subscribers,
            "database": "sqlite" if stack.database_url.startswith("sqlite") else "postgresql",
            "fault": fault.kind,
            "slo": cfg.slo.name,
            "backend_env": cfg.services.backend_env,
            "ingest_workers": cfg.services.ingest_workers,
            "stagger_s": round(spread_s(scn), 3),
        },
        "throughput": rep.throughput(raw) | rep.versus_raw(raw, raw_reference),
        "delivery": rep.delivery(raw) | {"nodes_flushed": delivered, "all_stored": stored_all},
        "latency": rep.latencies(raw),
        "api": rep.api(raw),
        "db_query_ms": rep.pct(db.query_ms) | {"errors": db.errors},
        "resources": rep.resources(raw),
        "cpu": cpu_meter.per_unit(
            cpu_start,
            cpu_end,
            sum(1 for at, _ in db.seen.values() if cpu_start.at <= at <= cpu_end.at),
            split=cfg.services.ingest_workers > 0,
            cores=cores,
        ),
        "generator": {
            "processes": 1 + len(nodes.specs) + 1,
            "node_shard_processes": len(nodes.specs),
            **cpu_meter.generator_share(cpu_start, cpu_end),
            "cpus": cores.get("generator"),
            "simulator_lag": sim.lag.summary(),
            "handover_lag_ms": handover_lag,
        },
        "transport": transport,
        "websocket": ws_state | {"events": len(ws_events)},
        "backend": backend,
        "lag_error": lag_error,
        "fault": rep.recovery(raw),
    }
    report["reference"] = rep.reference(report)
    report["slos"] = rep.check_slos(report, cfg.slo)
    rep.write(report, out)
    if cfg.load.plots:
        rep.plot(raw, out)
    return report


@hydra.main(version_base="1.3", config_path="pkg://scenarios", config_name="loadtest")
def hydra_main(cfg: DictConfig) -> None:
    console = Console() if Console().is_terminal else Console(width=160)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call otherwise
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    try:
        scn, lt = load_config({str(k): v for k, v in raw.items()})
    except ConfigError as exc:
        Console(stderr=True).print(f"[bold red]edgeqi loadtest:[/] {exc}", highlight=False)
        sys.exit(2)
    out = Path(HydraConfig.get().runtime.output_dir)
    if lt.sweep.enabled:
        sw = lt.sweep

        def probe(n: int, where: Path) -> dict[str, Any]:
            console.print(f"sweep: {n} nodes")
            scn_n, lt_n = load_config({str(k): v for k, v in raw.items()} | {"nodes": n})
            return run_loadtest(scn_n, lt_n, where, console)

        result = sweep.largest_passing(probe, sw.min_nodes, sw.max_nodes, sw.resolution, out)
        console.print(sweep.markdown(result), highlight=False)
        return
    report = run_loadtest(scn, lt, out, console)
    console.print(rep.markdown(report), highlight=False)
    console.print(f"report: {out / 'loadtest.json'}")
    failed = [c["objective"] for c in report["slos"] if c["ok"] is False]
    if failed:
        Console(stderr=True).print(f"[bold red]SLO violated:[/] {', '.join(failed)}")
        sys.exit(1)


def main(argv: list[str]) -> int:
    """Entry from the ``edgeqi`` console script: hand the arguments to Hydra."""
    sys.argv = ["edgeqi-loadtest", *argv]
    hydra_main()
    return 0
