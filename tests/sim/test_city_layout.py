"""The simulated city's coordinates: a deterministic grid, cameras out along approaches."""

from __future__ import annotations

import math

import pytest

from edgeqi.protocol import Location
from sim.city_layout import camera_location, intersection_location

ORIGIN = Location(lat=48.137, lon=11.575)


def _metres(a: Location, b: Location) -> tuple[float, float]:
    north = math.radians(b.lat - a.lat) * 6_371_000
    east = math.radians(b.lon - a.lon) * 6_371_000 * math.cos(math.radians(a.lat))
    return north, east


def test_grid_is_centred_spaced_and_deterministic() -> None:
    pts = [intersection_location(k, 4, ORIGIN, spacing_m=400) for k in range(4)]
    assert pts == [intersection_location(k, 4, ORIGIN, spacing_m=400) for k in range(4)]
    assert len(set(pts)) == 4
    n, e = _metres(pts[0], pts[1])
    assert n == pytest.approx(0, abs=1e-6) and e == pytest.approx(400, rel=1e-4)
    n, e = _metres(pts[0], pts[2])
    assert n == pytest.approx(-400, rel=1e-6) and e == pytest.approx(0, abs=1e-6)
    mean_lat = sum(p.lat for p in pts) / 4
    mean_lon = sum(p.lon for p in pts) / 4
    assert (mean_lat, mean_lon) == pytest.approx((ORIGIN.lat, ORIGIN.lon))


def test_cameras_sit_out_along_their_approach() -> None:
    j = intersection_location(0, 1, ORIGIN)
    assert j == ORIGIN
    n, e = _metres(j, camera_location(j, "N", 40))
    assert (n, e) == pytest.approx((40, 0), abs=1e-6)
    n, e = _metres(j, camera_location(j, "W", 40))
    assert (n, e) == pytest.approx((0, -40), abs=1e-6)


def test_index_outside_the_city_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        intersection_location(4, 4, ORIGIN)
