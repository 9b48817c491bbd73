"""Bearer keys for /api/v1, compared in constant time; never logged."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from app.api.errors import ApiError
from app.config import Settings


def authorized(settings: Settings, request: Request) -> bool:
    """True when a valid key was presented; raises 401 when keys are set and none matched."""
    if not settings.api_keys:
        return False
    token = _bearer(request)
    if token:
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


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def caller(settings: Settings, request: Request) -> tuple[str, bool]:
    """(owner, has_key) of an API request, for what it stores (files, batches).

    The owner is a digest of the key it presented (never the key itself): each key sees only
    its own things. Without configured keys the API is open; a token still separates callers
    (whoever knows a token shares its files), and no token at all is one shared owner.
    """
    has_key = authorized(settings, request)
    token = _bearer(request)
    if not token:
        return "api:anonymous", has_key
    return "api:" + hashlib.sha256(token.encode()).hexdigest()[:32], has_key
