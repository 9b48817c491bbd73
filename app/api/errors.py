"""Errors in the OpenAI shape, with a status that says whose fault it was."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from app.backend import BackendError
from app.core.problems import TurnRejected

# Upstream failures become 502/503/504 (the backend failed, not the client); a rate limit stays
# 429 so clients back off, and an upstream "bad request" is the client's input: 400.
BACKEND_STATUS = {
    "rate_limited": 429,
    "bad_request": 400,
    "moderation": 400,
    "not_found": 502,
    "auth": 502,
    "no_balance": 502,
    "server": 502,
    "dropped": 502,
    "unknown_file": 502,
    "overloaded": 503,
    "connection": 503,
    "timeout": 504,
    "context_length_exceeded": 400,
}

# The turn core's refusals (string-table keys) that are not a plain 400, with their code.
REJECTIONS = {
    "text.too_long": (413, "text_too_long"),
    "model.unknown": (404, "model_not_found"),
    "model.cloud_needs_key": (401, "cloud_model_needs_key"),
    "model.starting": (503, "starting"),
    "model.not_served": (503, "model_not_served"),
    "model.unconfigured": (503, "model_not_configured"),
}

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, code: str | None = None, param: str | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param

    @classmethod
    def of(cls, exc: BackendError | TurnRejected) -> ApiError:
        """The HTTP error for a backend failure or a refusal of the turn core (in English)."""
        if isinstance(exc, BackendError):
            return cls(BACKEND_STATUS.get(exc.kind, 502), str(exc), code=exc.kind)
        status, code = REJECTIONS.get(exc.key, (400, "invalid_request"))
        return cls(status, str(exc), code=code)

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": ERROR_TYPES.get(
                    self.status, "upstream_error" if self.status >= 500 else "invalid_request_error"
                ),
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self, headers: dict | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)
