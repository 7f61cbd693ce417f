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

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

NO_NUL = "^[^\\u0000]*$"
"""The JSON Schema pattern of strings that state no pattern of their own."""


def state_no_nul(schema: dict[str, Any], exempt: frozenset[str]) -> None:
    """Give ``schema`` (and each option of its ``anyOf``) the NUL rule where it is a
    string with none of the ``exempt`` keys, which already constrain it."""
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("type") == "string" and not exempt & option.keys():
            option["pattern"] = NO_NUL


class RequestBody(BaseModel):
    """Strict JSON types for every field; subclasses' own ``model_config`` merges in."""

    model_config = ConfigDict(strict=True)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """State the NUL rule in the schema too, so clients (and schemathesis) know it."""
        schema = handler(core_schema)
        # A formatted body string (a date-time) fails its own parse on a NUL already.
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            state_no_nul(prop, frozenset({"pattern", "enum", "format"}))
        return schema

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


def integral(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(integral)]
"""An integer field: JSON integers and integral numbers; booleans and strings refused.
Each field states its own bounds (within 64 bits, a BIGINT column): bounds here would
clash with the field's own in the schema."""
