"""Every operation that takes an id in its path is the target of an OpenAPI link from
the response that gives that id, and each link resolves on the live API. Without them
schemathesis's stateful phase guessed relations from field names and sent a silence's
null ``rule_id`` as ``DELETE /api/alerts/rules/None``."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"#/paths/{path.replace('/', '~1')}/{method}": op
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }


def _links(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        link
        for op in _operations(schema).values()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]


def test_every_path_id_has_a_link_that_names_all_its_parameters(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ops = _operations(schema)
    linked = {link["operationRef"]: set(link["parameters"]) for link in _links(schema)}
    assert set(linked) <= set(ops), "a link points at no operation"
    for ref, op in ops.items():
        path_params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        if path_params:
            assert linked.get(ref) == path_params, (
                f"{ref} takes {path_params}, linked {linked.get(ref)}"
            )


def test_a_created_rule_link_leads_to_that_rule(client: TestClient, admin: dict[str, str]) -> None:
    schema = client.get("/openapi.json").json()
    created = schema["paths"]["/api/alerts/rules"]["post"]["responses"]["201"]["links"]
    (put,) = [v for v in created.values() if v["operationRef"].endswith("/put")]
    assert put["parameters"] == {"rule_id": "$response.body#/id"}
    rule = {"name": "hot", "metric": "node.silent_s", "op": ">", "threshold": 60.0}
    made = client.post("/api/alerts/rules", json=rule, headers=admin)
    assert made.status_code == 201, made.text
    rule_id = made.json()[put["parameters"]["rule_id"].rsplit("/", 1)[1]]
    moved = client.put(
        f"/api/alerts/rules/{rule_id}", json={**rule, "threshold": 90.0}, headers=admin
    )
    assert moved.status_code == 200 and moved.json()["threshold"] == 90.0
