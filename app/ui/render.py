"""Stored messages, live results and the model list → what the page shows. Pure functions, no
Gradio import, every word from the string table in the reader's language.

The chat is rendered with each message in its own row (Gradio groups consecutive messages of a
role into one bubble, which breaks editing a question that has images): a question is its
media row and its text row; an answer is its thinking (collapsible), notes, the answer itself,
and a details row (status, model, timing, tokens). CSS makes an answer's rows read as one card.
Copy on the answer row then gives exactly the answer's Markdown.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.backend import usage_of
from app.catalog import Backend, ModelRegistry, ModelSpec, VideoMode
from app.events import TurnResult
from app.i18n import EN, ZH, render_record, t
from app.media import MediaLibrary, format_timestamp
from app.samples import thumbnail_url
from app.status import Availability, StatusMonitor
from app.store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    STOPPED,
    STREAMING,
    Conversation,
    MediaRef,
    Message,
)
from app.templates import templates

ChatMessage = dict[str, Any]
Rendered = tuple[list[ChatMessage], list[int | None]]  # rows, and the stored message of each row

STATUS_LINE = {STOPPED: "answer.stopped", INTERRUPTED: "answer.interrupted"}
AVAILABILITY = {
    Availability.READY: "status.ready",
    Availability.STARTING: "status.starting",
    Availability.UNREACHABLE: "status.unreachable",
    Availability.UNCONFIGURED: "status.unconfigured",
    Availability.UNKNOWN: "status.checking",
}


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def duration(seconds: float, lang: str) -> str:
    """350 ms, 1.2 s; in Chinese always seconds (0.35 秒, 1.2 秒), as Chinese apps write it."""
    if lang == ZH:
        return t("time.s", ZH, n=f"{seconds:.2f}" if seconds < 1 else f"{seconds:.1f}")
    if seconds < 1:
        return t("time.ms", EN, n=round(seconds * 1000))
    return t("time.s", EN, n=f"{seconds:.1f}")


def _size(num_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.1f} GB"


# -- questions ---------------------------------------------------------------------------------
def render_question(message: Message, library: MediaLibrary) -> list[ChatMessage]:
    """A question: a row of its media (if any), then a row of its text (the one Edit works on)."""
    rows: list[ChatMessage] = []
    files: list[dict[str, Any]] = []
    for ref in message.media:
        path, mime = library.display_path(ref.sha256, ref.kind, ref.mime)
        files.append(
            {
                "type": "file",
                "file": {"path": str(path), "mime_type": mime},
                "alt_text": ref.filename,
            }
        )
        if ref.kind == "video":
            files.append({"type": "text", "text": video_caption(ref)})
    if files:
        rows.append({"role": "user", "content": files})
    if message.text or not files:
        rows.append({"role": "user", "content": message.text})
    return rows


def video_caption(ref: MediaRef) -> str:
    length = format_timestamp(ref.duration_s or 0.0)
    return f"<span class='media-caption'>{esc(ref.filename)} · {length} · {_size(ref.size_bytes)}</span>"


# -- answers -----------------------------------------------------------------------------------
def answer_details(result: TurnResult, *, model: str | None, effort: str | None, lang: str) -> str:
    """The line under a finished answer: model, effort, timing, tokens (as far as reported)."""
    parts = [esc(model)] if model else []
    if effort:
        parts.append(t("details.effort", lang, level=t(f"ui.effort.{effort}", lang)))
    timing = result.timing
    if timing is not None:
        if timing.first_token_s is not None:
            parts.append(t("details.first_token", lang, time=duration(timing.first_token_s, lang)))
        parts.append(t("details.total", lang, time=duration(timing.total_s, lang)))
    usage = result.usage
    if usage is None:
        parts.append(t("answer.tokens_not_reported", lang))
    else:
        parts.append(t("answer.tokens", lang, inp=usage.prompt_tokens, out=usage.completion_tokens))
        if usage.reasoning_tokens:
            parts.append(t("details.reasoning", lang, count=usage.reasoning_tokens))
        if usage.cached_tokens:
            parts.append(t("details.cached", lang, count=usage.cached_tokens))
    return " · ".join(parts)


def render_answer(
    result: TurnResult,
    *,
    status: str,
    error: Any = None,
    model: str | None = None,
    effort: str | None = None,
    lang: str = EN,
) -> list[ChatMessage]:
    rows: list[ChatMessage] = []
    if result.thinking:
        done = status != STREAMING or bool(result.answer)
        rows.append(
            {
                "role": "assistant",
                "content": result.thinking,
                "metadata": {
                    "title": t("answer.thinking", lang),
                    "status": "done" if done else "pending",
                },
            }
        )
    if result.notes:
        notes = "".join(f"<div>{esc(render_record(n, lang))}</div>" for n in result.notes)
        rows.append({"role": "assistant", "content": f"<div class='turn-notes'>{notes}</div>"})
    if result.answer:
        rows.append({"role": "assistant", "content": result.answer})
    elif status == STREAMING and not result.thinking:
        rows.append({"role": "assistant", "content": "<span class='typing'>…</span>"})
    end: list[str] = []
    if status == FAILED and error:
        end.append(f"<div class='turn-error'>{esc(render_record(error, lang))}</div>")
    elif status in STATUS_LINE:
        end.append(f"<div class='turn-status'>{esc(t(STATUS_LINE[status], lang))}</div>")
    if status == COMPLETE:
        if result.finish_reason == "length":
            end.append(f"<div class='turn-status'>{esc(t('answer.cut_at_limit', lang))}</div>")
        end.append(
            f"<sub class='answer-details'>"
            f"{esc(answer_details(result, model=model, effort=effort, lang=lang))}</sub>"
        )
    if end:
        rows.append({"role": "assistant", "content": f"<div class='turn-end'>{''.join(end)}</div>"})
    return rows


def result_of(message: Message) -> TurnResult:
    from app.events import Timing

    details = message.details or {}
    timing = None
    if details.get("total_s") is not None:
        timing = Timing(details.get("first_token_s"), details["total_s"])
    return TurnResult(
        answer=message.text,
        thinking=message.thinking,
        usage=usage_of(message.usage),
        notes=list(message.notes),
        finish_reason=details.get("finish_reason"),
        timing=timing,
    )


def render_history(messages: list[Message], library: MediaLibrary, lang: str = EN) -> Rendered:
    rows: list[ChatMessage] = []
    ids: list[int | None] = []
    for message in messages:
        if message.role == "user":
            shown = render_question(message, library)
        else:
            shown = render_answer(
                result_of(message),
                status=message.status,
                error=message.error,
                model=message.model,
                effort=message.effort,
                lang=lang,
            )
        rows += shown
        ids += [message.id] * len(shown)
    return rows, ids


# -- the model picker ----------------------------------------------------------------------------
def model_choices(
    catalog: ModelRegistry, monitor: StatusMonitor, lang: str
) -> list[tuple[str, str]]:
    """The picker's options: the model's id, and a word when it cannot answer now."""
    choices = []
    for spec in catalog:
        availability = monitor.model_status(spec.id).availability
        label = spec.id
        if availability is not Availability.READY:
            label += f" · {t(AVAILABILITY[availability], lang)}"
        choices.append((label, spec.id))
    return choices


def model_badges(spec: ModelSpec | None, availability: Availability | None, lang: str) -> str:
    """What the chosen model can do, as short translated badges."""
    if spec is None:
        return ""
    badges: list[tuple[str, str]] = []
    if not spec.known:
        badges.append(("unknown", t("badge.unknown", lang)))
    elif spec.images:
        badges.append(("images", t("badge.images", lang, count=spec.max_images)))
        if spec.video is VideoMode.NATIVE:
            badges.append(("video", t("badge.video", lang)))
        elif spec.video is VideoMode.FRAMES:
            badges.append(("video", t("badge.video_frames", lang)))
    else:
        badges.append(("text", t("badge.text_only", lang)))
    # Reasoning levels need no badge: the effort control shows them.
    if availability is not None:
        badges.append((f"status {availability.value}", t(AVAILABILITY[availability], lang)))
    chips = "".join(f"<span class='badge {kind}'>{esc(text)}</span>" for kind, text in badges)
    return f"<div class='model-badges'>{chips}</div>"


def backend_banner(monitor: StatusMonitor, local_base_url: str, lang: str) -> tuple[str, bool]:
    """What is configured and reachable, and what to put in `.env` otherwise. Returns the
    Markdown and whether any backend is ready (the page opens the panel if none is)."""
    stepfun, local = monitor.status(Backend.STEPFUN), monitor.status(Backend.LOCAL)
    lines = []
    if stepfun.availability is Availability.UNCONFIGURED:
        lines.append(t("banner.stepfun_unconfigured", lang))
    else:
        detail = f" — {stepfun.detail}" if stepfun.detail else ""
        status = t(AVAILABILITY[stepfun.availability], lang)
        lines.append(t("banner.stepfun", lang, status=status, detail=detail))
    if local.availability is Availability.READY:
        lines.append(t("banner.local_ready", lang, url=local_base_url))
    elif local.availability is Availability.STARTING:
        lines.append(t("banner.local_starting", lang, url=local_base_url))
    else:
        status = t(AVAILABILITY[local.availability], lang)
        lines.append(t("banner.local_down", lang, url=local_base_url, status=status))
    any_ready = Availability.READY in (stepfun.availability, local.availability)
    return "\n".join(f"- {line}" for line in lines), any_ready


# -- the conversation list ----------------------------------------------------------------------
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _group_and_time(when: datetime, now: datetime, lang: str) -> tuple[str, str]:
    days = (now.date() - when.date()).days
    if days <= 0:
        return t("ui.today", lang), when.strftime("%H:%M")
    if days == 1:
        return t("ui.yesterday", lang), when.strftime("%H:%M")
    date = f"{when.month}月{when.day}日" if lang == ZH else when.strftime("%b %-d")
    if when.year != now.year:
        date = f"{when.year}年{date}" if lang == ZH else f"{date}, {when.year}"
    return (t("ui.previous_7", lang) if days < 7 else t("ui.earlier", lang)), date


ICON_RENAME = (
    "<svg viewBox='0 0 24 24' width='15' height='15' aria-hidden='true'><path fill='currentColor' "
    "d='M3 17.25V21h3.75L17.8 9.94l-3.75-3.75L3 17.25zm17.7-10.2a1 1 0 0 0 0-1.41l-2.34-2.34a1 "
    "1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z'/></svg>"
)
ICON_DELETE = (
    "<svg viewBox='0 0 24 24' width='15' height='15' aria-hidden='true'><path fill='currentColor' "
    "d='M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12zM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4z'/></svg>"
)


def conversation_list(
    conversations: list[Conversation],
    current: str | None,
    *,
    lang: str,
    tz: str | None,
    now: float,
    query: str | None = None,
) -> str:
    """The sidebar's list, grouped by day in the browser's time zone (today, yesterday, the
    last week, earlier, with dates), with rename and delete on each row."""
    words = {
        "data-rename": t("ui.rename", lang),
        "data-delete": t("ui.delete", lang),
        "data-confirm": t("ui.delete_confirm", lang),
        "data-cancel": t("ui.cancel", lang),
    }
    attrs = " ".join(f'{k}="{esc(v)}"' for k, v in words.items())
    if not conversations:
        empty = (
            t("ui.no_matches", lang, query=query.strip())
            if query and query.strip()
            else t("ui.no_conversations", lang)
        )
        return f'<div class="conv-list" {attrs}><p class="conv-empty">{esc(empty)}</p></div>'
    local = zone(tz)
    today = datetime.fromtimestamp(now, local)
    out, group = [f'<div class="conv-list" {attrs} role="list">'], None
    for conversation in conversations:
        heading, when = _group_and_time(
            datetime.fromtimestamp(conversation.updated_at, local), today, lang
        )
        if heading != group:
            group = heading
            out.append(f'<div class="conv-group">{esc(heading)}</div>')
        title = conversation.title or t("ui.untitled", lang)
        selected = " selected" if conversation.id == current else ""
        out.append(
            f'<div class="conv-row{selected}" role="listitem" data-id="{esc(conversation.id)}"'
            f' title="{esc(title)}" tabindex="0">'
            f'<span class="conv-title">{esc(title)}</span>'
            f'<span class="conv-time">{esc(when)}</span>'
            f'<span class="conv-actions">'
            f'<button type="button" class="conv-rename" aria-label="{esc(words["data-rename"])}"'
            f' title="{esc(words["data-rename"])}">{ICON_RENAME}</button>'
            f'<button type="button" class="conv-delete" aria-label="{esc(words["data-delete"])}"'
            f' title="{esc(words["data-delete"])}">{ICON_DELETE}</button>'
            f"</span></div>"
        )
    out.append("</div>")
    return "".join(out)


def notice(text: str, lang: str = EN) -> str:
    """A problem with the question being sent, shown above the composer (not stored)."""
    return (
        f"<div class='composer-notice' role='alert'><strong>{esc(t('notice.not_sent', lang))}</strong>"
        f" — {esc(text)}</div>"
    )


def starter_cards(lang: str) -> str:
    """The starter cards of an empty chat: the templates that have sample images, as buttons."""
    cards = []
    for tpl in templates():
        if not tpl.sample:
            continue
        thumbs = "".join(
            f"<img src='{thumbnail_url(name)}' alt='' aria-hidden='true'>" for name in tpl.sample
        )
        cards.append(
            f"<button type='button' class='starter-card' data-template='{esc(tpl.id)}'"
            f" id='starter-{esc(tpl.id)}'><span class='starter-thumbs'>{thumbs}</span>"
            f"<span class='starter-text'>{esc(tpl.title_in(lang))}</span></button>"
        )
    return f"<div class='starter-grid'>{''.join(cards)}</div>"


def effort_choices(spec: ModelSpec | None, lang: str) -> list[tuple[str, str]]:
    return [(t(f"ui.effort.{level}", lang), level) for level in (spec.efforts if spec else ())]


def detail_choices(lang: str) -> list[tuple[str, str]]:
    return [(t("ui.detail.low", lang), "low"), (t("ui.detail.high", lang), "high")]


def sampling_hint(spec: ModelSpec | None, name: str, lang: str) -> str:
    value = spec.sampling_defaults().get(name) if spec else None
    return (
        t("ui.default_value", lang, value=value)
        if value is not None
        else t("ui.server_default", lang)
    )
