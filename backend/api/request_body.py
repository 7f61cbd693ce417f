"""The base of every request body: JSON types are taken as they are, and text and
integers are what PostgreSQL can store.

Pydantic's lax mode reads ``"1"`` as 1, ``0`` as false and ``"true"`` as true; a client
sending them has a bug that the API names (422 on the field) instead of guessing around.
Two things JSON Schema allows stay allowed: an integral number such as ``160.0`` is an
integer (``JsonInt``), and an enum arrives as its string value (enum fields declare
``Field(strict=False)``: FastAPI validates the parsed JSON in Python mode, where a strict
enum would want an instance; a lax string enum still refuses anything but its values).

PostgreSQL refuses NUL in text and holds no integer beyond 64 bits; both reached the
database as a 500 before. They are refused here, once for every body, as a 422 naming
the field (pydantic itself refuses a lone surrogate, JSON's ``"\\ud800"``; its 422 is
written by ``backend.api.validation_errors``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


class RequestBody(BaseModel):
    """Strict JSON types for every field; subclasses' own ``model_config`` merges in."""

    model_config = ConfigDict(strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _check_text(value)
        return value


def _check_text(value: object) -> None:
    """Raise on NUL anywhere in ``value`` (strings, lists, dicts)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)


def _integral(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_integral), Field(ge=-(2**63), le=2**63 - 1)]
"""An integer field: JSON integers and integral numbers within 64 bits (a BIGINT column);
booleans and strings refused."""
