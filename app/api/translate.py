"""A parsed Chat Completions request → the turn core's request. Translation only: the checks,
media intake and the rules for what goes upstream are the core's, the same as for the page."""

from __future__ import annotations

import base64
import binascii
import re

from app.api.errors import ApiError
from app.api.schema import ChatRequest, MediaPart
from app.core import MediaInput, TurnMessage, TurnRequest

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+/-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(;base64)?,", re.I)


def decode_data_url(url: str, where: str) -> bytes:
    match = _DATA_URL.match(url)
    if not match or ";base64," not in url[: match.end()]:
        raise ApiError(400, f"{where}: only base64 data URLs are accepted.", param=where)
    try:
        return base64.b64decode(url[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{where}: the base64 data is not valid.", param=where) from None


def media_input(part: MediaPart) -> MediaInput:
    kind = "image" if part.kind == "image_url" else "video"
    detail = part.detail if part.detail in ("low", "high") else None
    if part.url.startswith("data:"):
        data = decode_data_url(part.url, part.where)
        return MediaInput(kind, part.where, data=data, detail=detail)
    return MediaInput(kind, part.where, url=part.url, detail=detail)


def turn_request(chat: ChatRequest, *, cloud_allowed: bool) -> TurnRequest:
    messages = tuple(
        TurnMessage(
            "system" if message.role == "developer" else message.role,  # type: ignore[arg-type]
            message.text,
            tuple(media_input(part) for part in message.media),
        )
        for message in chat.messages
    )
    return TurnRequest(
        model_id=chat.model,
        messages=messages,
        effort=chat.effort,
        sampling=chat.sampling,
        stream=chat.stream,
        cloud_allowed=cloud_allowed,
    )
