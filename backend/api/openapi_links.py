"""OpenAPI links: which response gives the id that another operation takes in its path.

A client that chains calls (a generated SDK, schemathesis's stateful phase) otherwise
guesses the relations from field names, and a guess takes a silence's nullable
``rule_id`` for a rule id and sends ``DELETE /api/alerts/rules/None``. Stating the
relations makes every chain one the API means: the rule a ``POST`` created is the one a
``PUT`` or ``DELETE`` names, a listed node or round is the one its detail page reads.
"""

from __future__ import annotations

from typing import Any

# (producer path, method, status) -> [(consumer path, method, {path parameter: expression})]
_LINKS: dict[tuple[str, str, str], list[tuple[str, str, dict[str, str]]]] = {
    ("/api/users", "post", "201"): [
        ("/api/users/{user_id}", "patch", {"user_id": "$response.body#/id"}),
        ("/api/users/{user_id}", "delete", {"user_id": "$response.body#/id"}),
    ],
    ("/api/nodes", "get", "200"): [
        ("/api/nodes/{node_id}", "get", {"node_id": "$response.body#/items/0/node_id"}),
    ],
    ("/api/nodes/register", "post", "201"): [
        ("/api/nodes/{node_id}", "get", {"node_id": "$response.body#/node_id"}),
    ],
    ("/api/consensus/rounds", "get", "200"): [
        (
            "/api/consensus/rounds/{cluster}/{view}/{number}",
            "get",
            {
                "cluster": "$response.body#/items/0/cluster",
                "view": "$response.body#/items/0/view",
                "number": "$response.body#/items/0/number",
            },
        ),
    ],
    ("/api/alerts/rules", "post", "201"): [
        ("/api/alerts/rules/{rule_id}", "put", {"rule_id": "$response.body#/id"}),
        ("/api/alerts/rules/{rule_id}", "delete", {"rule_id": "$response.body#/id"}),
    ],
    ("/api/alerts", "get", "200"): [
        ("/api/alerts/{alert_id}/ack", "post", {"alert_id": "$response.body#/items/0/id"}),
    ],
    ("/api/alerts/silences", "post", "201"): [
        (
            "/api/alerts/silences/{silence_id}",
            "delete",
            {"silence_id": "$response.body#/id"},
        ),
    ],
}


def _link_name(path: str, method: str) -> str:
    words = [w.strip("{}") for w in path.removeprefix("/api/").split("/")]
    return method.capitalize() + "".join(w.title().replace("_", "") for w in words)


def _operation_ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def state_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the links to ``schema``, in place and idempotent; a relation whose operation is
    missing raises, so a renamed route cannot leave a link pointing nowhere."""
    paths = schema["paths"]
    for (source, method, code), targets in _LINKS.items():
        response = paths[source][method]["responses"][code]
        links = response.setdefault("links", {})
        for target, target_method, parameters in targets:
            declared = {p["name"] for p in paths[target][target_method].get("parameters", [])}
            if not set(parameters) <= declared:
                raise KeyError(f"{target_method.upper()} {target} lacks {set(parameters)}")
            links[_link_name(target, target_method)] = {
                "operationRef": _operation_ref(target, target_method),
                "parameters": parameters,
            }
    return schema
