"""Where a device keeps its detectors and sample media, and how it loads one by name.

The cache (``$EDGEQI_CACHE``, default ``~/.cache/edgeqi``) is filled by ``edgeqi models
prepare`` or ``edgeqi models register`` on the lab side; a field node only reads it. Files
are read here, never in the node core, which gets the model's bytes and its card.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgeqi.perception.card import ModelCard
from edgeqi.perception.detector import ModelError, SsdDetector, YoloDetector, make_detector


def cache_root() -> Path:
    return Path(os.environ.get("EDGEQI_CACHE") or Path.home() / ".cache" / "edgeqi")


def media_path(name: str) -> Path:
    """A prepared sample: ``street.mp4``, ``bus.jpg`` or ``zidane.jpg``."""
    return cache_root() / "media" / name


def model_dir(name: str) -> Path:
    return cache_root() / "models" / name


def read_card(name_or_dir: str | Path) -> tuple[ModelCard, Path]:
    """A model's card and the path of its ONNX file; a clear error naming what is missing."""
    d = Path(name_or_dir)
    if not d.is_dir():
        d = model_dir(str(name_or_dir))
    card_file = d / "card.json"
    if not card_file.is_file():
        raise ModelError(
            f"no model card at {card_file}: run `edgeqi models prepare` "
            "(or `edgeqi models register PATH`)"
        )
    card = ModelCard.model_validate_json(card_file.read_text())
    return card, d / card.file


def load_model_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    return path.read_bytes()


def load_detector(name_or_dir: str | Path, **kw: Any) -> SsdDetector | YoloDetector:
    """Detector for a cached or registered model (the file read here, not in the core)."""
    card, path = read_card(name_or_dir)
    return make_detector(load_model_bytes(path), card, source=str(path), **kw)
