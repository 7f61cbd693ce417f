"""The 422 answer to a body that fails validation, safe for any input it echoes.

FastAPI's own handler echoes each error's ``input`` and encodes the answer as UTF-8; a
lone surrogate sent as JSON's ``"\\ud800"`` cannot be encoded, so the refusal itself
crashed into a 500. This one writes the same ``{"detail": [...]}`` with ASCII escapes.
"""

from __future__ import annotations

import json

from fastapi import Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError


async def validation_failed(request: Request, exc: Exception) -> Response:
    """``{"detail": errors}`` as FastAPI writes it, in ASCII so any input survives."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else [str(exc)]
    body = json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True)
    return Response(body, status.HTTP_422_UNPROCESSABLE_CONTENT, media_type="application/json")
