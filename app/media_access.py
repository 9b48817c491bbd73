"""Stored media are served only to the owners of conversations that show them.

Gradio serves any file it has cached to whoever holds the URL. The chat shows stored media under
their content hash (`<sha256>.<ext>`, or `<sha256>-low.jpg` for formats browsers cannot show), so
a file request with such a name is checked against the store: it is answered only if the asking
browser (its anonymous cookie) or logged-in user has a conversation that refers to the file.
Everything else (an upload being composed, Gradio's own assets) passes through untouched; an
upload whose own name happens to be 64 hex digits only loses its preview thumbnail.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from app.identity import owner_for, request_cookies
from app.store import Store

FILE_ROUTE = "/gradio_api/file="
STORED_NAME = re.compile(r"/([0-9a-f]{64})(?:-low)?\.[A-Za-z0-9]{1,5}$")

UserLookup = Callable[[dict[str, str]], str | None]


def gradio_user_lookup(parent: FastAPI) -> UserLookup:
    """The logged-in Gradio user for a request's cookies (Gradio keeps login tokens in memory)."""
    gradio_app = next(
        (r.app for r in parent.routes if isinstance(r, Mount) and hasattr(r.app, "tokens")), None
    )
    if gradio_app is None:
        raise RuntimeError("the Gradio app is not mounted; mount it before guarding media")

    def lookup(cookies: dict[str, str]) -> str | None:
        cookie_id = gradio_app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        return gradio_app.tokens.get(token) if token else None

    return lookup


class MediaAccessMiddleware:
    def __init__(self, app: ASGIApp, store: Store, user_lookup: UserLookup | None = None):
        self.app = app
        self.store = store
        self.user_lookup = user_lookup

    def allowed(self, scope: Scope, sha256: str) -> bool:
        # Only a conversation of the asker's counts: once they delete it, the URL stops working
        # for them too, even while another owner still keeps the same file.
        cookies = request_cookies(scope)
        username = self.user_lookup(cookies) if self.user_lookup else None
        owners = {owner_for(username, None), owner_for(None, cookies)} - {None}
        return any(self.store.owner_has_media(owner, sha256) for owner in owners)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        match = STORED_NAME.search(path) if path.startswith(FILE_ROUTE) else None
        if match and not self.allowed(scope, match.group(1)):
            # The same answer as for a file that does not exist: nothing to learn from it.
            headers = [(b"content-type", b"text/plain; charset=utf-8")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": b"Not Found"})
            return
        await self.app(scope, receive, send)
