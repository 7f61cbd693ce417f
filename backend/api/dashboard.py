"""Dashboard state kept on the server: site settings, per-user layout, web-vitals.

Site settings are shared by everyone and only operators and admins may change them;
each user (viewers included) owns their overview layout. Web-vitals reported by the
browsers are kept in a bounded in-memory ring per replica and summarised on request,
so first-load performance can be read back from the service itself.
"""

from __future__ import annotations

import json
import statistics
from collections import deque
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.api.deps import DB, Operator, Viewer
from backend.api.request_body import JsonInt, RequestBody
from backend.core.auth import Role
from backend.core.db import now_ms
from backend.core.orm import DashboardSettings

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])

WIDGET_ID = r"^[a-z][a-z0-9_-]{0,31}$"
VITALS_KEPT = 2000


class SiteSettings(RequestBody):
    """Shared dashboard settings (defaults apply until someone saves).

    Strict JSON types (``backend.api.request_body``): ``false`` is not 0, yet ``160.0``
    is still the integer 160 and ``5`` the float 5.0, as JSON Schema reads them."""

    model_config = ConfigDict(extra="forbid")

    site_name: str = Field(default="EDGE-QI", min_length=1, max_length=64)
    default_range_min: JsonInt = Field(default=60, ge=1, le=60 * 24 * 90)
    live_points: JsonInt = Field(default=120, ge=10, le=2000)
    status_poll_s: float = Field(default=5.0, ge=1.0, le=600.0)
    low_battery_soc: float = Field(default=0.2, ge=0.0, le=1.0)


class LayoutItem(RequestBody):
    """One overview widget's cell on a 12-column grid."""

    model_config = ConfigDict(extra="forbid")

    i: str = Field(pattern=WIDGET_ID)
    x: JsonInt = Field(ge=0, le=11)
    y: JsonInt = Field(ge=0, le=1000)
    w: JsonInt = Field(ge=1, le=12)
    h: JsonInt = Field(ge=1, le=40)


class UserPrefs(RequestBody):
    """A user's own overview layout and hidden widgets."""

    model_config = ConfigDict(extra="forbid")

    layout: Annotated[list[LayoutItem], Field(max_length=32)] = Field(default_factory=list)
    hidden: Annotated[list[Annotated[str, Field(pattern=WIDGET_ID)]], Field(max_length=32)] = Field(
        default_factory=list
    )


class SettingsOut(BaseModel):
    site: SiteSettings
    user: UserPrefs
    can_edit_site: bool


class Vital(RequestBody):
    """One web-vitals measurement as the ``web-vitals`` library reports it."""

    name: Literal["TTFB", "FCP", "LCP", "CLS", "INP", "FID", "load"]
    value: float = Field(ge=0, le=1e7, allow_inf_nan=False)
    rating: Literal["good", "needs-improvement", "poor"] | None = None
    page: str = Field(default="/", max_length=256)


class VitalRecord(Vital):
    """A kept measurement: who reported it and when the server received it."""

    user: str
    at_ms: int


class VitalSummary(BaseModel):
    count: int
    median: float
    p75: float
    max: float


class VitalsOut(BaseModel):
    summary: dict[str, VitalSummary] = Field(description="per metric name")
    items: list[VitalRecord] = Field(description="the newest 200, oldest first")


def _load(db: Session, scope: str) -> dict[str, Any]:
    row = db.get(DashboardSettings, scope)
    return {} if row is None else dict(json.loads(row.data))


def _save(db: Session, scope: str, data: dict[str, Any], who: str) -> None:
    row = db.get(DashboardSettings, scope)
    if row is None:
        row = DashboardSettings(scope=scope, data="{}", updated_ms=0, updated_by=who)
        db.add(row)
    row.data = json.dumps(data)
    row.updated_ms = now_ms()
    row.updated_by = who
    db.commit()


@router.get("/settings", response_model=SettingsOut)
def get_settings(db: DB, who: Viewer) -> SettingsOut:
    """The site settings, the caller's layout, and whether the caller may edit the site."""
    return SettingsOut(
        site=SiteSettings.model_validate(_load(db, "site")),
        user=UserPrefs.model_validate(_load(db, f"user:{who.username}")),
        can_edit_site=who.role.rank >= Role.OPERATOR.rank,
    )


@router.put("/settings/site", response_model=SiteSettings)
def put_site(body: SiteSettings, db: DB, who: Operator) -> SiteSettings:
    """Replace the site settings (operators and admins only)."""
    _save(db, "site", body.model_dump(), who.username)
    return body


@router.put("/settings/user", response_model=UserPrefs)
def put_user(body: UserPrefs, db: DB, who: Viewer) -> UserPrefs:
    """Replace the caller's own layout; every role may arrange its own overview."""
    _save(db, f"user:{who.username}", body.model_dump(), who.username)
    return body


def _ring(request: Request) -> deque[dict[str, Any]]:
    ring: deque[dict[str, Any]] | None = getattr(request.app.state, "vitals", None)
    if ring is None:
        ring = request.app.state.vitals = deque(maxlen=VITALS_KEPT)
    return ring


@router.post("/vitals", status_code=status.HTTP_204_NO_CONTENT)
def post_vitals(
    body: Annotated[list[Vital], Field(max_length=50)], request: Request, who: Viewer
) -> None:
    """Record measurements sent by the dashboard (kept in memory, newest last)."""
    ring = _ring(request)
    at = now_ms()
    for v in body:
        ring.append({**v.model_dump(), "user": who.username, "at_ms": at})


@router.get("/vitals", response_model=VitalsOut)
def get_vitals(request: Request, _: Viewer) -> dict[str, Any]:
    """Recent measurements and, per metric, count, median, 75th percentile and max."""
    items = list(_ring(request))
    summary: dict[str, dict[str, float]] = {}
    for name in sorted({i["name"] for i in items}):
        values = sorted(i["value"] for i in items if i["name"] == name)
        summary[name] = {
            "count": len(values),
            "median": statistics.median(values),
            "p75": values[min(len(values) - 1, int(0.75 * len(values)))],
            "max": values[-1],
        }
    return {"summary": summary, "items": items[-200:]}
