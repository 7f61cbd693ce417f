"""The base of every request body: JSON types are taken as they are.

Pydantic's lax mode reads ``"1"`` as 1, ``0`` as false and ``"true"`` as true; a client
sending them has a bug that the API names (422 on the field) instead of guessing around.
Two things JSON Schema allows stay allowed: an integral number such as ``160.0`` is an
integer (``JsonInt``), and an enum arrives as its string value (enum fields declare
``Field(strict=False)``: FastAPI validates the parsed JSON in Python mode, where a strict
enum would want an instance; a lax string enum still refuses anything but its values).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict


class RequestBody(BaseModel):
    """Strict JSON types for every field; subclasses' own ``model_config`` merges in."""

    model_config = ConfigDict(strict=True)


def _integral(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_integral)]
"""An integer field: JSON integers and integral numbers; booleans and strings refused."""
