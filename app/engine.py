"""Conversations: a person's question stored, its answer streamed by the turn core and stored.

Knows nothing about Gradio or HTTP. A turn has two steps so the page can show the question at
once and keep the composer intact when something is wrong: `prepare_turn` runs the core's
checks, stores the attachments and the question (raising `TurnRejected` before anything is
stored or sent); `stream_answer` builds the context from the stored conversation, runs the core
and saves the answer as it grows, also when it is stopped or fails. Store calls run in a
thread: nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.backend import BackendError
from app.catalog import ModelSpec
from app.config import Settings
from app.core import MediaInput, TurnCore, TurnMessage, TurnRejected, TurnRequest
from app.core.problems import check_text_length
from app.events import Note, StreamEvent, Timing, TurnResult
from app.i18n import Problem
from app.janitor import Hold, Janitor
from app.media import MediaError, MediaLibrary
from app.store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    STOPPED,
    STREAMING,
    Conversation,
    MediaRef,
    Message,
    MessageStatus,
    Store,
)

log = logging.getLogger(__name__)

SAVE_EVERY_S = 1.0  # partial answers reach the database at least this often
SENDABLE_ANSWERS = (COMPLETE, STOPPED, INTERRUPTED)
SYSTEM_PROMPT_MAX_CHARS = 20_000
# A conversation's own sampling settings and their allowed ranges.
SAMPLING_RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "max_tokens": (1, 1_000_000)}


def clean_settings(raw: Any) -> dict[str, Any]:
    """A conversation's settings as stored: a system prompt and sampling values, each checked
    (the page sends them, and any client can send anything). Unset values are left out."""
    if not isinstance(raw, dict):
        raise TurnRejected("settings.invalid")
    settings: dict[str, Any] = {}
    prompt = raw.get("system_prompt")
    if prompt is not None:
        if not isinstance(prompt, str) or len(prompt) > SYSTEM_PROMPT_MAX_CHARS:
            raise TurnRejected("settings.invalid")
        if prompt.strip():
            settings["system_prompt"] = prompt.strip()
    for name, (low, high) in SAMPLING_RANGES.items():
        value = raw.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TurnRejected("settings.invalid")
        if not low <= value <= high:
            raise TurnRejected("settings.out_of_range", name=name, low=low, high=high)
        settings[name] = int(value) if isinstance(low, int) else float(value)
    return settings


@dataclass(frozen=True)
class Attachment:
    path: Path
    filename: str


@dataclass(frozen=True)
class TurnFailed:
    """The answer failed; `error` is worded in the reader's language when shown."""

    error: Problem
    retryable: bool = True

    def text(self, lang: str = "en") -> str:
        return self.error.text(lang)


@dataclass
class PreparedTurn:
    owner: str
    conversation: Conversation
    user_message: Message
    spec: ModelSpec
    effort: str | None
    detail: str
    result: TurnResult = field(default_factory=TurnResult)


EngineEvent = StreamEvent | Note | Timing | TurnFailed


def media_inputs(refs: Sequence[MediaRef]) -> tuple[MediaInput, ...]:
    return tuple(MediaInput(kind=r.kind, name=r.filename, ref=r) for r in refs)  # type: ignore[arg-type]


def context_of(history: Sequence[Message], question_id: int) -> tuple[list[TurnMessage], int]:
    """The stored conversation up to question `question_id`, as the core's messages.

    A question that got no usable answer (it failed, or was stopped before any text) is left
    out of later turns, its answer too: it never merges into the next question, so a failed
    turn cannot poison the conversation. Earlier thinking is never sent back. Returns the
    messages and how many unanswered questions directly before this one were left out.
    """
    messages: list[TurnMessage] = []
    skipped_just_before = 0
    for index, message in enumerate(history):
        if message.id == question_id:
            messages.append(TurnMessage("user", message.text, media_inputs(message.media)))
            break
        if message.role == "assistant":
            continue
        answer = history[index + 1] if index + 1 < len(history) else None
        answered = (
            answer is not None
            and answer.role == "assistant"
            and answer.status in SENDABLE_ANSWERS
            and answer.text.strip()
        )
        if not answered:
            skipped_just_before += 1
            continue
        skipped_just_before = 0
        messages.append(TurnMessage("user", message.text, media_inputs(message.media)))
        messages.append(TurnMessage("assistant", answer.text))
    return messages, skipped_just_before


class ChatEngine:
    def __init__(
        self,
        settings: Settings,
        core: TurnCore,
        store: Store,
        library: MediaLibrary,
        janitor: Janitor,
    ):
        self.settings = settings
        self.core = core
        self.store = store
        self.library = library
        self.janitor = janitor
        self.accepting = True
        self._cut_off = False  # the shutdown grace is over: what is still in flight is lost
        self._in_flight: dict[int, TurnResult] = {}  # answer id → its result so far
        self._idle = asyncio.Event()
        self._idle.set()

    # -- shutdown ----------------------------------------------------------------------------------
    def stop_accepting(self) -> None:
        """Shutdown begins: new turns are refused; answers in flight may still finish."""
        self.accepting = False

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no answer is streaming (True), or give up after `timeout` (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def save_interrupted(self) -> int:
        """The grace is over: save every answer still in flight as interrupted, for good."""
        self._cut_off = True
        in_flight = list(self._in_flight.items())
        for message_id, result in in_flight:
            self._save(message_id, result, status=INTERRUPTED)
        return len(in_flight)

    # -- step 1 ------------------------------------------------------------------------------------
    def default_model(self, conversation: Conversation | None = None) -> str | None:
        """The model the page preselects: the conversation's, the configured default, else the
        first ready one."""
        return self.core.default_model(
            (conversation.model if conversation else None, self.settings.default_model)
        )

    def _ingest(self, attachments: Sequence[Attachment], hold: Hold) -> list[MediaRef]:
        limit = self.settings.max_upload_mb * 1024 * 1024
        refs = []
        for attachment in attachments:
            try:
                stored = self.library.ingest_file(
                    attachment.path, attachment.filename, max_bytes=limit, hold=hold.add
                )
            except MediaError as exc:
                raise TurnRejected(exc.key, **exc.params) from None
            except OSError:
                raise TurnRejected("upload.unreadable", name=attachment.filename) from None
            refs.append(MediaRef.from_stored(stored, attachment.filename))
        return refs

    async def prepare_turn(
        self,
        *,
        owner: str,
        conversation_id: str | None,
        text: str,
        attachments: Sequence[Attachment] = (),
        model_id: str | None,
        effort: str | None,
        detail: str = "low",
        settings: dict[str, Any] | None = None,
    ) -> PreparedTurn:
        """`settings` apply when this question starts a new conversation."""
        if not self.accepting:
            raise TurnRejected("server.restarting")
        settings = clean_settings(settings or {})
        text = text.strip()
        if not text and not attachments:
            raise TurnRejected("turn.empty")
        check_text_length(len(text))
        conversation = (
            await asyncio.to_thread(self.store.conversations.get, owner, conversation_id)
            if conversation_id
            else None
        )
        spec, effort, detail = self._choices(conversation, model_id, effort, detail)
        with self.janitor.hold() as hold:  # until the message refers to them
            refs = await asyncio.to_thread(self._ingest, attachments, hold)
            self.core.check_media(spec, media_inputs(refs))
            conversation, message = await asyncio.to_thread(
                self._store_question,
                owner,
                conversation,
                spec,
                effort,
                detail,
                text,
                refs,
                settings,
            )
        return PreparedTurn(owner, conversation, message, spec, effort, detail)

    async def save_settings(
        self, owner: str, conversation_id: str | None, raw: Any
    ) -> dict[str, Any]:
        """A conversation's settings, checked and stored (nothing to store for a new chat yet:
        the page keeps them until its first question). Returns them as stored."""
        settings = clean_settings(raw)
        if isinstance(conversation_id, str):
            await asyncio.to_thread(
                self.store.conversations.update, owner, conversation_id, settings=settings or None
            )
        return settings

    def _choices(
        self,
        conversation: Conversation | None,
        model_id: str | None,
        effort: str | None,
        detail: str | None,
    ) -> tuple[ModelSpec, str | None, str]:
        """The model (checked), effort and detail a turn goes with. No model picked: the page
        sent before its model list loaded, so the one it would show."""
        spec = self.core.model(model_id or self.default_model(conversation))
        return spec, spec.effort_for(effort), detail if detail in ("low", "high") else "low"

    # -- the chat tools: answer again, edit a question, take back the last turn ---------------------
    async def _conversation(self, owner: str, conversation_id: str | None):
        conversation = (
            await asyncio.to_thread(self.store.conversations.get, owner, conversation_id)
            if isinstance(conversation_id, str)
            else None
        )
        if conversation is None:
            raise TurnRejected("turn.no_conversation")
        history = await asyncio.to_thread(self.store.messages.list, owner, conversation.id)
        return conversation, history

    async def regenerate(
        self,
        *,
        owner: str,
        conversation_id: str | None,
        model_id: str | None,
        effort: str | None,
        detail: str = "low",
    ) -> PreparedTurn:
        """The last question answered anew: its answer is replaced, the question and its media
        go again exactly as they were (with the model and settings picked now)."""
        if not self.accepting:
            raise TurnRejected("server.restarting")
        conversation, history = await self._conversation(owner, conversation_id)
        question = next((m for m in reversed(history) if m.role == "user"), None)
        if question is None:
            raise TurnRejected("turn.nothing_to_redo")
        spec, effort, detail = self._choices(conversation, model_id, effort, detail)
        self.core.check_media(spec, media_inputs(question.media))
        await asyncio.to_thread(
            self._restart_from, owner, conversation, question, spec, effort, detail
        )
        return PreparedTurn(owner, conversation, question, spec, effort, detail)

    async def edit(
        self,
        *,
        owner: str,
        conversation_id: str | None,
        message_id: int,
        text: str,
        model_id: str | None,
        effort: str | None,
        detail: str = "low",
    ) -> PreparedTurn:
        """A question rewritten: the conversation continues from it, the turns after it go,
        its media stay."""
        if not self.accepting:
            raise TurnRejected("server.restarting")
        conversation, history = await self._conversation(owner, conversation_id)
        question = next((m for m in history if m.id == message_id and m.role == "user"), None)
        if question is None:
            raise TurnRejected("turn.nothing_to_redo")
        text = text.strip()
        if not text and not question.media:
            raise TurnRejected("turn.empty")
        check_text_length(len(text))
        spec, effort, detail = self._choices(conversation, model_id, effort, detail)
        self.core.check_media(spec, media_inputs(question.media))
        question = replace(question, text=text)
        await asyncio.to_thread(
            self._restart_from, owner, conversation, question, spec, effort, detail
        )
        return PreparedTurn(owner, conversation, question, spec, effort, detail)

    def _restart_from(
        self,
        owner: str,
        conversation: Conversation,
        question: Message,
        spec: ModelSpec,
        effort: str | None,
        detail: str,
    ) -> None:
        self.store.messages.replace_question(owner, question.id, question.text)
        self.store.messages.truncate_after(owner, conversation.id, question.id)
        self.store.conversations.update(
            owner, conversation.id, model=spec.id, effort=effort, detail=detail
        )

    async def undo(self, owner: str, conversation_id: str | None) -> Message:
        """Take back the last question and its answer; returns the question (for the composer)."""
        conversation, history = await self._conversation(owner, conversation_id)
        question = next((m for m in reversed(history) if m.role == "user"), None)
        if question is None:
            raise TurnRejected("turn.nothing_to_redo")
        await asyncio.to_thread(
            self.store.messages.truncate_after, owner, conversation.id, question.id, inclusive=True
        )
        return question

    def _store_question(
        self,
        owner: str,
        conversation: Conversation | None,
        spec: ModelSpec,
        effort: str | None,
        detail: str,
        text: str,
        refs: list[MediaRef],
        settings: dict[str, Any],
    ) -> tuple[Conversation, Message]:
        if conversation is None:
            conversation = self.store.conversations.create(
                owner, model=spec.id, effort=effort, detail=detail, settings=settings
            )
        else:
            self.store.conversations.update(
                owner, conversation.id, model=spec.id, effort=effort, detail=detail
            )
        return conversation, self.store.messages.add_user(owner, conversation.id, text, refs)

    # -- step 2 ------------------------------------------------------------------------------------
    async def stream_answer(self, turn: PreparedTurn) -> AsyncIterator[EngineEvent]:
        """Yield notes and stream events; the answer is saved as it grows and when it ends."""
        result = turn.result
        history = await asyncio.to_thread(
            self.store.messages.list, turn.owner, turn.conversation.id
        )
        messages, skipped = context_of(history, turn.user_message.id)
        settings = turn.conversation.settings or {}
        if settings.get("system_prompt"):
            messages.insert(0, TurnMessage("system", settings["system_prompt"]))
        request = TurnRequest(
            model_id=turn.spec.id,
            messages=tuple(messages),
            effort=turn.effort,
            detail=turn.detail,
            sampling={k: settings[k] for k in SAMPLING_RANGES if settings.get(k) is not None},
        )
        message_id = await asyncio.to_thread(
            self.store.messages.start_answer,
            turn.conversation.id,
            model=turn.spec.id,
            effort=turn.effort,
        )
        status = STOPPED  # anything that is not a normal end or a reported failure
        error: dict | None = None
        started = last_save = time.monotonic()
        saving: asyncio.Future | None = None  # the latest periodic save, written in the background
        self._in_flight[message_id] = result
        self._idle.clear()
        try:
            if skipped:
                note = Note.of("context.unanswered_skipped", count=skipped)
                result.add(note)
                yield note
            with self.janitor.hold() as hold:
                async for event in self.core.run(request, hold):
                    result.add(event)
                    yield event
                    # A slow disk delays the save, never the stream: one save at a time, of a
                    # copy, not awaited here.
                    if time.monotonic() - last_save >= SAVE_EVERY_S and (
                        saving is None or saving.done()
                    ):
                        saving = asyncio.ensure_future(
                            asyncio.to_thread(
                                self._save, message_id, result.copy(), status=STREAMING
                            )
                        )
                        last_save = time.monotonic()
            status = COMPLETE
        except (BackendError, TurnRejected) as exc:
            status, error = FAILED, exc.as_record()
            kind = exc.kind if isinstance(exc, BackendError) else exc.key
            log.warning("turn failed: model=%s kind=%s", turn.spec.id, kind)
            retryable = exc.retryable if isinstance(exc, BackendError) else False
            yield TurnFailed(exc, retryable)
        finally:
            self._in_flight.pop(message_id, None)
            if not self._in_flight:
                self._idle.set()
            if (status == STOPPED and not self.accepting) or (self._cut_off and status != COMPLETE):
                status = INTERRUPTED  # cut off by a server shutdown, not by the person
            # Saved in a thread, after any periodic save, and shielded: a Stop that cancels this
            # generator must not cancel the save of what arrived.
            await asyncio.shield(self._final_save(saving, message_id, result, status, error))
            log.info(
                "turn id=%s model=%s status=%s %.0fms",
                message_id,
                turn.spec.id,
                status,
                (time.monotonic() - started) * 1000,
            )

    async def _final_save(
        self,
        saving: asyncio.Future | None,
        message_id: int,
        result: TurnResult,
        status: MessageStatus,
        error: dict | None,
    ) -> None:
        if saving is not None:
            with contextlib.suppress(Exception):
                await saving
        await asyncio.to_thread(self._save, message_id, result, status=status, error=error)

    def _save(
        self, message_id: int, result: TurnResult, *, status: str, error: dict | None = None
    ) -> None:
        self.store.messages.save_answer(
            message_id,
            text=result.answer,
            thinking=result.thinking,
            status=status,
            notes=result.notes,
            error=error,
            usage=result.usage.as_openai() if result.usage else None,
            details=result.details(),
        )
