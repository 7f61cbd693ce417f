"""CPU, memory, temperature and GPU load of the board, for the node's heartbeat."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from hardware.tegrastats import TegraSample


@dataclass(frozen=True, slots=True)
class Health:
    """What a heartbeat reports about the board besides power."""

    cpu_percent: float
    mem_used_mb: float
    mem_total_mb: float
    temp_c: float | None
    """The hottest thermal zone."""
    gpu_percent: float | None


def thermal_zones(root: Path = Path("/")) -> dict[str, float]:
    """Degrees Celsius per thermal zone type (the kernel reports millidegrees)."""
    out: dict[str, float] = {}
    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*")):
        try:
            kind = (zone / "type").read_text().strip()
            millideg = int((zone / "temp").read_text().strip())
        except (OSError, ValueError):
            continue
        if millideg > -256_000:  # Jetsons report absent sensors as -256 C
            out[kind] = millideg / 1000
    return out


def read(root: Path = Path("/"), tegra: TegraSample | None = None) -> Health:
    """Sample the board now; on a Jetson pass the latest ``tegrastats`` sample for GPU load."""
    mem = psutil.virtual_memory()
    temps = thermal_zones(root)
    if tegra is not None:
        temps |= tegra.temps_c
    return Health(
        cpu_percent=psutil.cpu_percent(interval=None),
        mem_used_mb=(mem.total - mem.available) / 2**20,
        mem_total_mb=mem.total / 2**20,
        temp_c=max(temps.values()) if temps else None,
        gpu_percent=None if tegra is None else tegra.gpu_load,
    )
