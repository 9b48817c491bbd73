import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.identity import COOKIE_NAME, BrowserIdMiddleware, owner_for


async def whoami(request: Request):
    return JSONResponse({"owner": owner_for(None, dict(request.cookies))})


def client_for_app():
    app = BrowserIdMiddleware(Starlette(routes=[Route("/", whoami)]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_first_visit_gets_a_random_httponly_cookie_and_keeps_it():
    async def scenario():
        async with client_for_app() as client:
            first = await client.get("/")
            cookie = first.headers["set-cookie"]
            assert cookie.startswith(f"{COOKIE_NAME}=")
            for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="):
                assert attribute in cookie
            owner = first.json()["owner"]
            assert owner.startswith("anon:") and len(owner) > 40
            second = await client.get("/")  # the client now sends the cookie back
            assert "set-cookie" not in second.headers
            assert second.json()["owner"] == owner
        async with client_for_app() as other_browser:
            assert (await other_browser.get("/")).json()["owner"] != owner

    asyncio.run(scenario())


def test_other_cookies_survive_and_forged_values_are_replaced():
    async def scenario():
        async with client_for_app() as client:
            client.cookies.set("theme", "dark")
            client.cookies.set(COOKIE_NAME, "short")  # not a valid id: replaced
            response = await client.get("/")
            assert "set-cookie" in response.headers
            owner = response.json()["owner"]
            assert owner.startswith("anon:") and len(owner) > 40

    asyncio.run(scenario())


def test_login_name_wins_over_cookie():
    assert owner_for("alice", {COOKIE_NAME: "x" * 43}) == "user:alice"
    assert owner_for(None, {}) is None
