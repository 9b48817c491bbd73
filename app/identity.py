"""Who is asking: a login name when WEBUI_AUTH is set, else an anonymous browser id.

The anonymous id lives in a long-lived, random, HttpOnly, SameSite=Lax cookie set by a small
ASGI middleware, so it survives page refreshes and server restarts (Gradio's session hash
changes on every page load, and BrowserState was seen losing its value).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "vlm_webui_id"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
NO_COOKIE_PREFIXES = ("/api/", "/healthz")
_VALID = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def new_browser_id() -> str:
    return secrets.token_urlsafe(32)


def valid_browser_id(value: str | None) -> bool:
    return bool(value and _VALID.match(value))


def owner_for(username: str | None, cookies: dict[str, str] | None) -> str | None:
    """The owner key for stored conversations, or None when the request carries no identity."""
    if username:
        return f"user:{username}"
    browser_id = (cookies or {}).get(COOKIE_NAME)
    if valid_browser_id(browser_id):
        return f"anon:{browser_id}"
    return None


class OwnerResolver:
    """Who owns a raw ASGI request: the logged-in user when logins are on, else the browser.

    With `WEBUI_AUTH` an anonymous cookie counts for nothing: only a valid login does.
    """

    def __init__(self, login_lookup: Callable[[dict[str, str]], str | None] | None = None):
        self.login_lookup = login_lookup

    def __call__(self, scope: Scope) -> str | None:
        cookies = request_cookies(scope)
        if self.login_lookup is not None:
            username = self.login_lookup(cookies)
            return owner_for(username, None) if username else None
        return owner_for(None, cookies)


def request_cookies(scope: Scope) -> dict[str, str]:
    """The cookies of an ASGI request; none at all if the header does not parse."""
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return {}
    return {key: morsel.value for key, morsel in jar.items()}


def _cookie_from_scope(scope: Scope) -> str | None:
    browser_id = request_cookies(scope).get(COOKIE_NAME)
    return browser_id if valid_browser_id(browser_id) else None


class BrowserIdMiddleware:
    """Give every browser a stable anonymous id on its first request."""

    def __init__(self, app: ASGIApp, secure: bool = False):
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # API clients and health checks get no cookie: they are not browsers.
        if (
            scope["type"] != "http"
            or scope.get("path", "").startswith(NO_COOKIE_PREFIXES)
            or _cookie_from_scope(scope)
        ):
            await self.app(scope, receive, send)
            return
        browser_id = new_browser_id()
        # The handler of this very request must see the id too.
        ours = f"{COOKIE_NAME}={browser_id}".encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"cookie"]
        existing = [v for k, v in scope.get("headers", []) if k == b"cookie"]
        headers.append((b"cookie", b"; ".join([*existing, ours])))
        scope = {**scope, "headers": headers}
        cookie = (
            f"{COOKIE_NAME}={browser_id}; Max-Age={COOKIE_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax"
            + ("; Secure" if self.secure else "")
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())],
                }
            await send(message)

        await self.app(scope, receive, send_with_cookie)
