"""Errors in the OpenAI shape, with a status that says whose fault it was."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.backend import STATUS_ERRORS, BackendError
from app.core.problems import TurnRejected
from app.i18n import EN, render_record

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

# What a stored failure (a string-table record, e.g. a batch row's error) was, for the same
# status and code a live request would have had.
KEY_KINDS = {key: kind for kind, key, _ in STATUS_ERRORS.values()} | {
    "backend.context_too_long": "context_length_exceeded",
    "backend.file_gone": "unknown_file",
    "backend.server_error": "server",
    "backend.stream_error": "server",
    "backend.failed": "bad_request",
    "backend.stepfun_unconfigured": "auth",
    "backend.timeout": "timeout",
    "backend.unreachable": "connection",
    "backend.dropped": "dropped",
    "backend.ended_early": "dropped",
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

    @classmethod
    def of_record(cls, error: Any) -> ApiError:
        """The HTTP error a stored failure stands for: a `{key, params}` record of a refusal or
        a backend failure (worded in English), or plain text (a 500: nothing more is known)."""
        if not (isinstance(error, dict) and isinstance(error.get("key"), str)):
            return cls(500, str(error or "The request failed."), code="server_error")
        key, text = error["key"], render_record(error, EN)
        if key in KEY_KINDS:
            kind = KEY_KINDS[key]
            return cls(BACKEND_STATUS.get(kind, 502), text, code=kind)
        status, code = REJECTIONS.get(key, (400, "invalid_request"))
        return cls(status, text, code=code)

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
