"""Power sensors behind one interface: ``read() -> PowerReading``.

Where the watts come from, per board:

- Jetson Nano (L4T 32): the on-module INA3221 through the ``ina3221x`` IIO driver
  (``rail_name_N``, ``in_power{N}_input`` in mW), or ``tegrastats``;
- Jetson Xavier NX / Orin (L4T 35+): the INA3221 through the kernel hwmon driver
  (``in{N}_label``, ``in{N}_input`` in mV, ``curr{N}_input`` in mA), or ``tegrastats``;
- Raspberry Pi: an INA219 on the supply line, through the ``ina2xx`` hwmon driver
  (``power1_input`` in µW) or read over I2C directly (:class:`Ina219I2C`).

Units follow the kernel's hwmon sysfs ABI (Documentation/hwmon/sysfs-interface.rst).
A battery's state of charge comes from ``/sys/class/power_supply/*/capacity``.
Every reader takes the filesystem root or the bus as an argument, so tests replay a
recorded tree or recorded register words.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hardware.tegrastats import INPUT_RAILS, TegraSample

INA_HWMON = ("ina3221", "ina219", "ina226", "ina230", "ina231")


@dataclass(frozen=True, slots=True)
class PowerReading:
    """Board input power in watts, per-rail watts, and battery state of charge (0-1)."""

    watts: float
    rails: dict[str, float] = field(default_factory=dict)
    soc: float | None = None


class PowerSensor(Protocol):
    """Anything that can say how much power the board draws right now."""

    def read(self) -> PowerReading: ...


def _total(rails: dict[str, float]) -> float:
    for name in INPUT_RAILS:
        if name in rails:
            return rails[name]
    return sum(rails.values())


def _num(path: Path) -> float | None:
    try:
        return float(path.read_text().strip())
    except (OSError, ValueError):
        return None


def battery_soc(root: Path = Path("/")) -> float | None:
    """State of charge of the first battery the kernel reports, 0-1 (``None``: none)."""
    base = root / "sys/class/power_supply"
    for supply in sorted(base.glob("*")) if base.is_dir() else []:
        kind = (supply / "type").read_text().strip() if (supply / "type").exists() else ""
        capacity = _num(supply / "capacity")
        if kind == "Battery" and capacity is not None:
            return capacity / 100
    return None


def hwmon_rails(root: Path = Path("/")) -> dict[str, float]:
    """Watts per rail from INA32xx / INA2xx hwmon devices and the Nano's IIO driver."""
    rails: dict[str, float] = {}
    for dev in sorted((root / "sys/class/hwmon").glob("hwmon*")):
        name = (dev / "name").read_text().strip() if (dev / "name").exists() else ""
        if name not in INA_HWMON:
            continue
        if name == "ina3221":
            for ch in (1, 2, 3):
                mv, ma = _num(dev / f"in{ch}_input"), _num(dev / f"curr{ch}_input")
                if mv is None or ma is None:
                    continue
                label_file = dev / f"in{ch}_label"
                label = label_file.read_text().strip() if label_file.exists() else f"ch{ch}"
                rails[label] = mv * ma / 1e6
        else:
            uw = _num(dev / "power1_input")
            if uw is None:
                mv, ma = _num(dev / "in1_input"), _num(dev / "curr1_input")
                uw = None if mv is None or ma is None else mv * ma
            if uw is not None:
                rails[f"{name}:{dev.name}"] = uw / 1e6
    for dev in sorted((root / "sys/bus/i2c/drivers/ina3221x").glob("*/iio:device*")):
        for rail_file in sorted(dev.glob("rail_name_*")):
            mw = _num(dev / f"in_power{rail_file.name.rsplit('_', 1)[1]}_input")
            if mw is not None:
                rails[rail_file.read_text().strip()] = mw / 1000
    return rails


class SysfsPower:
    """INA3221 / INA219 rails through the kernel drivers, plus the battery if any."""

    def __init__(self, root: Path = Path("/")) -> None:
        self.root = root
        if not hwmon_rails(root):
            raise FileNotFoundError(f"no INA power monitor under {root / 'sys'}")

    def read(self) -> PowerReading:
        rails = hwmon_rails(self.root)
        return PowerReading(_total(rails), rails, battery_soc(self.root))


class SMBus(Protocol):
    """The part of ``smbus2.SMBus`` an INA219 needs."""

    def read_word_data(self, i2c_addr: int, register: int) -> int: ...


class Ina219I2C:
    """An INA219 read over I2C without its kernel driver (e.g. a Pi HAT on bus 1).

    Current is the shunt voltage (register 1, signed, 10 µV per bit) over the shunt
    resistance, so no calibration register is needed; bus voltage is register 2
    (bits 15-3, 4 mV per bit). The chip sends the high byte first and SMBus words
    arrive low byte first, hence the swap (TI datasheet SBOS448, section 8.6).
    """

    def __init__(self, bus: SMBus, address: int = 0x40, shunt_ohms: float = 0.1) -> None:
        self.bus, self.address, self.shunt_ohms = bus, address, shunt_ohms

    def _register(self, reg: int) -> int:
        word = self.bus.read_word_data(self.address, reg)
        return ((word & 0xFF) << 8) | (word >> 8)

    def read(self) -> PowerReading:
        shunt = self._register(0x01)
        shunt_v = (shunt - 0x10000 if shunt & 0x8000 else shunt) * 10e-6
        bus_v = (self._register(0x02) >> 3) * 4e-3
        watts = bus_v * shunt_v / self.shunt_ohms
        return PowerReading(watts, {"ina219": watts})


class TegrastatsPower:
    """The latest ``tegrastats`` sample's input power, read by a background thread."""

    def __init__(self, source: Iterator[TegraSample]) -> None:
        self._latest: TegraSample | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._pump, args=(source,), daemon=True)
        self._thread.start()

    def _pump(self, source: Iterator[TegraSample]) -> None:
        for sample in source:
            if sample.input_w is not None:
                self._latest = sample
                self._ready.set()

    @property
    def latest(self) -> TegraSample | None:
        """The newest sample (loads and temperatures for the heartbeat), ``None`` before one."""
        return self._latest

    def read(self) -> PowerReading:
        if not self._ready.wait(timeout=5):
            raise TimeoutError("tegrastats printed no power figure within 5 s")
        sample = self._latest
        assert sample is not None
        rails = {name: cur / 1000 for name, (cur, _) in sample.rails_mw.items()}
        return PowerReading(_total(rails), rails)


class RecordedIna219Bus:
    """Replays recorded INA219 register words as an SMBus would return them, in time.

    The file has one sample per line, ``SHUNT_WORD BUS_WORD`` (registers 0x01 and 0x02
    as ``read_word_data`` returned them, ``#`` comments allowed); the sample served is the
    one the recording was at after the time elapsed since the replay started, looping.
    """

    def __init__(
        self, path: Path, interval_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.samples: list[tuple[int, int]] = []
        for raw in path.read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                shunt, bus = line.split()
                self.samples.append((int(shunt, 0), int(bus, 0)))
        if not self.samples:
            raise ValueError(f"{path}: no INA219 samples")
        self.interval_s = interval_s
        self.clock = clock
        self.started = clock()

    def read_word_data(self, i2c_addr: int, register: int) -> int:
        index = int((self.clock() - self.started) / self.interval_s) % len(self.samples)
        shunt, bus = self.samples[index]
        if register == 0x01:
            return shunt
        if register == 0x02:
            return bus
        raise OSError(f"register 0x{register:02x} not in the recording")
