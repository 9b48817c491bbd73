"""Export a conversation as JSON (lossless, media embedded) or Markdown (zip with media alongside),
and import the JSON back. Exports carry no API keys and no server paths.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from dataclasses import asdict
from typing import Any

from app.media import MediaError, MediaLibrary
from app.store import Conversation, MediaRef, Message, Store

FORMAT = "vlm-webui.conversation"
VERSION = 1
MAX_IMPORT_BYTES = 1024 * 1024 * 1024


class ImportRejected(ValueError):
    """The file is not a conversation this app exported; str() says why."""


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
    conversation = store.get_conversation(owner, conversation_id)
    if conversation is None:
        raise KeyError(conversation_id)
    return conversation, store.messages(owner, conversation_id)


def import_json(store: Store, library: MediaLibrary, owner: str, data: bytes) -> Conversation:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRejected("The file is too large to import.")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ImportRejected("This is not a JSON conversation export.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ImportRejected("This JSON file is not a conversation exported by this app.")
    if document.get("version") != VERSION:
        raise ImportRejected(f"Unsupported export version {document.get('version')!r}.")
    messages = []
    try:
        for raw in document["messages"]:
            media = []
            for entry in raw.get("media", []):
                blob = base64.b64decode(entry["data_base64"], validate=True)
                stored = library.ingest_bytes(blob, entry.get("filename") or "file")
                media.append(MediaRef.from_stored(stored, entry.get("filename")))
            if raw["role"] not in ("user", "assistant"):
                raise ValueError("role")
            messages.append((raw, media))
    except MediaError as exc:
        raise ImportRejected(f"An attachment in the export is not usable: {exc}") from None
    except (KeyError, TypeError, ValueError):
        raise ImportRejected("The export is damaged or incomplete.") from None
    return store.import_conversation(
        owner,
        title=str(document.get("title") or "Imported conversation"),
        model=document.get("model"),
        effort=document.get("effort"),
        detail=document.get("detail") or "low",
        messages=messages,
    )
