"""Bearer keys for /api/v1, compared in constant time; never logged."""

from __future__ import annotations

import hmac

from fastapi import Request

from app.api.errors import ApiError
from app.config import Settings


def authorized(settings: Settings, request: Request) -> bool:
    """True when a valid key was presented; raises 401 when keys are set and none matched."""
    if not settings.api_keys:
        return False
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        presented = token.encode()
        matches = [hmac.compare_digest(presented, key.encode()) for key in settings.api_keys]
        if any(matches):
            return True
    raise ApiError(
        401,
        "Missing or wrong API key: send 'Authorization: Bearer <key>' with one of the keys in "
        "WEBUI_API_KEYS.",
        code="invalid_api_key",
    )
