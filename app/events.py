"""Typed events of one streamed answer: the engine yields them, the UI and the API render them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.i18n import EN, record, render_record


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class AnswerDelta:
    text: str


@dataclass(frozen=True)
class AnswerWasThinking:
    """A lone `</think>` arrived: everything streamed as answer so far was really thinking."""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None

    def as_openai(self) -> dict:
        body: dict = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cached_tokens is not None:
            body["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.reasoning_tokens is not None:
            body["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return body


@dataclass(frozen=True)
class Finished:
    """The upstream stream ended normally."""

    finish_reason: str = "stop"


@dataclass(frozen=True)
class Note:
    """Something the person should know about how their turn was sent (shown above the answer).

    A string-table record, so it is worded in the reader's language when shown.
    """

    record: dict[str, Any]

    @classmethod
    def of(cls, key: str, /, **params: Any) -> Note:
        return cls(record(key, **params))

    def text(self, lang: str = EN) -> str:
        return render_record(self.record, lang)


@dataclass(frozen=True)
class Timing:
    """How long the answer took: to its first text (None if none came) and in all, in seconds."""

    first_token_s: float | None
    total_s: float

    def as_dict(self) -> dict[str, float | None]:
        first = round(self.first_token_s, 3) if self.first_token_s is not None else None
        return {"first_token_s": first, "total_s": round(self.total_s, 3)}


StreamEvent = ThinkingDelta | AnswerDelta | AnswerWasThinking | Usage | Finished


@dataclass
class TurnResult:
    """What one answer amounted to, accumulated from the events (stored as it completes)."""

    answer: str = ""
    thinking: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)  # string-table records
    timing: Timing | None = None

    def copy(self) -> TurnResult:
        """A snapshot to save while this one keeps growing."""
        return replace(self, notes=list(self.notes))

    def details(self) -> dict[str, Any]:
        """What is stored with the answer besides its text: how it ended and how long it took."""
        details: dict[str, Any] = {"finish_reason": self.finish_reason}
        if self.timing is not None:
            details.update(self.timing.as_dict())
        return details

    def add(self, event: StreamEvent | Note | Timing) -> None:
        if isinstance(event, AnswerDelta):
            self.answer += event.text
        elif isinstance(event, ThinkingDelta):
            self.thinking += event.text
        elif isinstance(event, AnswerWasThinking):
            self.thinking += self.answer
            self.answer = ""
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finished):
            self.finish_reason = event.finish_reason
        elif isinstance(event, Note):
            self.notes.append(event.record)
        elif isinstance(event, Timing):
            self.timing = event
