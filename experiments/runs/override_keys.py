"""Misspelled override keys, refused with a "did you mean" instead of Hydra's advice.

Hydra answers ``workload.base_rate_veh_per_hr=5`` with "To append to your config use
+workload.base_rate_veh_per_hr=5", which the scenario validation then refuses as an
unknown key: two messages, neither naming the key that was meant. This module checks
each ``key=value`` override against the keys of the config it would change (composed
with the same group choices) and names the closest existing keys (difflib).
"""

from __future__ import annotations

import difflib
from importlib import resources
from typing import Any

from hydra import compose, initialize_config_module
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from sim.scenario_config import ConfigError

_ABSENT = object()


def config_groups() -> set[str]:
    """The option groups of the scenario tree (a directory each under ``scenarios/``)."""
    root = resources.files("scenarios")
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")}


def flat_keys(node: Any, prefix: str = "") -> list[str]:
    """Every dotted key of a nested mapping, parents included."""
    keys: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{prefix}{k}"
            keys.append(key)
            keys.extend(flat_keys(v, f"{key}."))
    return keys


def unknown_keys(overrides: list[str]) -> list[str]:
    """One line per ``key=value`` override whose key the composed config lacks, with the
    closest existing keys; empty when every key exists (or the overrides cannot be parsed,
    which Hydra then reports in its own words)."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return []
    groups = config_groups()
    choices = [
        o.input_line
        for o in parsed
        if o.key_or_group in groups and not o.is_sweep_override() and o.input_line is not None
    ]
    try:
        with initialize_config_module(config_module="scenarios", version_base="1.3"):
            cfg = compose(config_name="config", overrides=choices)
    except HydraException:
        return []
    known = flat_keys(OmegaConf.to_container(cfg, resolve=False))
    problems = []
    for o in parsed:
        key = o.key_or_group
        if o.is_add() or o.is_delete() or o.is_force_add() or o.package is not None:
            continue
        if key in groups or key == "hydra" or key.startswith("hydra."):
            continue
        if _present(cfg, key):
            continue
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        if close:
            problems.append(f"  {key}: no such key; did you mean {' or '.join(close)}?")
        else:
            problems.append(
                f"  {key}: no such key in the composed config (`edgeqi run --cfg job` lists them)"
            )
    return problems


def _present(cfg: DictConfig, key: str) -> bool:
    return OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False) is not _ABSENT


def check_override_keys(overrides: list[str]) -> None:
    """Raise :class:`ConfigError` naming every unknown key and what it probably meant."""
    problems = unknown_keys(overrides)
    if problems:
        raise ConfigError("unknown configuration key:\n" + "\n".join(problems))
