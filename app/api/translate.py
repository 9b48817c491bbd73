"""Incoming OpenAI `messages` → what goes upstream, through the same media pipeline as the UI.

Data URLs are decoded, validated and normalized (and become Files API uploads for StepFun);
videos become sampled frames for models without native video; http(s) URLs go to StepFun
as they are (it fetches them) and are fetched here, safely, for the self-hosted server.
Thinking text in earlier assistant messages is never sent back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from app.api.errors import ApiError
from app.api.remote_media import RemoteMediaFetcher, RemoteMediaRefused
from app.api.schema import ApiMessage, MediaPart, TextPart
from app.attachments import MediaResolver
from app.catalog import Backend, ModelSpec, VideoMode
from app.engine import TurnRejected, check_text_length
from app.events import Note
from app.janitor import Hold
from app.media import MediaError, MediaLibrary
from app.store import MediaRef

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+/-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(;base64)?,", re.I)


@dataclass
class Translated:
    messages: list[dict[str, Any]]
    images: int = 0
    notes: list[Note] = field(default_factory=list)


def decode_data_url(url: str, where: str) -> bytes:
    match = _DATA_URL.match(url)
    if not match or ";base64," not in url[: match.end()]:
        raise ApiError(400, f"{where}: only base64 data URLs are accepted.", param=where)
    try:
        return base64.b64decode(url[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{where}: the base64 data is not valid.", param=where) from None


class MessageTranslator:
    def __init__(self, library: MediaLibrary, resolver: MediaResolver, fetcher: RemoteMediaFetcher):
        self.library = library
        self.resolver = resolver
        self.fetcher = fetcher

    async def translate(
        self, spec: ModelSpec, messages: tuple[ApiMessage, ...], hold: Hold
    ) -> Translated:
        try:
            check_text_length(
                sum(len(p.text) for m in messages for p in m.parts if isinstance(p, TextPart))
            )
        except TurnRejected as exc:
            raise ApiError(413, str(exc), code="text_too_long") from None
        out = Translated(messages=[])
        for message in messages:
            role = "system" if message.role == "developer" else message.role
            if not message.media:  # text only: a plain string, which every chat template takes
                out.messages.append({"role": role, "content": message.text})
                continue
            parts: list[dict[str, Any]] = []
            for part in message.parts:
                if isinstance(part, TextPart):
                    parts.append({"type": "text", "text": part.text})
                    continue
                media_parts, images, note = await self._media(spec, part, hold)
                parts.extend(media_parts)
                out.images += images
                if note:
                    out.notes.append(note)
            out.messages.append({"role": role, "content": parts})
        if out.images > spec.max_images:
            raise ApiError(
                400,
                f"{spec.id} takes at most {spec.max_images} images per request "
                f"(this request has {out.images}, counting video frames).",
            )
        return out

    async def _media(
        self, spec: ModelSpec, part: MediaPart, hold: Hold
    ) -> tuple[list[dict], int, Note | None]:
        kind, url, where = part.kind, part.url, part.where
        detail = part.detail if part.detail in ("low", "high") else "low"
        if kind == "image_url" and not spec.images:
            raise ApiError(400, f"{spec.id} reads text only; it cannot take images ({where}).")
        if kind == "video_url" and spec.video is VideoMode.NONE:
            raise ApiError(400, f"{spec.id} cannot take videos ({where}).")

        if url.startswith("stepfile://"):
            if spec.backend is not Backend.STEPFUN:
                raise ApiError(400, f"{where}: stepfile:// URLs only work with StepFun models.")
            passthrough = {"url": url, "detail": detail} if kind == "image_url" else {"url": url}
            return [{"type": kind, kind: passthrough}], int(kind == "image_url"), None
        if url.startswith(("http://", "https://")):
            if spec.backend is Backend.STEPFUN:  # StepFun fetches public URLs itself
                passthrough = (
                    {"url": url, "detail": detail} if kind == "image_url" else {"url": url}
                )
                return [{"type": kind, kind: passthrough}], int(kind == "image_url"), None
            try:
                data = await self.fetcher.fetch(url)
            except RemoteMediaRefused as exc:
                raise ApiError(400, f"{where}: {exc}", param=where) from None
            filename = url.rsplit("/", 1)[-1][:80] or "remote"
        elif url.startswith("data:"):
            data = decode_data_url(url, where)
            filename = f"{where}"
        else:
            raise ApiError(400, f"{where}: the url must be http(s), a data: URL or stepfile://.")

        try:
            stored = await asyncio.to_thread(self.library.ingest_bytes, data, filename, hold.add)
        except MediaError as exc:
            raise ApiError(400, f"{where}: {exc}", param=where) from None
        if stored.kind == "video" and kind == "image_url":
            raise ApiError(400, f"{where}: this image_url holds a video; use video_url.")
        if stored.kind == "image" and kind == "video_url":
            raise ApiError(400, f"{where}: this video_url holds an image; use image_url.")
        try:
            resolved = await self.resolver.resolve(spec, MediaRef.from_stored(stored), detail)
        except MediaError as exc:
            raise ApiError(400, f"{where}: {exc}", param=where) from None
        return resolved.parts, resolved.images, resolved.note
