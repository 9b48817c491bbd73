"""The Chat Completions request, parsed strictly: any client can send anything.

Every malformed body or field becomes a 400 in the OpenAI error shape that names the field,
never a 500: JSON nested too deep, numbers Python will not convert, `NaN`/`Infinity`, lone
surrogates (they cannot be encoded as UTF-8 for the upstream), and values of the wrong type.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from app.api.errors import ApiError

ROLES = ("system", "developer", "user", "assistant")
DETAILS = ("low", "high", "auto")
FLOAT_FIELDS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
INT_FIELDS = ("max_tokens", "max_completion_tokens", "seed")
MAX_STOP_SEQUENCES = 16


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class MediaPart:
    kind: Literal["image_url", "video_url"]
    url: str
    detail: str | None  # as asked ("auto" included); None when not given
    where: str  # e.g. messages[0].content[1], for error messages


Part = TextPart | MediaPart


@dataclass(frozen=True)
class ApiMessage:
    role: str
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def media(self) -> tuple[MediaPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, MediaPart))


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[ApiMessage, ...]
    stream: bool = False
    include_usage: bool = False
    effort: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)


def _bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, code="invalid_request", param=param)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null", parse_constant=_reject_constant)
    except RecursionError:
        raise _bad("The request body is not valid JSON (nested too deeply).") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, over-long integers, NaN/Infinity
        reason = str(exc).split(":")[0] if "digits" in str(exc) or "JSON" in str(exc) else ""
        raise _bad(
            "The request body is not valid JSON." + (f" ({reason})" if reason else "")
        ) from None
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    return body


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{where} must be a string.", where)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(f"{where} contains an invalid character (a lone surrogate).", where) from None
    return value


def _part(raw: Any, role: str, where: str) -> Part:
    if not isinstance(raw, dict):
        raise _bad(f"{where} must be an object.", where)
    kind = raw.get("type")
    if kind == "text":
        return TextPart(_string(raw.get("text"), f"{where}.text"))
    if role == "assistant":
        if kind == "refusal":
            return TextPart(_string(raw.get("refusal"), f"{where}.refusal"))
        raise _bad(f"{where}: an assistant message can only hold text parts.", where)
    if kind in ("image_url", "video_url"):
        body = raw.get(kind)
        if isinstance(body, str):
            body = {"url": body}
        if not isinstance(body, dict):
            raise _bad(f"{where}.{kind} must be an object with a url.", where)
        url = _string(body.get("url"), f"{where}.{kind}.url")
        if not url:
            raise _bad(f"{where}: {kind}.url is missing.", where)
        detail = body.get("detail")
        if detail is not None and detail not in DETAILS:
            raise _bad(f"{where}.{kind}.detail must be one of {', '.join(DETAILS)}.", where)
        return MediaPart(kind, url, detail, where)
    raise _bad(f"{where}: unsupported part type {str(kind)[:40]!r}.", where)


def _message(raw: Any, index: int) -> ApiMessage:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise _bad(f"{where} must be an object.", where)
    role = raw.get("role")
    if role not in ROLES:
        raise _bad(f"{where}.role {str(role)[:40]!r} is not supported.", f"{where}.role")
    content = raw.get("content")
    if content is None:
        return ApiMessage(role, ())
    if isinstance(content, str):
        return ApiMessage(role, (TextPart(_string(content, f"{where}.content")),))
    if not isinstance(content, list):
        raise _bad(f"{where}.content must be a string or a list.", f"{where}.content")
    parts = tuple(
        _part(part, role, f"{where}.content[{number}]") for number, part in enumerate(content)
    )
    return ApiMessage(role, parts)


def _number(body: dict, name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    numeric = kind is float and isinstance(value, int | float)
    if isinstance(value, bool) or not (numeric or isinstance(value, int)):
        raise _bad(
            f"{name} must be a number." if kind is float else f"{name} must be an integer.", name
        )
    if kind is float:
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise _bad(f"{name} must be a finite number.", name)
    if kind is int and name != "seed" and value < 1:
        raise _bad(f"{name} must be at least 1.", name)
    return value


def _stop(value: Any) -> str | list[str] | None:
    if value is None or isinstance(value, str):
        return value if value is None else _string(value, "stop")
    if isinstance(value, list) and len(value) <= MAX_STOP_SEQUENCES:
        return [_string(item, f"stop[{i}]") for i, item in enumerate(value)]
    raise _bad(f"stop must be a string or a list of at most {MAX_STOP_SEQUENCES} strings.", "stop")


def parse_chat_request(body: dict[str, Any]) -> ChatRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model is required.", "model")
    _string(model, "model")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise _bad("messages must be a list.", "messages")
    if not raw_messages:
        raise _bad("messages must not be empty.", "messages")
    messages = tuple(_message(raw, index) for index, raw in enumerate(raw_messages))
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise _bad("stream must be true or false.", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise _bad("stream_options must be an object.", "stream_options")
    effort = body.get("reasoning_effort")
    if effort is not None:
        effort = _string(effort, "reasoning_effort")
    sampling: dict[str, Any] = {}
    for name in FLOAT_FIELDS:
        sampling[name] = _number(body, name, float)
    for name in INT_FIELDS:
        sampling[name] = _number(body, name, int)
    sampling["stop"] = _stop(body.get("stop"))
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(stream),
        include_usage=options.get("include_usage") is True,
        effort=effort,
        sampling={k: v for k, v in sampling.items() if v is not None},
    )
