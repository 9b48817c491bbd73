"""The OpenAI-compatible HTTP API, mounted under /api/v1 on the same server as the UI."""

from app.api.errors import ApiError
from app.api.routes import build_api_router

__all__ = ["ApiError", "build_api_router"]
