"""Schemathesis against the OpenAPI schema, every check: the API answers only what its
OpenAPI document declares (status codes, content types, bodies), never a 5xx.

Operations are driven one by one from their Hypothesis strategies (schemathesis's
pytest loader does not run under this pytest version), with the admin's token.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings

from tests.backend import factory as f
from tests.backend.conftest import ADMIN, token_for

pytestmark = pytest.mark.slow

EXAMPLES = 20


def test_every_check_passes_on_every_operation(client: TestClient) -> None:
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    for m in (f.detections("cam-1", 1), f.heartbeat("cam-1", 2), f.consensus("cam-1", 3)):
        rt.bus.publish(*f.wire(m))
    rt.ingestor.flush()
    headers = token_for(client, *ADMIN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @seed(0)
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers)  # no ``checks``: all of them

        run()
