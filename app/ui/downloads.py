"""Downloads for the page (conversation exports), served only to the owner who asks.

Built on request from the store, streamed straight to the browser: nothing is staged on disk,
so there is no copy for anyone else to fetch and nothing to clean up.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from app.exports import export_json, export_markdown_zip
from app.identity import OwnerResolver
from app.services import Services

EXPORTS = {
    "json": (export_json, "application/json"),
    "zip": (export_markdown_zip, "application/zip"),
}


def export_url(conversation_id: str, fmt: str) -> str:
    """Relative, so it also works when a reverse proxy serves the page under a path prefix."""
    return f"download/conversations/{quote(conversation_id, safe='')}.{fmt}"


def attachment_header(filename: str) -> str:
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def build_download_router(services: Services, owners: OwnerResolver) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/download/conversations/{conversation_id}.{fmt}")
    async def conversation_export(conversation_id: str, fmt: str, request: Request) -> Response:
        owner = owners(request.scope)
        if owner is None or fmt not in EXPORTS:
            return Response("Not Found", status_code=404, media_type="text/plain")
        build, media_type = EXPORTS[fmt]
        try:
            name, data = await asyncio.to_thread(
                build, services.store, services.library, owner, conversation_id
            )
        except KeyError:  # not this owner's, or no such conversation: the same answer
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(
            data,
            media_type=media_type,
            headers={"Content-Disposition": attachment_header(name), "Cache-Control": "no-store"},
        )

    return router
