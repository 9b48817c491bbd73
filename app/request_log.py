"""One log line per API request: id, method, path, model, status, duration. No secrets, no bodies."""

from __future__ import annotations

import logging
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("webui.requests")
LOGGED_PREFIXES = ("/api/", "/healthz")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(LOGGED_PREFIXES):
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            model = scope.get("state", {}).get("model", "-")
            log.info(
                "request id=%s %s %s model=%s status=%s %.0fms",
                request_id,
                scope.get("method"),
                path,
                model,
                status,
                (time.perf_counter() - started) * 1000,
            )
