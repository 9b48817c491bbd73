"""Export a conversation as JSON (lossless, media embedded) or Markdown (zip with media alongside),
and import the JSON back. Exports carry no API keys and no server paths.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from app.i18n import Problem
from app.media import MediaError, MediaLibrary
from app.store import Conversation, MediaRef, Message, MessageStatus, Store

FORMAT = "vlm-webui.conversation"
VERSION = 1
MAX_IMPORT_BYTES = 1024 * 1024 * 1024


class ImportRejected(Problem, ValueError):
    """The file is not a conversation this app exported; the text says why.

    `new_media` are the files this import added to the library before it failed: nothing refers
    to them, and the caller discards them once it no longer holds them.
    """

    new_media: tuple[str, ...] = ()


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "file"
    return cleaned[:80]


def _message_dict(message: Message, media_entry) -> dict[str, Any]:
    return {
        "role": message.role,
        "text": message.text,
        "thinking": message.thinking,
        "status": message.status,
        "error": message.error,
        "model": message.model,
        "effort": message.effort,
        "notes": list(message.notes),
        "usage": message.usage,
        "details": message.details,
        "created_at": message.created_at,
        "media": [media_entry(ref) for ref in message.media],
    }


def export_json(
    store: Store, library: MediaLibrary, owner: str, conversation_id: str
) -> tuple[str, bytes]:
    conversation, messages = _load(store, owner, conversation_id)

    def media_entry(ref: MediaRef) -> dict[str, Any]:
        entry = {k: v for k, v in asdict(ref).items()}
        entry["data_base64"] = base64.b64encode(library.blob_path(ref.sha256).read_bytes()).decode()
        return entry

    document = {
        "format": FORMAT,
        "version": VERSION,
        "title": conversation.title,
        "model": conversation.model,
        "effort": conversation.effort,
        "detail": conversation.detail,
        "settings": conversation.settings,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "messages": [_message_dict(m, media_entry) for m in messages],
    }
    body = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    return f"{_safe_name(conversation.title or 'conversation')}.json", body


def export_markdown_zip(
    store: Store, library: MediaLibrary, owner: str, conversation_id: str
) -> tuple[str, bytes]:
    conversation, messages = _load(store, owner, conversation_id)
    lines = [f"# {conversation.title or 'Conversation'}", ""]
    if conversation.model:
        lines += [f"*Model: {conversation.model}*", ""]
    buffer = io.BytesIO()
    written: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for message in messages:
            lines.append("## " + ("You" if message.role == "user" else "Assistant"))
            lines.append("")
            for ref in message.media:
                name = f"media/{ref.sha256[:12]}-{_safe_name(ref.filename)}"
                if name not in written:
                    archive.write(library.blob_path(ref.sha256), name)
                    written.add(name)
                lines.append(
                    f"![{ref.filename}]({name})"
                    if ref.kind == "image"
                    else f"[{ref.filename}]({name})"
                )
                lines.append("")
            if message.thinking:
                quoted = "\n".join("> " + line for line in message.thinking.splitlines())
                lines += ["<details><summary>Thinking</summary>", "", quoted, "", "</details>", ""]
            for note in message.notes:
                lines += [f"*{note}*", ""]
            if message.text:
                lines += [message.text, ""]
            if message.error:
                lines += [f"**Error:** {message.error}", ""]
        archive.writestr("conversation.md", "\n".join(lines))
    return f"{_safe_name(conversation.title or 'conversation')}.zip", buffer.getvalue()


def _load(store: Store, owner: str, conversation_id: str) -> tuple[Conversation, list[Message]]:
    conversation = store.conversations.get(owner, conversation_id)
    if conversation is None:
        raise KeyError(conversation_id)
    return conversation, store.messages.list(owner, conversation_id)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("not text")
    return value


def _optional_text(value: Any) -> str | None:
    return _text(value) or None


def _optional_dict(value: Any) -> dict | None:
    if value is not None and not isinstance(value, dict):
        raise ValueError("not an object")
    return value or None


def _status(value: Any) -> MessageStatus:
    try:
        status = MessageStatus(_text(value) or "complete")
    except ValueError:
        raise ValueError("status") from None
    # An export taken while an answer was still streaming holds only part of it.
    return MessageStatus.INTERRUPTED if status is MessageStatus.STREAMING else status


def _clean_message(raw: Any, media: list[MediaRef]) -> Message:
    """One exported message, each field checked for its type (the file is untrusted)."""
    if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
        raise ValueError("message")
    notes = raw.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str | dict) for n in notes):
        raise ValueError("notes")
    error = raw.get("error")
    created = raw.get("created_at")
    return Message(
        id=0,
        conversation_id="",
        role=raw["role"],
        text=_text(raw.get("text")),
        thinking=_text(raw.get("thinking")),
        status=_status(raw.get("status")),
        error=error if isinstance(error, dict) else _optional_text(error),
        model=_optional_text(raw.get("model")),
        effort=_optional_text(raw.get("effort")),
        notes=tuple(notes),
        usage=_optional_dict(raw.get("usage")),
        details=_optional_dict(raw.get("details")),
        media=tuple(media),
        created_at=float(created) if isinstance(created, int | float) else 0.0,
    )


def unused_title(title: str, taken: set[str]) -> str:
    """`title`, or `title (2)`, `(3)`… so an imported copy never looks like the original."""
    if title not in taken:
        return title
    number = 2
    while f"{title} ({number})" in taken:
        number += 1
    return f"{title} ({number})"


def import_json(
    store: Store,
    library: MediaLibrary,
    owner: str,
    data: bytes,
    hold: Callable[[str], None] | None = None,
) -> Conversation:
    """Store an exported conversation as a new one of `owner`'s, all or nothing."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRejected("import.too_large")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ImportRejected("import.not_json") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ImportRejected("import.not_ours")
    if document.get("version") != VERSION:
        raise ImportRejected("import.version", version=str(document.get("version"))[:20])
    messages = []
    ingested: list[str] = []
    try:
        try:
            raw_messages = document["messages"]
            if not isinstance(raw_messages, list):
                raise ValueError("messages")
            for raw in raw_messages:
                if not isinstance(raw, dict):
                    raise ValueError("message")
                media = []
                entries = raw.get("media") or []
                if not isinstance(entries, list):
                    raise ValueError("media")
                for entry in entries:
                    if not isinstance(entry, dict) or not isinstance(entry.get("data_base64"), str):
                        raise ValueError("media entry")
                    name = entry.get("filename") if isinstance(entry.get("filename"), str) else ""
                    blob = base64.b64decode(entry["data_base64"], validate=True)
                    stored = library.ingest_bytes(blob, name or "file", hold)
                    if stored.new:
                        ingested.append(stored.sha256)
                    media.append(MediaRef.from_stored(stored, name or None))
                messages.append(_clean_message(raw, media))
            now = time.time()
            conversation = Conversation(
                id="",
                owner=owner,
                title=unused_title(
                    _text(document.get("title"))[:200], store.conversations.titles(owner)
                ),
                model=_optional_text(document.get("model")),
                effort=_optional_text(document.get("effort")),
                detail=document.get("detail")
                if document.get("detail") in ("low", "high")
                else "low",
                created_at=now,
                updated_at=now,
                settings=_optional_dict(document.get("settings")),
            )
            return store.import_conversation(owner, conversation, messages)
        except MediaError as exc:
            raise ImportRejected("import.bad_attachment", why=exc.as_record()) from None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ImportRejected("import.damaged") from None
    except ImportRejected as exc:
        exc.new_media = tuple(ingested)
        raise
