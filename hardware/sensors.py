"""The board's power sensor and health, built from the ``power`` section of ``node.yaml``.

One place decides which reader a node uses (``tegrastats`` on a Jetson, an INA219 on a
Pi's supply line over I2C, the kernel's INA drivers through sysfs, or none) and, for
tests and benchmarks, which recording stands in for the device. The runtime then asks
:meth:`BoardSensors.sample` once per step and gets watts, state of charge and health.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware import health, tegrastats
from hardware.power import (
    Ina219I2C,
    PowerReading,
    PowerSensor,
    RecordedIna219Bus,
    SysfsPower,
    TegrastatsPower,
)

log = logging.getLogger(__name__)

MAINS_SOC = 1.0
"""State of charge a node without a battery reports: on mains, energy is never short."""


@dataclass(frozen=True, slots=True)
class BoardSample:
    power: PowerReading | None
    health: health.Health

    @property
    def soc(self) -> float:
        if self.power is None or self.power.soc is None:
            return MAINS_SOC
        return self.power.soc


class BoardSensors:
    """Power (if a sensor is configured) and health, read together once per step."""

    def __init__(self, power: PowerSensor | None, root: Path = Path("/")) -> None:
        self.power = power
        self.root = root
        self.failures = 0

    def sample(self) -> BoardSample:
        reading: PowerReading | None = None
        if self.power is not None:
            try:
                reading = self.power.read()
            except (OSError, TimeoutError, ValueError) as exc:
                self.failures += 1
                log.warning("power sensor read failed: %s", exc)
        tegra = self.power.latest if isinstance(self.power, TegrastatsPower) else None
        return BoardSample(reading, health.read(self.root, tegra))


def _opt(options: dict[str, Any], key: str, default: Any) -> Any:
    return options.get(key, default)


def power_sensor(kind: str, options: dict[str, Any], replay: Path | None) -> PowerSensor | None:
    """The sensor of ``kind`` (``tegrastats``, ``ina219``, ``sysfs``, ``none``).

    ``replay`` is a recording read instead of the device: a ``tegrastats`` log, a file of
    INA219 register words, or a copied sysfs tree.
    """
    if kind == "none":
        return None
    if kind == "tegrastats":
        interval = int(_opt(options, "interval_ms", 1000))
        source = (
            tegrastats.paced(replay, interval)
            if replay is not None
            else tegrastats.live(interval, str(_opt(options, "binary", "tegrastats")))
        )
        return TegrastatsPower(source)
    if kind == "ina219":
        address = int(_opt(options, "address", 0x40))
        shunt = float(_opt(options, "shunt_ohms", 0.1))
        if replay is not None:
            bus: Any = RecordedIna219Bus(replay, float(_opt(options, "interval_ms", 500)) / 1000)
        else:
            from smbus2 import SMBus

            bus = SMBus(int(_opt(options, "bus", 1)))
        return Ina219I2C(bus, address, shunt)
    if kind == "sysfs":
        return SysfsPower(replay or Path(str(_opt(options, "root", "/"))))
    raise ValueError(f"unknown power sensor kind {kind!r}")
