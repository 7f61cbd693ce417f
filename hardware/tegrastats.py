"""Parse NVIDIA ``tegrastats`` output: power rails, loads, memory and temperatures.

One line per interval. The rail names and units differ per module (reference: the
"tegrastats Utility" page of the NVIDIA Jetson Linux Developer Guide):

- Jetson Nano (L4T 32): ``POM_5V_IN 1358/1358 POM_5V_GPU 40/40 POM_5V_CPU 161/161``,
  current/average in milliwatts without a unit;
- Xavier NX / Orin (L4T 35+): ``VDD_IN 4432mW/4432mW VDD_CPU_GPU_CV 518mW/518mW ...``;
- AGX Xavier lists only per-rail figures (``GPU``, ``CPU``, ``SOC``, ``SYS5V``...).

The module's input power is ``POM_5V_IN`` or ``VDD_IN`` where present, else the sum of
the rails; absent sensors print ``-256C`` and are skipped; idle cores print ``off``.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB")
_CPU = re.compile(r"\bCPU \[([^\]]*)\]")
_GPU = re.compile(r"\bGR3D_FREQ (\d+)%")
_TEMP = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*)@(-?\d+(?:\.\d+)?)C\b")
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?=\s|$)")
INPUT_RAILS = ("POM_5V_IN", "VDD_IN")
ABSENT_C = -256.0


@dataclass(frozen=True, slots=True)
class TegraSample:
    """One ``tegrastats`` line, in SI-friendly units."""

    ram_used_mb: int | None
    ram_total_mb: int | None
    cpu_load: tuple[float | None, ...]
    """Per core, percent; ``None`` for a core that is off."""
    gpu_load: float | None
    temps_c: dict[str, float] = field(default_factory=dict)
    rails_mw: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Rail name -> (current, running average) in milliwatts."""

    @property
    def input_w(self) -> float | None:
        """The module's input power now, in watts (``None``: no power rails printed)."""
        for name in INPUT_RAILS:
            if name in self.rails_mw:
                return self.rails_mw[name][0] / 1000
        if not self.rails_mw:
            return None
        return sum(cur for cur, _ in self.rails_mw.values()) / 1000

    @property
    def cpu_percent(self) -> float | None:
        """Mean load of the cores that are on."""
        on = [x for x in self.cpu_load if x is not None]
        return sum(on) / len(on) if on else None


def parse(line: str) -> TegraSample:
    """Parse one line; raises ``ValueError`` on a line that is not tegrastats output."""
    ram = _RAM.search(line)
    cpu = _CPU.search(line)
    if ram is None and cpu is None:
        raise ValueError(f"not a tegrastats line: {line[:80]!r}")
    loads: list[float | None] = []
    if cpu is not None:
        for raw in cpu.group(1).split(","):
            core = raw.strip()
            loads.append(None if core == "off" or "%" not in core else float(core.split("%")[0]))
    gpu = _GPU.search(line)
    temps = {n: float(v) for n, v in _TEMP.findall(line) if float(v) > ABSENT_C}
    rails = {n: (float(cur), float(avg)) for n, cur, avg in _RAIL.findall(line)}
    return TegraSample(
        ram_used_mb=int(ram.group(1)) if ram else None,
        ram_total_mb=int(ram.group(2)) if ram else None,
        cpu_load=tuple(loads),
        gpu_load=float(gpu.group(1)) if gpu else None,
        temps_c=temps,
        rails_mw=rails,
    )


def samples(lines: Iterable[str]) -> Iterator[TegraSample]:
    """Parse a stream of lines, skipping blank ones and any that are not samples."""
    for line in lines:
        if not line.strip():
            continue
        try:
            yield parse(line)
        except ValueError:
            continue


def live(interval_ms: int = 1000, binary: str = "tegrastats") -> Iterator[TegraSample]:
    """Samples from a running ``tegrastats --interval`` (a Jetson's own utility)."""
    proc = subprocess.Popen(
        [binary, "--interval", str(interval_ms)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        yield from samples(proc.stdout)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def replay(path: Path) -> Iterator[TegraSample]:
    """Samples from a recorded ``tegrastats`` log (tests, offline analysis)."""
    with path.open() as fh:
        yield from samples(fh)


def paced(path: Path, interval_ms: int, loop: bool = True) -> Iterator[TegraSample]:
    """A recorded log replayed as ``tegrastats --interval`` prints it: one sample per interval.

    Stands in for :func:`live` in tests and benchmarks, so the sensor thread sees samples
    arrive over time (looping over the recording when asked) instead of all at once.
    """
    recorded = list(replay(path))
    if not recorded:
        raise ValueError(f"{path}: no tegrastats samples")
    while True:
        for sample in recorded:
            yield sample
            time.sleep(interval_ms / 1000)
        if not loop:
            return
