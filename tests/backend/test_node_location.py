"""The node registry keeps where each node is (migration 0007), on both dialects.

A later heartbeat without a place (an old node, or a field node whose node.yaml names
none) must not erase the place a previous one gave: the map would lose the camera.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.core.db import make_engine
from backend.core.orm import Node
from backend.ingest.ingestor import Ingestor
from backend.ingest.store import Store
from edgeqi.protocol import Location
from tests.backend import factory as f
from tests.backend.test_api import Headers, ingest


def test_registry_stores_location_and_keeps_it_across_unplaced_heartbeats(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        ingestor = Ingestor(Store(engine))
        placed = f.heartbeat("cam-9", 1).model_copy(
            update={
                "location": Location(lat=-33.87, lon=151.21),
                "intersection": "i3",
                "approach": "W",
            }
        )
        ingestor.submit(*f.wire(placed), received_at=f.T0 + 1)
        ingestor.flush()
        ingestor.submit(*f.wire(f.heartbeat("cam-9", 2, ts=f.T0 + 30)), received_at=f.T0 + 31)
        ingestor.flush()
        with engine.connect() as conn:
            row = conn.execute(
                select(Node.lat, Node.lon, Node.approach, Node.intersection).where(
                    Node.node_id == "cam-9"
                )
            ).one()
        assert tuple(row) == (-33.87, 151.21, "W", "i3")
    finally:
        engine.dispose()


def test_nodes_api_exposes_location_typed_and_null_for_unplaced(
    client: TestClient, admin: Headers
) -> None:
    placed = f.heartbeat("cam-5", 1).model_copy(
        update={"location": Location(lat=40.0, lon=-3.7), "intersection": "i1", "approach": "S"}
    )
    ingest(client, placed, f.heartbeat("cam-6", 1))
    items = {n["node_id"]: n for n in client.get("/api/nodes", headers=admin).json()["items"]}
    assert items["cam-5"]["location"] == {"lat": 40.0, "lon": -3.7}
    assert items["cam-5"]["approach"] == "S" and items["cam-5"]["intersection"] == "i1"
    assert items["cam-6"]["location"] is None and items["cam-6"]["approach"] is None
    detail = client.get("/api/nodes/cam-5", headers=admin).json()["node"]
    assert detail["location"] == {"lat": 40.0, "lon": -3.7}
