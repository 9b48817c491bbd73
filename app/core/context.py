"""A turn's messages → the `messages` of the upstream request.

Every turn re-sends the earlier turns' media (the protocol is stateless). Text-only messages go
as plain strings (text-only chat templates cannot take a list of parts); media go before the
text they belong to. Over a model's per-request image limit, one rule for every skin: the
newest user message's own images must fit (else the turn is refused), and earlier images are
left out oldest first, with a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.catalog import ModelSpec, VideoMode
from app.core.media import MediaResolver, ResolvedMedia
from app.core.problems import TurnRejected
from app.core.request import TurnMessage
from app.events import Note


@dataclass
class BuiltRequest:
    messages: list[dict[str, Any]]
    notes: list[Note] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)  # stepfile ids used, for re-upload


def can_take(spec: ModelSpec, kind: str) -> bool:
    return spec.images if kind == "image" else spec.video is not VideoMode.NONE


def _trim_to_limit(
    resolved: list[list[ResolvedMedia]], limit: int, keep: int
) -> tuple[list[list[ResolvedMedia]], int]:
    """Leave out the oldest media until the image count fits, never those of message `keep`.
    Returns the media kept per message and how many images were left out."""
    total = sum(r.images for media in resolved for r in media)
    dropped = 0
    kept = [list(media) for media in resolved]
    for index, media in enumerate(kept):
        while index != keep and total > limit and any(r.images for r in media):
            victim = next(r for r in media if r.images)
            media.remove(victim)
            total -= victim.images
            dropped += victim.images
    return kept, dropped


def _stepfile_ids(parts: list[dict[str, Any]]) -> list[str]:
    ids = []
    for part in parts:
        for key in ("image_url", "video_url"):
            url = part[key].get("url", "") if key in part else ""
            if url.startswith("stepfile://"):
                ids.append(url.removeprefix("stepfile://"))
    return ids


async def build_request(
    spec: ModelSpec,
    messages: tuple[TurnMessage, ...],
    newest: int,
    detail: str,
    resolver: MediaResolver,
) -> BuiltRequest:
    """`newest` is the index of the message the turn is about (its media were checked)."""
    notes: list[Note] = []
    resolved: list[list[ResolvedMedia]] = []
    skipped = 0
    for message in messages:
        media = []
        for item in message.media:
            if can_take(spec, item.kind):
                media.append(await resolver.resolve(spec, item, item.detail or detail))
            else:
                skipped += 1
        resolved.append(media)

    own_images = sum(r.images for r in resolved[newest]) if resolved else 0
    if spec.images and own_images > spec.max_images:
        raise TurnRejected(
            "model.too_many_images", model=spec.id, limit=spec.max_images, count=own_images
        )
    if skipped:
        notes.append(Note.of("context.skipped_media", count=skipped, model=spec.id))
    if spec.images:
        resolved, dropped = _trim_to_limit(resolved, spec.max_images, newest)
        if dropped:
            notes.append(
                Note.of(
                    "context.dropped_images", count=dropped, model=spec.id, limit=spec.max_images
                )
            )
    if resolved:  # notes about how media were sent: only for this turn's own attachments
        notes.extend(r.note for r in resolved[newest] if r.note)

    built = BuiltRequest(messages=[], notes=notes)
    for message, media in zip(messages, resolved, strict=True):
        parts = [part for r in media for part in r.parts]
        built.file_ids.extend(_stepfile_ids(parts))
        if parts:
            content: Any = (
                [*parts, {"type": "text", "text": message.text}] if message.text else parts
            )
        else:
            content = message.text
        built.messages.append({"role": message.role, "content": content})
    return built
