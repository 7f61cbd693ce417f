"""Turn a load test's raw measurements into the report, check the SLOs, write the files."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.benchmarks.bench_api import ApiSample
from experiments.loadtest.loadtest_config import SloConfig
from experiments.loadtest.probes import Key

PROBE = "probe"


def pct(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p95, p99 and max of a sample (``None`` when it is empty)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    a = np.asarray(values)
    p50, p95, p99 = (round(float(np.percentile(a, q)), 2) for q in (50, 95, 99))
    return {"n": len(values), "p50": p50, "p95": p95, "p99": p99, "max": round(float(a.max()), 2)}


@dataclass
class Raw:
    """Everything measured during one run."""

    sent: dict[Key, tuple[float, int]]
    seen: dict[Key, tuple[float, float]]
    ws_events: list[tuple[float, str, int]]
    api_samples: list[ApiSample]
    db_query_ms: list[float]
    resources: list[tuple[float, float, float]]
    stored_rows: list[Key]
    detection_rows: int
    load_window: tuple[float, float]
    fault: tuple[float, float] | None


def delivery(raw: Raw) -> dict[str, Any]:
    """Exact loss and duplication by (node_id, seq), published against stored."""
    rows = [k for k in raw.stored_rows if k[0] != PROBE]
    counts = Counter(rows)
    stored = set(counts)
    published = set(raw.sent)
    detections_published = sum(n for _, n in raw.sent.values())
    return {
        "published": len(published),
        "stored": len(stored),
        "lost": len(published - stored),
        "lost_examples": sorted(published - stored)[:10],
        "duplicates": sum(n - 1 for n in counts.values()),
        "unexpected": len(stored - published),
        "detections_published": detections_published,
        "detections_stored": raw.detection_rows,
        "detections_lost": max(0, detections_published - raw.detection_rows),
        "detections_duplicated": max(0, raw.detection_rows - detections_published),
    }


def latencies(raw: Raw) -> dict[str, Any]:
    persist, receive = [], []
    for key, (t_pub, _) in raw.sent.items():
        got = raw.seen.get(key)
        if got is not None:
            persist.append((got[0] - t_pub) * 1000)
            receive.append((got[1] - t_pub) * 1000)
    ws = [(at - raw.sent[(n, s)][0]) * 1000 for at, n, s in raw.ws_events if (n, s) in raw.sent]
    return {
        "publish_to_persist_ms": pct(persist),
        "publish_to_backend_receive_ms": pct(receive),
        "publish_to_ws_ms": pct(ws),
    }


def throughput(raw: Raw) -> dict[str, float]:
    t0, t1 = raw.load_window
    minutes = max(t1 - t0, 1e-9) / 60
    persisted = sum(
        n for key, (_, n) in raw.sent.items() if key in raw.seen and raw.seen[key][0] <= t1
    )
    published = sum(n for _, n in raw.sent.values())
    return {
        "window_s": round(t1 - t0, 2),
        "detections_per_min_published": round(published / minutes, 1),
        "detections_per_min_persisted": round(persisted / minutes, 1),
        "messages_per_s_published": round(len(raw.sent) / (t1 - t0), 1),
    }


def versus_raw(raw: Raw, reference: dict[str, float] | None) -> dict[str, Any]:
    """Messages persisted per second in the load window, against the raw broker rate
    measured in the same run (the ratio is the share of the broker's capacity used)."""
    t0, t1 = raw.load_window
    persisted = sum(1 for k in raw.sent if k in raw.seen and raw.seen[k][0] <= t1)
    rate = persisted / max(t1 - t0, 1e-9)
    sizes = [n for _, n in raw.sent.values()]
    out: dict[str, Any] = {
        "messages_per_s_persisted": round(rate, 1),
        "detections_per_message_mean": round(sum(sizes) / len(sizes), 2) if sizes else None,
        "raw_broker": reference,
    }
    if reference:
        out["ingest_to_raw_broker_ratio"] = round(rate / reference["messages_per_s"], 4)
    return out


def api(raw: Raw) -> dict[str, Any]:
    labels = list(dict.fromkeys(s[0] for s in raw.api_samples))
    out: dict[str, Any] = {}
    for label in labels:
        rows = [s for s in raw.api_samples if s[0] == label]
        out[label] = pct([r[1] for r in rows]) | {
            "errors": sum(1 for r in rows if not 200 <= r[2] < 300)
        }
    calls = [s for s in raw.api_samples if not s[0].startswith("reference")]
    failed = [f"{s[0]}: {s[2] or s[3]}" for s in calls if not 200 <= s[2] < 300]
    out["all API calls"] = pct([s[1] for s in calls]) | {
        "errors": len(failed),
        "error_kinds": dict(Counter(failed)),  # endpoint and status, so a failure says why
    }
    return out


def reference(report: dict[str, Any]) -> dict[str, float | None]:
    """What says how fast the machine was in this very run: the raw broker rate (before the
    backend subscribed) and ``/health`` (no I/O) polled under the load. A slow machine shows
    in both, whatever the backend does."""
    raw_broker = report["throughput"].get("raw_broker") or {}
    health = report["api"].get("reference: /health") or {}
    return {
        "raw_broker_messages_per_s": raw_broker.get("messages_per_s"),
        "health_p99_ms": health.get("p99"),
        "health_p50_ms": health.get("p50"),
    }


def recovery(raw: Raw) -> dict[str, Any] | None:
    """Seconds from the fault until everything published before the service was back is stored."""
    if raw.fault is None:
        return None
    began, restored = raw.fault
    held = [k for k, (t, _) in raw.sent.items() if t <= restored]
    done = [raw.seen[k][0] for k in held if k in raw.seen]
    recovered = len(done) == len(held)
    return {
        "began": began,
        "restored_after_s": round(restored - began, 2),
        "recovered": recovered,
        "recovery_s": round(max(done, default=began) - began, 2) if recovered else None,
    }


def resources(raw: Raw) -> dict[str, float | None]:
    if not raw.resources:
        return {"cpu_percent_mean": None, "cpu_percent_max": None, "rss_mb_max": None}
    cpu = [c for _, c, _ in raw.resources]
    return {
        "cpu_percent_mean": round(float(np.mean(cpu)), 1),
        "cpu_percent_max": round(max(cpu), 1),
        "rss_mb_max": round(max(r for _, _, r in raw.resources), 1),
    }


def check_slos(report: dict[str, Any], slo: SloConfig) -> list[dict[str, Any]]:
    """Each objective with its limit and the measured value; unset objectives say so."""
    d, t, lat = report["delivery"], report["throughput"], report["latency"]
    fault = report.get("fault")
    checks: list[tuple[str, float | None, Any, str]] = [
        ("nodes", slo.min_nodes, report["load"]["nodes"], ">="),
        (
            "detections/min persisted",
            slo.min_detections_per_min,
            t["detections_per_min_persisted"],
            ">=",
        ),
        ("API p99 ms (client side)", slo.api_p99_ms, report["api"]["all API calls"]["p99"], "<"),
        ("WebSocket push p99 ms", slo.ws_p99_ms, lat["publish_to_ws_ms"]["p99"], "<"),
        ("concurrent API users", slo.min_users, report["load"]["users"], ">="),
        ("messages lost", slo.max_lost, d["lost"] + d["detections_lost"], "<="),
        (
            "duplicates stored",
            slo.max_duplicates,
            d["duplicates"] + d["detections_duplicated"],
            "<=",
        ),
    ]
    if fault is not None:
        checks.append(("recovery s", slo.max_recovery_s, fault["recovery_s"], "<="))
    out = []
    for name, limit, measured, op in checks:
        if limit is None:
            ok: bool | None = None
        elif measured is None:
            ok = False
        else:
            ok = {">=": measured >= limit, "<": measured < limit, "<=": measured <= limit}[op]
        out.append({"objective": name, "limit": limit, "op": op, "measured": measured, "ok": ok})
    if report.get("lag_error"):
        out.append(
            {"objective": "real time kept", "limit": None, "op": "", "measured": False, "ok": False}
        )
    if fault is not None and not fault["recovered"]:
        out.append(
            {"objective": "recovered", "limit": None, "op": "", "measured": False, "ok": False}
        )
    return out


def markdown(report: dict[str, Any]) -> str:
    load = report["load"]
    lines = [
        f"# Load test: {load['nodes']} nodes, {load['duration_s']:.0f} s, {load['users']} API "
        f"users, {load['ws_subscribers']} WebSocket clients, fault: {load['fault']}",
        "",
        "| objective | limit | measured | result |",
        "|---|---:|---:|---|",
    ]
    for c in report["slos"]:
        limit = (
            "not checked" if c["limit"] is None and c["ok"] is None else f"{c['op']} {c['limit']}"
        )
        result = {True: "pass", False: "**FAIL**", None: "-"}[c["ok"]]
        lines.append(f"| {c['objective']} | {limit} | {c['measured']} | {result} |")
    lines += [
        "",
        "| latency | n | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, p in report["latency"].items():
        lines.append(f"| {name} | {p['n']} | {p['p50']} | {p['p95']} | {p['p99']} | |")
    for name, p in report["api"].items():
        lines.append(
            f"| API {name} | {p['n']} | {p['p50']} | {p['p95']} | {p['p99']} | {p['errors']} |"
        )
    db = report["db_query_ms"]
    lines.append(
        f"| DB ledger query | {db['n']} | {db['p50']} | {db['p95']} | {db['p99']} "
        f"| {db.get('errors', 0)} |"
    )
    r, t = report["resources"], report["throughput"]
    lines += [
        "",
        f"Throughput: {t['detections_per_min_persisted']:,} detections/min persisted "
        f"({t['detections_per_min_published']:,} published). Backend CPU mean "
        f"{r['cpu_percent_mean']}% (max {r['cpu_percent_max']}%) of one core, RSS max "
        f"{r['rss_mb_max']} MiB.",
    ]
    cpu = report.get("cpu")
    if cpu:
        where = (
            f"generator on CPUs {cpu['cores']['generator']}, backend on {cpu['cores']['backend']}"
            if cpu["cores"].get("pinned")
            else "not pinned"
        )
        lines.append(
            f"System under test ({where}): backend {cpu['backend_percent_of_core']}% of a "
            f"core, {cpu['cpu_ms_per_message']} ms per ingested message, "
            f"{cpu['cpu_ms_per_request']} ms per API request (live push included)."
        )
    gen = report.get("generator")
    if gen:
        parts = ", ".join(f"{k} {v}%" for k, v in gen["parts_percent_of_core"].items())
        hand = gen["handover_lag_ms"]
        lines.append(
            f"Load generator ({gen['processes']} processes, {gen['node_shard_processes']} of "
            f"them holding the nodes' sessions): {gen['percent_of_core']}% of a core ({parts}); "
            f"simulator behind real time at most {gen['simulator_lag']['max_lag_s']} s; "
            f"messages handed to the transports late by p50 {hand['p50']} ms, p99 "
            f"{hand['p99']} ms, max {hand['max']} ms."
        )
    ref = report.get("reference") or {}
    lines.append(
        f"Reference in this run: raw broker {ref.get('raw_broker_messages_per_s')} messages/s, "
        f"`/health` p99 {ref.get('health_p99_ms')} ms (p50 {ref.get('health_p50_ms')} ms)."
    )
    if t.get("raw_broker"):
        lines.append(
            f"Ingest {t['messages_per_s_persisted']:,} messages/s against a raw broker rate of "
            f"{t['raw_broker']['messages_per_s']:,} messages/s measured in this run "
            f"(ratio {t['ingest_to_raw_broker_ratio']})."
        )
    if report.get("fault"):
        f = report["fault"]
        lines.append(
            f"Fault {load['fault']}: service back after {f['restored_after_s']} s; "
            f"recovered (all held messages stored) after {f['recovery_s']} s."
        )
    return "\n".join(lines) + "\n"


def plot(raw: Raw, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = raw.load_window[0]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    series = {
        "publish to persist": [
            (raw.seen[k][0] - t) * 1000 for k, (t, _) in raw.sent.items() if k in raw.seen
        ],
        "publish to WebSocket": [
            (at - raw.sent[(n, s)][0]) * 1000 for at, n, s in raw.ws_events if (n, s) in raw.sent
        ],
        "API call": [s[1] for s in raw.api_samples if not s[0].startswith("reference")],
    }
    for label, values in series.items():
        if values:
            v = np.sort(values)
            ax1.plot(v, np.arange(1, len(v) + 1) / len(v), label=label)
    ax1.set_xscale("log")
    ax1.set(xlabel="ms", ylabel="fraction", title="latency CDF")
    ax1.legend()
    pub = np.array([t - t0 for t, _ in raw.sent.values()])
    per = np.array([raw.seen[k][0] - t0 for k in raw.sent if k in raw.seen])
    bins = np.arange(0, max(pub.max() if len(pub) else 1, per.max() if len(per) else 1) + 2)
    ax2.hist(pub, bins=bins, histtype="step", label="published")
    ax2.hist(per, bins=bins, histtype="step", label="persisted")
    if raw.fault is not None:
        ax2.axvspan(raw.fault[0] - t0, raw.fault[1] - t0, color="red", alpha=0.15, label="fault")
    ax2.set(xlabel="s", ylabel="messages per s", title="messages")
    ax2.legend()
    if raw.resources:
        ts = [t - t0 for t, _, _ in raw.resources]
        ax3.plot(ts, [c for _, c, _ in raw.resources], label="CPU % of a core")
        ax3.plot(ts, [r for _, _, r in raw.resources], label="RSS MiB")
        ax3.legend()
    ax3.set(xlabel="s", title="backend process")
    fig.tight_layout()
    path = out / "loadtest.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path.name]


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "loadtest.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "loadtest.md").write_text(markdown(report))
