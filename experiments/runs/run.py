"""``edgeqi run``: the main job, a Hydra app over the scenario tree in ``scenarios/``."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from experiments.runs.override_keys import check_override_keys
from experiments.runs.results import (
    COMPARISON_HEADERS,
    comparison_rows,
    summarise,
    write_summary,
    write_tables,
)
from experiments.runs.resume import config_digest, is_complete, mark_complete
from sim.realtime import LagExceededError, anchored
from sim.runner import ScenarioRun, run_scenario
from sim.scenario_config import ConfigError, ScenarioConfig, load_scenario


def execute(scn: ScenarioConfig, out: Path, console: Console) -> ScenarioRun:
    """Run a validated scenario and write everything it produces into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    names: list[str] = list(dict.fromkeys(scn.policy.compare or [scn.policy.name]))
    columns = (
        TextColumn("{task.description:>16}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not scn.progress, transient=False) as bar:
        tasks = {n: bar.add_task(n, total=scn.duration_s) for n in names}
        step = max(scn.duration_s / 200.0, scn.workload.observe_period_s)
        last: dict[str, float] = dict.fromkeys(names, 0.0)

        def progress(name: str, t: float) -> None:
            if t - last[name] >= step or t >= scn.duration_s:
                last[name] = t
                bar.update(tasks[name], completed=t)

        run = run_scenario(scn, progress)
    summary = summarise(run)
    if scn.realtime.mode == "real":  # absent in virtual time, so those summaries are unchanged
        summary["realtime"] = {n: r.realtime for n, r in run.policies.items()}
    write_summary(summary, out)
    if scn.tables:
        write_tables(run, out)
    if scn.plots:
        # Imported here: matplotlib costs a second or two of start-up that a run with
        # plots=false (every shipped sweep) should not pay.
        from experiments.runs.plots import plot_bytes_energy, plot_comparison, plot_queues

        plot_queues(run, out)
        plot_bytes_energy(run, out)
        plot_comparison(summary, out)
    table = Table(
        title=f"{scn.city.name}: {scn.node_count} nodes, {scn.duration_s:.0f} s, seed {scn.seed}"
    )
    for h in COMPARISON_HEADERS:
        table.add_column(h, justify="left" if h == "policy" else "right")
    for row in comparison_rows(summary):
        table.add_row(*row)
    console.print(table)
    sim = summary["sim"]
    console.print(
        f"{sim['node_seconds_per_wall_second']} node-seconds per wall second; results in {out}"
    )
    return run


@hydra.main(version_base="1.3", config_path="pkg://scenarios", config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # logs and CI: keep the comparison table on one line a row
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    try:
        scn = load_scenario({str(k): v for k, v in raw.items()})
    except ConfigError as exc:
        Console(stderr=True).print(f"[bold red]edgeqi run:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    out = Path(HydraConfig.get().runtime.output_dir)
    digest = config_digest({str(k): v for k, v in raw.items()})
    if is_complete(out, digest):
        console.print(f"complete results for this config already in {out}: not run again")
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        execute(anchored(scn), out, console)
    except LagExceededError as exc:
        Console(stderr=True).print(f"[bold red]edgeqi run stopped:[/] {exc}", highlight=False)
        sys.exit(3)
    mark_complete(
        out,
        digest,
        {
            "wall_seconds": round(time.perf_counter() - wall, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3),
            "process_peak_rss_mib": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1
            ),
        },
    )


_OWN_TREE_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn")


def main(argv: list[str]) -> int:
    """Entry from the ``edgeqi`` console script: refuse misspelled keys (naming what they
    probably meant), then hand the arguments to Hydra. With another config tree the keys
    are that tree's, so Hydra checks them itself."""
    if not any(a.split("=", 1)[0] in _OWN_TREE_FLAGS for a in argv):
        try:
            check_override_keys([a for a in argv if "=" in a and not a.startswith("-")])
        except ConfigError as exc:
            print(f"edgeqi run: {exc}", file=sys.stderr)
            return 2
    sys.argv = ["edgeqi-run", *argv]
    hydra_main()
    return 0
