"""Every run reports its process's peak resident memory in summary.json (``sim``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from experiments.runs.results import WALL_CLOCK_KEYS, summarise
from sim.runner import run_scenario
from sim.scenario_config import ScenarioConfig


def _kernel_peak_mib() -> float:
    """The kernel's own high-water mark (VmHWM, in kB), read independently of getrusage."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmHWM in /proc/self/status")


def test_summary_reports_the_peak_resident_memory_in_mib(
    scenario: Callable[..., ScenarioConfig],
) -> None:
    run = run_scenario(scenario("city=small", "duration_s=60", "policy.compare=[edgeqi]"))
    kernel = _kernel_peak_mib()
    # MiB, not KiB or bytes: within a few per cent of the kernel's figure taken just after.
    assert 0.9 * kernel <= run.peak_rss_mib <= kernel * 1.0001
    sim = summarise(run)["sim"]
    assert sim["peak_rss_mib"] == round(run.peak_rss_mib, 1)
    assert "peak_rss_mib" in WALL_CLOCK_KEYS  # machine-dependent: left out of identity checks
