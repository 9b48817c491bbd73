"""Downloads for the page (conversation exports, batch results, batch thumbnails), served only
to the owner who asks.

Built on request from the store, streamed straight to the browser: nothing is staged on disk,
so there is no copy for anyone else to fetch and nothing to clean up.
"""

from __future__ import annotations

import asyncio
import io
import re
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from PIL import Image, ImageOps

from app.exports import export_json, export_markdown_zip
from app.i18n import language_of
from app.identity import OwnerResolver
from app.services import Services

EXPORTS = {
    "json": (export_json, "application/json"),
    "zip": (export_markdown_zip, "application/zip"),
}

BATCH_FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}
SHA256 = re.compile(r"[0-9a-f]{64}")
THUMB_PX = 112  # twice the size shown (56 px), for sharp thumbnails on high-density screens


def not_found() -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain")


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
            return not_found()
        build, media_type = EXPORTS[fmt]
        try:
            name, data = await asyncio.to_thread(
                build, services.store, services.library, owner, conversation_id
            )
        except KeyError:  # not this owner's, or no such conversation: the same answer
            return not_found()
        return Response(
            data,
            media_type=media_type,
            headers={"Content-Disposition": attachment_header(name), "Cache-Control": "no-store"},
        )

    @router.get("/download/batches/{job_id}.{fmt}")
    async def batch_results(job_id: str, fmt: str, request: Request) -> Response:
        """A batch job's results as CSV (in the asker's language, Excel-ready) or JSONL."""
        owner = owners(request.scope)
        service = services.batch
        if owner is None or fmt not in BATCH_FORMATS:
            return not_found()
        if fmt == "csv":
            lang = language_of(request.headers.get("accept-language"))
            built = await asyncio.to_thread(service.csv_bytes, owner, job_id, lang)
        else:
            built = await asyncio.to_thread(service.jsonl_bytes, owner, job_id)
        if built is None:  # not this owner's, or no such job: the same answer
            return not_found()
        name, data = built
        return Response(
            data,
            media_type=BATCH_FORMATS[fmt],
            headers={"Content-Disposition": attachment_header(name), "Cache-Control": "no-store"},
        )

    @router.get("/thumbs/{sha256}.jpg")
    async def thumbnail(sha256: str, request: Request) -> Response:
        """A small JPEG of a stored image for the batch results table, for an owner whose
        messages or batch rows refer to it (the same check as the file route's)."""
        owner = owners(request.scope)
        if owner is None or not SHA256.fullmatch(sha256):
            return not_found()
        data = await asyncio.to_thread(_thumbnail, services, owner, sha256)
        if data is None:
            return not_found()
        # Content-addressed: the same hash is the same picture, so the browser may keep it.
        return Response(
            data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
        )

    return router


def _thumbnail(services: Services, owner: str, sha256: str) -> bytes | None:
    if not services.store.media.owned_by(owner, sha256):
        return None
    stored = services.library.describe(sha256)
    if stored is None or stored.kind != "image":
        return None
    path, _mime = services.library.display_path(sha256, stored.kind, stored.mime)
    try:
        with Image.open(path) as image:
            image.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))  # JPEG: decode at a fraction
            image = ImageOps.exif_transpose(image)
            image.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return out.getvalue()
