"""What the store hands out: immutable records, and how notes and errors are kept as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.media import StoredMedia


class MessageStatus(str, Enum):
    def __str__(self) -> str:  # logs and messages show "complete", not "MessageStatus.COMPLETE"
        return self.value

    COMPLETE = "complete"
    STREAMING = "streaming"  # being written; if the process dies it becomes INTERRUPTED at start
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class MediaRef:
    sha256: str
    filename: str
    kind: str
    mime: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None

    @classmethod
    def from_stored(cls, stored: StoredMedia, filename: str | None = None) -> MediaRef:
        """A message's reference to a library file, under the name the person gave it."""
        return cls(
            sha256=stored.sha256,
            filename=filename or stored.filename,
            kind=stored.kind,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            width=stored.width,
            height=stored.height,
            duration_s=stored.duration_s,
        )


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: str
    role: str
    text: str
    thinking: str = ""
    status: MessageStatus = MessageStatus.COMPLETE
    error: str | dict | None = None  # text (older rows), or a string-table record
    model: str | None = None
    effort: str | None = None
    notes: tuple[str | dict, ...] = ()
    usage: dict[str, Any] | None = None  # as the backend reported it; None: not reported
    details: dict[str, Any] | None = None  # finish reason, timing: what the answer footer shows
    media: tuple[MediaRef, ...] = ()
    created_at: float = 0.0


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str
    model: str | None
    effort: str | None
    detail: str
    created_at: float
    updated_at: float
    settings: dict[str, Any] | None = None  # system prompt and sampling, when set


def encode_record(value: str | dict | None) -> str | None:
    """A note or error for a TEXT column: a string-table record as JSON, older text as is."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


def decode_record(value: str | None) -> str | dict | None:
    if value and value.startswith('{"key"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def encode_json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def decode_json(value: str | None) -> Any:
    return json.loads(value) if value else None


def title_from(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
