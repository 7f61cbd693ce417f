"""``edgeqi calibrate``: measure detector variants here and write a simulator device profile.

For every model (full precision and its reduced variants) the three stages are timed
separately on frames of the street video, with the clock read here, outside the core:
preprocess (resize / letterbox), inference (``InferenceSession.run``), postprocess
(decode, NMS, thresholds). Agreement is F1 at IoU 0.5 against the model a variant
stands in for, on the same frames. Written into the Hydra output directory:

* ``calibration.json``: per variant, stage percentiles, throughput, agreement, providers;
* ``stages.parquet``: one row per timed frame and variant;
* ``energy/<profile>.yaml``: an energy profile in the ``scenarios/energy`` schema with the
  measured latencies (power and radio from a cited base profile), which ``edgeqi run``
  loads with ``--config-dir <output dir> energy=<profile>``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from edgeqi.perception.boxes import Agreement, match
from edgeqi.perception.detector import Detections, SsdDetector, YoloDetector
from experiments.tools.model_cache import machine_name, sample_frames
from hardware.model_store import load_detector, read_card
from sim.scenario_config import DetectorConfig, EnergyConfig


def time_stages(
    detectors: dict[str, SsdDetector | YoloDetector], frames: list[np.ndarray], warmup: int
) -> tuple[pd.DataFrame, dict[str, list[Detections]]]:
    """Per-frame milliseconds of each stage for every detector, and their detections.

    The detectors take turns on each frame, so that a burst of load from elsewhere on
    the machine hits all of them alike instead of whichever happened to run then.
    """
    for det in detectors.values():
        for f in frames[:warmup]:
            det.detect(f)
    rows = []
    found: dict[str, list[Detections]] = {name: [] for name in detectors}
    clock = time.perf_counter
    for i, f in enumerate(frames):
        for name, det in detectors.items():
            t0 = clock()
            prepared = det.preprocess(f)
            t1 = clock()
            raw = det.infer(prepared)
            t2 = clock()
            d = det.postprocess(raw, prepared)
            t3 = clock()
            rows.append((name, i, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, len(d)))
            found[name].append(d)
    cols = ["model", "frame", "pre_ms", "infer_ms", "post_ms", "boxes"]
    df = pd.DataFrame(rows, columns=cols)
    df["total_ms"] = df.pre_ms + df.infer_ms + df.post_ms
    return df, found


def agreement(reference: list[Detections], candidate: list[Detections]) -> Agreement:
    total = Agreement(0, 0, 0)
    for r, c in zip(reference, candidate, strict=True):
        total = total + match(r.boxes, r.classes, c.boxes, c.classes, 0.5)
    return total


def summarise_stages(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in ("pre_ms", "infer_ms", "post_ms", "total_ms"):
        q = np.percentile(df[col], [50, 90, 99])
        out[col] = {
            "p50": round(float(q[0]), 3),
            "p90": round(float(q[1]), 3),
            "p99": round(float(q[2]), 3),
            "mean": round(float(df[col].mean()), 3),
        }
    out["throughput_fps"] = round(1000.0 / float(df.total_ms.mean()), 2)
    return out


def base_profile(name: str) -> dict[str, Any]:
    text = resources.files("scenarios").joinpath("energy", f"{name}.yaml").read_text()
    data = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def device_profile(
    name: str, base: str, full_ms: float, reduced_ms: float, machine: str, models: str
) -> dict[str, Any]:
    """An energy profile with measured latencies; validated as the simulator will.

    Where the reduced variant measured slower than the full one (int8 on a CPU without
    fast integer kernels, or a busy machine), reduced mode saves no time on this machine:
    the profile says so and gives it the full latency, since the simulator's reduced mode
    is never slower than full (the node would then simply stay in full mode)."""
    data = base_profile(base)
    device = dict(data["device"])
    slower = reduced_ms > full_ms
    note = (
        f"; the reduced variant measured {reduced_ms:.1f} ms, slower than full, so reduced "
        "mode is given the full latency here"
        if slower
        else ""
    )
    device.update(
        name=name,
        full_latency_s=round(full_ms / 1000.0, 6),
        reduced_latency_s=round(min(reduced_ms, full_ms) / 1000.0, 6),
        source=(
            f"latencies measured by `edgeqi calibrate` on {machine} "
            f"({datetime.now(UTC):%Y-%m-%d}, {models}, p50 of pre+infer+post{note}); power and "
            f"radio from the {base} profile: {device.get('source', '')}"
        ),
    )
    data.update(name=name, device=device)
    EnergyConfig.model_validate(data)
    return data


def calibrate(cfg: DictConfig, out: Path, console: Console) -> dict[str, Any]:
    frames = sample_frames(int(cfg.frames), offset=3)
    providers = list(cfg.providers) if cfg.providers else None
    results: dict[str, Any] = {"machine": machine_name(), "frames": len(frames), "models": {}}
    names = list(cfg.models)
    cards = {name: read_card(name)[0] for name in names}
    detectors = {
        name: load_detector(
            name,
            conf_threshold=float(cfg.conf_threshold),
            providers=providers,
            threads=int(cfg.threads),
        )
        for name in names
    }
    with console.status(f"timing {len(names)} variants on {len(frames)} frames"):
        df, found = time_stages(detectors, frames, int(cfg.warmup))
    for name in names:
        card, det = cards[name], detectors[name]
        entry = summarise_stages(df[df.model == name])
        entry.update(
            precision=card.precision,
            input_size=list(card.input_size),
            providers=det.providers,
            provider_fallback=det.fallback,
            reduced_of=card.reduced_of,
        )
        if card.reduced_of in found:
            a = agreement(found[card.reduced_of], found[name])
            entry["agreement"] = {
                "reference": card.reduced_of,
                "f1": round(a.f1, 4),
                "precision": round(a.precision, 4),
                "recall": round(a.recall, 4),
                "matched": a.matched,
            }
        results["models"][name] = entry
    df.to_parquet(out / "stages.parquet", index=False)
    full = [n for n in names if results["models"][n]["reduced_of"] is None]
    reduced = [n for n in names if results["models"][n]["reduced_of"] is not None]
    if cfg.get("reduced") in reduced:
        # The variant the profile's reduced mode stands for; the others stay in the results.
        reduced.insert(0, reduced.pop(reduced.index(str(cfg.reduced))))
    results["reduced_mode"] = reduced[0] if reduced else None
    if full:
        f_ms = results["models"][full[0]]["total_ms"]["p50"]
        r_ms = results["models"][reduced[0]]["total_ms"]["p50"] if reduced else f_ms
        models = f"{full[0]} / {reduced[0] if reduced else full[0]}"
        try:
            profile = device_profile(
                str(cfg.profile.name), str(cfg.profile.base), f_ms, r_ms, results["machine"], models
            )
        except ValueError as exc:
            results["profile_error"] = str(exc)
            console.print(f"[bold red]no device profile written:[/] {exc}")
        else:
            (out / "energy").mkdir(exist_ok=True)
            path = out / "energy" / f"{cfg.profile.name}.yaml"
            path.write_text(OmegaConf.to_yaml(profile))
            results["profile"] = str(path)
            if r_ms > f_ms:
                console.print(
                    f"[yellow]{reduced[0]} measured slower than {full[0]} here "
                    f"({r_ms:.1f} > {f_ms:.1f} ms): reduced mode is given the full latency[/]"
                )
            console.print(
                f"device profile {path}: load it with "
                f"`edgeqi run --config-dir {out} energy={cfg.profile.name}`"
            )
    if reduced and "agreement" in results["models"][reduced[0]]:
        # The synthetic detector draws reduced-mode detections with recall_reduced; what
        # int8 keeps of fp32's boxes here scales the scenario's full-precision recall.
        kept = results["models"][reduced[0]]["agreement"]["recall"]
        recall_full = DetectorConfig().recall_full
        results["simulator_overrides"] = {
            "workload.detector.recall_reduced": round(recall_full * kept, 4)
        }
        console.print(
            f"reduced-mode recall for the simulator: workload.detector.recall_reduced="
            f"{recall_full * kept:.4f} (recall_full {recall_full} x int8 recall vs fp32 {kept})"
        )
    (out / "calibration.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, e in results["models"].items():
        f1 = e.get("agreement", {}).get("f1", "-")
        console.print(
            f"{name:24} pre {e['pre_ms']['p50']:.2f}  infer {e['infer_ms']['p50']:.2f}  "
            f"post {e['post_ms']['p50']:.2f}  total p50 {e['total_ms']['p50']:.2f} "
            f"p99 {e['total_ms']['p99']:.2f} ms  {e['throughput_fps']} fps  F1 {f1}"
        )
    return results


@hydra.main(version_base="1.3", config_path="pkg://scenarios", config_name="calibrate")
def hydra_main(cfg: DictConfig) -> None:
    out = Path(HydraConfig.get().runtime.output_dir)
    console = Console()
    console.print(OmegaConf.to_yaml(cfg), highlight=False) if cfg.progress else None
    calibrate(cfg, out, console)


def main(argv: list[str]) -> int:
    sys.argv = ["edgeqi-calibrate", *argv]
    hydra_main()
    return 0
