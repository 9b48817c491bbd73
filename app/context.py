"""Stored conversation → the `messages` of the next request.

Every turn re-sends the earlier turns' media (the protocol is stateless), newest kept first
when the model's per-request image limit is hit. Earlier thinking is never sent back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.attachments import MediaResolver, ResolvedMedia
from app.catalog import ModelSpec, VideoMode
from app.events import Note
from app.store import COMPLETE, INTERRUPTED, STOPPED, Message

SENDABLE_ANSWERS = (COMPLETE, STOPPED, INTERRUPTED)


@dataclass
class BuiltRequest:
    messages: list[dict[str, Any]]
    notes: list[Note] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)  # stepfile ids used, for re-upload


def _can_take(spec: ModelSpec, kind: str) -> bool:
    return spec.images if kind == "image" else spec.video is not VideoMode.NONE


def _trim_to_limit(
    resolved: list[list[ResolvedMedia]], limit: int
) -> tuple[list[list[ResolvedMedia]], int]:
    """Drop the oldest media until the image count fits; returns kept media and images dropped."""
    total = sum(r.images for turn in resolved for r in turn)
    dropped = 0
    kept = [list(turn) for turn in resolved]
    for turn in kept:
        while total > limit and any(r.images for r in turn):
            victim = next(r for r in turn if r.images)
            turn.remove(victim)
            total -= victim.images
            dropped += victim.images
        if total <= limit:
            break
    return kept, dropped


def _stepfile_ids(parts: list[dict[str, Any]]) -> list[str]:
    ids = []
    for part in parts:
        for key in ("image_url", "video_url"):
            url = part.get(key, {}).get("url", "") if key in part else ""
            if url.startswith("stepfile://"):
                ids.append(url.removeprefix("stepfile://"))
    return ids


async def build_request(
    spec: ModelSpec,
    history: list[Message],
    detail: str,
    resolver: MediaResolver,
    system_prompt: str | None = None,
) -> BuiltRequest:
    notes: list[Note] = []
    turns: list[tuple[str, str]] = []
    resolved: list[list[ResolvedMedia]] = []
    skipped = 0
    for message in history:
        if message.role == "assistant":
            if message.status in SENDABLE_ANSWERS and message.text.strip():
                turns.append(("assistant", message.text))
                resolved.append([])
            continue
        media = []
        for ref in message.media:
            if _can_take(spec, ref.kind):
                media.append(await resolver.resolve(spec, ref, detail))
            else:
                skipped += 1
        turns.append(("user", message.text))
        resolved.append(media)

    if skipped:
        notes.append(Note.of("context.skipped_media", count=skipped, model=spec.id))
    if spec.images:
        resolved, dropped = _trim_to_limit(resolved, spec.max_images)
        if dropped:
            notes.append(
                Note.of(
                    "context.dropped_images", count=dropped, model=spec.id, limit=spec.max_images
                )
            )
    if resolved:  # notes about how media were sent: only for this turn's attachments
        notes.extend(r.note for r in resolved[-1] if r.note)

    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    file_ids: list[str] = []
    for (role, text), media in zip(turns, resolved, strict=True):
        parts = [part for r in media for part in r.parts]
        file_ids.extend(_stepfile_ids(parts))
        if parts:
            content: Any = [*parts, {"type": "text", "text": text}] if text else parts
        else:
            content = text
        previous = messages[-1] if messages else None
        if previous is not None and previous["role"] == role:
            # Two user turns in a row (an answer failed): merge, since many chat templates
            # insist on alternating roles.
            previous["content"] = _as_parts(previous["content"]) + _as_parts(content)
        else:
            messages.append({"role": role, "content": content})
    return BuiltRequest(messages=messages, notes=notes, file_ids=file_ids)


def _as_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content)
