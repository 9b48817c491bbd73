"""The owner boundary for files: who may read what under the data directory, and who uploaded what.

Gradio serves any file a page refers to through its file route, and the app serves its stored
media and the page's uploads in place. Everything under `WEBUI_DATA_DIR` is therefore denied by
default, on the normalized path (`..`, `/.`, trailing slashes, percent-encodings and symlinks
resolved), and allowed only when the asker owns it:

- `media/blobs/<xx>/<sha256>.<ext>` and `media/cache/<sha256>-…` (derived forms: normalized
  images, video frames and parts) when one of the asker's messages refers to that media;
- `uploads/…` (Gradio's upload folder) when the asker uploaded that file.

A denied request gets the same 404 as a file that does not exist. Uploads are recorded per owner
as Gradio's upload route answers, so the page can only attach files its own owner sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from pathlib import Path
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.gradio_adapter import UPLOAD_ROUTE, file_route_target
from app.identity import OwnerResolver
from app.store import Store

log = logging.getLogger(__name__)

_SHA = r"(?P<sha>[0-9a-f]{64})"
BLOB = re.compile(rf"^media/blobs/[0-9a-f]{{2}}/{_SHA}\.[a-z0-9]{{1,5}}$")
DERIVED = re.compile(rf"^media/cache/{_SHA}-[^/]+(/[^/]+)?$")
UPLOADS_DIR = "uploads"


def _inside(path: str, root: str) -> str | None:
    """`path` relative to `root` if it lies inside it, else None."""
    if path == root or path.startswith(root + os.sep):
        return os.path.relpath(path, root)
    return None


class FileAccess:
    """Decides whether an owner may read a path; pure apart from the store lookups."""

    def __init__(self, data_dir: Path, store: Store):
        self.roots = {os.path.abspath(data_dir), os.path.realpath(data_dir)}
        self.store = store

    def claim(self, target: str) -> tuple[str, str] | None:
        """(relative path, real path) if `target` points anywhere under the data directory."""
        for candidate in {target, unquote(target)}:
            real = os.path.realpath(candidate)
            for resolved in (os.path.abspath(candidate), real):
                for root in self.roots:
                    relative = _inside(resolved, root)
                    if relative is not None:
                        return relative.replace(os.sep, "/"), real
        return None

    def allowed(self, owner: str | None, relative: str, real: str) -> bool:
        if owner is None or relative.endswith(".json"):
            return False
        match = BLOB.match(relative) or DERIVED.match(relative)
        if match:
            return self.store.media.owned_by(owner, match.group("sha"))
        if relative.startswith(UPLOADS_DIR + "/"):
            return self.store.uploads.owns(owner, real)
        return False


async def _not_found(send: Send) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": b"Not Found"})


class OwnerBoundary:
    """ASGI middleware: file-route requests under the data directory need the asker to own them."""

    def __init__(self, app: ASGIApp, access: FileAccess, owners: OwnerResolver):
        self.app = app
        self.access = access
        self.owners = owners

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = file_route_target(scope.get("path", "")) if scope["type"] == "http" else None
        claim = self.access.claim(target) if target is not None else None
        if claim is not None:
            owner = self.owners(scope)
            if not await asyncio.to_thread(self.access.allowed, owner, *claim):
                await _not_found(send)
                return
        await self.app(scope, receive, send)


class UploadRecorder:
    """ASGI middleware: remember which owner each file arriving through Gradio's upload route
    came from, so a page event can only attach its own owner's uploads."""

    def __init__(self, app: ASGIApp, store: Store, owners: OwnerResolver):
        self.app = app
        self.store = store
        self.owners = owners

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != UPLOAD_ROUTE:
            await self.app(scope, receive, send)
            return
        owner = self.owners(scope)
        status, body = 0, bytearray()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                body.extend(message.get("body", b""))
                if not message.get("more_body") and owner is not None:
                    await asyncio.to_thread(self._record, owner, bytes(body))
            await send(message)

        await self.app(scope, receive, capture)

    def _record(self, owner: str, body: bytes) -> None:
        try:
            paths = json.loads(body)
        except ValueError:
            return
        if isinstance(paths, list):
            self.store.uploads.record(
                owner, [os.path.realpath(p) for p in paths if isinstance(p, str)]
            )
