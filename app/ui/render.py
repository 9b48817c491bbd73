"""Stored messages and live results → Gradio Chatbot messages. Pure functions, no Gradio import."""

from __future__ import annotations

from typing import Any

from app.backend import usage_of
from app.catalog import Backend, ModelRegistry, ModelSpec, VideoMode
from app.events import TurnResult
from app.i18n import EN, render_record, t
from app.media import MediaLibrary, format_timestamp
from app.status import Availability, StatusMonitor
from app.store import COMPLETE, FAILED, INTERRUPTED, STOPPED, STREAMING, MediaRef, Message

ChatMessage = dict[str, Any]

STATUS_SUFFIX = {STOPPED: "answer.stopped", INTERRUPTED: "answer.interrupted"}

AVAILABILITY_MARK = {
    Availability.READY: "● ready",
    Availability.STARTING: "◐ starting",
    Availability.UNREACHABLE: "○ unreachable",
    Availability.UNCONFIGURED: "○ not configured",
    Availability.UNKNOWN: "… checking",
}


def _size(num_bytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.1f} GB"


def media_caption(ref: MediaRef) -> str:
    if ref.kind == "video":
        length = format_timestamp(ref.duration_s or 0.0)
        return f"🎞 {ref.filename} · {length} · {_size(ref.size_bytes)}"
    return f"🖼 {ref.filename}"


def render_user(message: Message, library: MediaLibrary) -> ChatMessage:
    content: list[dict[str, Any]] = []
    for ref in message.media:
        path, mime = library.display_path(ref.sha256, ref.kind, ref.mime)
        content.append(
            {
                "type": "file",
                "file": {"path": str(path), "mime_type": mime},
                "alt_text": ref.filename,
            }
        )
        if ref.kind == "video":
            content.append({"type": "text", "text": media_caption(ref)})
    if message.text:
        content.append({"type": "text", "text": message.text})
    return {"role": "user", "content": content or ""}


def render_answer(
    result: TurnResult,
    *,
    status: str,
    error: str | None = None,
    model: str | None = None,
    lang: str = EN,
) -> list[ChatMessage]:
    """Thinking as a collapsible block above the answer, notes as a header line."""
    messages: list[ChatMessage] = []
    if result.thinking:
        done = status != STREAMING or bool(result.answer)
        messages.append(
            {
                "role": "assistant",
                "content": result.thinking,
                "metadata": {
                    "title": t("answer.thinking", lang),
                    "status": "done" if done else "pending",
                },
            }
        )
    lines = [f"ℹ️ *{render_record(note, lang)}*" for note in result.notes]
    if result.answer:
        lines.append(result.answer)
    if status == FAILED and error:
        lines.append(f"⚠️ **{render_record(error, lang)}**")
    elif status in STATUS_SUFFIX:
        lines.append(f"*{t(STATUS_SUFFIX[status], lang)}*")
    if status == COMPLETE and result.finish_reason == "length":
        lines.append(f"*{t('answer.cut_at_limit', lang)}*")
    if status == COMPLETE and model:
        usage = result.usage
        tokens = (
            t("answer.tokens", lang, inp=usage.prompt_tokens, out=usage.completion_tokens)
            if usage
            else t("answer.tokens_not_reported", lang)
        )
        lines.append(f"<sub>{model} · {tokens}</sub>")
    if lines:
        messages.append({"role": "assistant", "content": "\n\n".join(lines)})
    elif status == STREAMING and not result.thinking:
        messages.append({"role": "assistant", "content": "…"})
    return messages


def result_of(message: Message) -> TurnResult:
    return TurnResult(
        answer=message.text,
        thinking=message.thinking,
        usage=usage_of(message.usage),
        notes=list(message.notes),
        finish_reason=(message.details or {}).get("finish_reason"),
    )


def render_history(
    messages: list[Message], library: MediaLibrary, lang: str = EN
) -> list[ChatMessage]:
    rendered: list[ChatMessage] = []
    for message in messages:
        if message.role == "user":
            rendered.append(render_user(message, library))
        else:
            rendered.extend(
                render_answer(
                    result_of(message),
                    status=message.status,
                    error=message.error,
                    model=message.model,
                    lang=lang,
                )
            )
    return rendered


def notice(text: str, lang: str = EN) -> ChatMessage:
    """An explanation shown in the chat that is not part of the stored conversation."""
    return {"role": "assistant", "content": f"⚠️ **{t('notice.not_sent', lang)}** — {text}"}


def model_label(spec: ModelSpec, availability: Availability) -> str:
    if not spec.known:
        what = "capabilities unknown"
    elif spec.images:
        what = f"images (≤{spec.max_images})" + (
            ", video" if spec.video is not VideoMode.NONE else ""
        )
    else:
        what = "text only"
    if spec.efforts:
        what += ", effort " + "/".join(spec.efforts)
    return f"{spec.id} — {what} · {AVAILABILITY_MARK[availability]}"


def model_choices(catalog: ModelRegistry, monitor: StatusMonitor) -> list[tuple[str, str]]:
    return [
        (model_label(spec, monitor.model_status(spec.id).availability), spec.id) for spec in catalog
    ]


def backend_banner(monitor: StatusMonitor, local_base_url: str) -> tuple[str, bool]:
    """Plain words on what is configured and reachable, and what to put in `.env` otherwise.

    Returns the Markdown and whether any backend is ready (the page opens the panel if not).
    """
    stepfun = monitor.status(Backend.STEPFUN)
    local = monitor.status(Backend.LOCAL)
    lines = []
    if stepfun.availability is Availability.UNCONFIGURED:
        lines.append(
            "- **StepFun cloud**: not configured. Put `STEP_API_KEY=...` in `.env` and restart "
            "(Step Plan: also `STEP_BASE_URL=https://api.stepfun.com/step_plan/v1`). "
            "/ 未配置：在 `.env` 中填写 `STEP_API_KEY` 后重启。"
        )
    else:
        detail = f" — {stepfun.detail}" if stepfun.detail else ""
        lines.append(f"- **StepFun cloud**: {AVAILABILITY_MARK[stepfun.availability]}{detail}")
    if local.availability is Availability.READY:
        lines.append(f"- **Self-hosted** (`{local_base_url}`): ● ready")
    elif local.availability is Availability.STARTING:
        lines.append(
            f"- **Self-hosted** (`{local_base_url}`): ◐ the model server is starting; "
            "this can take a few minutes. / 模型服务启动中，请稍候。"
        )
    else:
        lines.append(
            f"- **Self-hosted** (`{local_base_url}`): {AVAILABILITY_MARK[local.availability]}. "
            "Start vLLM or SGLang serving Step3-VL-10B there, or set `LOCAL_BASE_URL` in "
            "`.env`. / 本地模型服务不可达：请启动 vLLM/SGLang，"
            "或修改 `.env` 中的 `LOCAL_BASE_URL`。"
        )
    any_ready = Availability.READY in (stepfun.availability, local.availability)
    return "\n".join(lines), any_ready
