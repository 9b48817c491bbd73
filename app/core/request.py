"""What the page, the HTTP API and batch jobs ask of the turn core, in one shape.

A skin translates its own input (Gradio values, OpenAI JSON, a batch row) into a `TurnRequest`:
the whole context, oldest first, the newest user message last. Media come as stored library
media, as bytes not yet stored (a data URL), or as a URL for the backend to fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from app.store import MediaRef

MediaKind = Literal["image", "video"]


@dataclass(frozen=True)
class MediaInput:
    kind: MediaKind
    name: str  # how notes and errors name it: the file name, or where it was in the request
    ref: MediaRef | None = None  # already in the media library
    data: bytes | None = None  # to be stored first
    url: str | None = None  # stepfile:// or http(s)
    detail: str | None = None  # this item's own detail level (the API's per-part `detail`)


@dataclass(frozen=True)
class TurnMessage:
    role: Literal["system", "user", "assistant"]
    text: str = ""
    media: tuple[MediaInput, ...] = ()


@dataclass(frozen=True)
class TurnRequest:
    model_id: str | None
    messages: tuple[TurnMessage, ...]
    effort: str | None = None
    detail: str = "low"
    sampling: Mapping[str, Any] = field(default_factory=dict)
    stream: bool = True  # stream from the backend (False: one response, e.g. for usage)
    cloud_allowed: bool = True  # the HTTP API without a key may not spend the StepFun key

    @property
    def newest_user(self) -> int | None:
        """Index of the message this turn is about: the last user message."""
        return next(
            (i for i in range(len(self.messages) - 1, -1, -1) if self.messages[i].role == "user"),
            None,
        )
