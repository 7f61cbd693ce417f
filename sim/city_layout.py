"""Where the simulator's cameras stand: intersections on a grid around an origin.

The operator's city map projects node coordinates, and a simulated city has none of its
own, so this places intersection ``k`` of ``n`` on a square grid of ``spacing_m`` around
``origin`` (row-major, centred) and each camera ``offset_m`` out along the approach it
watches. Pure and deterministic: the same city always lands on the same points.
"""

from __future__ import annotations

import math

from edgeqi.protocol import Location

EARTH_RADIUS_M = 6_371_000.0
APPROACH_BEARING = {"N": (1.0, 0.0), "S": (-1.0, 0.0), "E": (0.0, 1.0), "W": (0.0, -1.0)}
"""Unit (north, east) offsets; a camera on the N approach stands north of its junction."""


def _shift(origin: Location, north_m: float, east_m: float) -> Location:
    """A point ``north_m``/``east_m`` metres from ``origin`` (equirectangular; exact enough
    over a few kilometres, which is all a simulated city spans)."""
    lat = origin.lat + math.degrees(north_m / EARTH_RADIUS_M)
    lon = origin.lon + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(origin.lat))))
    return Location(lat=lat, lon=lon)


def intersection_location(
    index: int, count: int, origin: Location, spacing_m: float = 400.0
) -> Location:
    """Intersection ``index`` of ``count`` on a centred square grid; row 0 is northmost."""
    if not 0 <= index < count:
        raise ValueError(f"intersection {index} outside 0..{count - 1}")
    side = math.ceil(math.sqrt(count))
    row, col = divmod(index, side)
    centre = (side - 1) / 2
    return _shift(origin, (centre - row) * spacing_m, (col - centre) * spacing_m)


def camera_location(junction: Location, approach: str, offset_m: float = 40.0) -> Location:
    """A camera ``offset_m`` out along its approach; unknown approaches sit on the junction."""
    north, east = APPROACH_BEARING.get(approach[:1].upper(), (0.0, 0.0))
    return _shift(junction, north * offset_m, east * offset_m)
