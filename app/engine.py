"""One chat turn, from a person's message to a stored answer. Knows nothing about Gradio or HTTP.

A turn has two steps so the UI can show the question at once and keep the composer intact
when something is wrong: `prepare_turn` validates, ingests media and stores the user message
(raising `TurnRejected` before anything is stored or sent); `stream_answer` sends the request
and yields events while saving the answer as it grows, also when stopped or failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.attachments import MediaResolver
from app.backend import BackendClient, BackendError
from app.catalog import Catalog, ModelSpec, VideoMode
from app.config import Settings
from app.context import build_request
from app.events import Note, StreamEvent, TurnResult
from app.i18n import Problem
from app.janitor import Hold, Janitor
from app.media import MediaError, MediaLibrary
from app.status import Availability, StatusMonitor
from app.store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    STOPPED,
    Conversation,
    MediaRef,
    Message,
    Store,
)

log = logging.getLogger(__name__)

SAVE_EVERY_S = 1.0  # partial answers reach the database at least this often
MAX_TEXT_CHARS = 1_000_000  # one limit for the page and the API


class TurnRejected(Problem):
    """The turn cannot be sent as it is; the text tells the person what to change."""


def check_text_length(count: int) -> None:
    """The one text limit, for a message on the page and a whole request through the API."""
    if count > MAX_TEXT_CHARS:
        raise TurnRejected("text.too_long", count=count, limit=MAX_TEXT_CHARS)


@dataclass(frozen=True)
class Attachment:
    path: Path
    filename: str


@dataclass(frozen=True)
class TurnFailed:
    message: str
    retryable: bool = True


@dataclass
class PreparedTurn:
    owner: str
    conversation: Conversation
    user_message: Message
    spec: ModelSpec
    effort: str | None
    detail: str
    result: TurnResult = field(default_factory=TurnResult)


EngineEvent = StreamEvent | Note | TurnFailed


def _visual_model(catalog: Catalog, kind: str) -> str:
    """A model that can take `kind`, to suggest; empty when none is configured."""
    for spec in catalog:
        if (kind == "image" and spec.images) or (
            kind == "video" and spec.video is not VideoMode.NONE
        ):
            return spec.id
    return ""


class ChatEngine:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        monitor: StatusMonitor,
        backend: BackendClient,
        store: Store,
        library: MediaLibrary,
        janitor: Janitor,
    ):
        self.settings = settings
        self.catalog = catalog
        self.monitor = monitor
        self.backend = backend
        self.store = store
        self.library = library
        self.janitor = janitor
        self.resolver = MediaResolver(settings, library, store, backend)
        self.accepting = True
        self._cut_off = False  # the shutdown grace is over: what is still in flight is lost
        self._in_flight: dict[int, TurnResult] = {}  # answer id → its result so far
        self._idle = asyncio.Event()
        self._idle.set()

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

    # -- checks -------------------------------------------------------------------------------
    def default_model(self, conversation: Conversation | None = None) -> str | None:
        """The model to use when none is picked: the conversation's, the configured default,
        else the first model that is ready, else the first one."""
        for preferred in (
            conversation.model if conversation else None,
            self.settings.default_model,
        ):
            if preferred and self.catalog.get(preferred):
                return preferred
        for spec in self.catalog:
            if self.monitor.model_status(spec.id).availability is Availability.READY:
                return spec.id
        return next((spec.id for spec in self.catalog), None)

    def model_or_reject(self, model_id: str | None) -> ModelSpec:
        spec = self.catalog.get(model_id or "")
        if spec is None:
            raise TurnRejected("model.unknown", model=str(model_id))
        status = self.monitor.model_status(spec.id)
        if status.availability is Availability.UNCONFIGURED:
            raise TurnRejected("model.unconfigured", model=spec.id)
        if status.availability is Availability.STARTING:
            raise TurnRejected("model.starting", model=spec.id)
        return spec

    def check_media_fits(self, spec: ModelSpec, kinds: Sequence[tuple[str, str]]) -> None:
        """Explain, before anything is sent, why this model cannot take these attachments."""
        for kind, filename in kinds:
            if kind == "image" and not spec.images:
                other = _visual_model(self.catalog, "image")
                raise TurnRejected(
                    "model.text_only_suggest" if other else "model.text_only",
                    model=spec.id,
                    name=filename,
                    other=other,
                )
            if kind == "video" and spec.video is VideoMode.NONE:
                other = _visual_model(self.catalog, "video")
                raise TurnRejected(
                    "model.no_video_suggest" if other else "model.no_video",
                    model=spec.id,
                    name=filename,
                    other=other,
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

    # -- step 1 -------------------------------------------------------------------------------
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
    ) -> PreparedTurn:
        if not self.accepting:
            raise TurnRejected("server.restarting")
        text = text.strip()
        if not text and not attachments:
            raise TurnRejected("turn.empty")
        check_text_length(len(text))
        conversation = (
            self.store.get_conversation(owner, conversation_id) if conversation_id else None
        )
        # No model picked: the page sent before its model list loaded; use what it would show.
        spec = self.model_or_reject(model_id or self.default_model(conversation))
        with self.janitor.hold() as hold:  # until the message refers to them
            refs = await asyncio.to_thread(self._ingest, attachments, hold)
            self.check_media_fits(spec, [(r.kind, r.filename) for r in refs])
            effort = spec.effort_for(effort)
            detail = detail if detail in ("low", "high") else "low"
            if conversation is None:
                conversation = self.store.create_conversation(
                    owner, model=spec.id, effort=effort, detail=detail
                )
            else:
                self.store.update_conversation(
                    owner, conversation.id, model=spec.id, effort=effort, detail=detail
                )
            user_message = self.store.add_user_message(owner, conversation.id, text, refs)
        return PreparedTurn(owner, conversation, user_message, spec, effort, detail)

    # -- step 2 -------------------------------------------------------------------------------
    async def stream_answer(self, turn: PreparedTurn) -> AsyncIterator[EngineEvent]:
        """Yield notes and stream events; the answer is saved as it grows and when it ends."""
        result = turn.result
        history = self.store.messages(turn.owner, turn.conversation.id)
        message_id = self.store.start_assistant_message(
            turn.conversation.id, model=turn.spec.id, effort=turn.effort
        )
        status = STOPPED  # anything that is not a normal end or a reported failure
        error: str | None = None
        started = last_save = time.monotonic()
        self._in_flight[message_id] = result
        self._idle.clear()
        try:
            for attempt in (1, 2):
                try:
                    built = await build_request(turn.spec, history, turn.detail, self.resolver)
                except MediaError as exc:
                    raise BackendError("bad_request", str(exc), retryable=False) from None
                if attempt == 1:
                    for note in built.notes:
                        result.add(note)
                        yield note
                try:
                    async for event in self.backend.stream_chat(
                        turn.spec, built.messages, effort=turn.effort
                    ):
                        result.add(event)
                        yield event
                        if time.monotonic() - last_save >= SAVE_EVERY_S:
                            self._save(message_id, result, status="streaming")
                            last_save = time.monotonic()
                    break
                except BackendError as exc:
                    nothing_streamed = not (result.answer or result.thinking)
                    if exc.kind == "unknown_file" and attempt == 1 and nothing_streamed:
                        log.info(
                            "upstream forgot %d file id(s); uploading again", len(built.file_ids)
                        )
                        self.resolver.forget_uploads(turn.spec.backend, built.file_ids)
                        continue
                    raise
            status = COMPLETE
        except BackendError as exc:
            status, error = FAILED, exc.message
            log.warning(
                "turn failed: model=%s kind=%s status=%s", turn.spec.id, exc.kind, exc.status
            )
            yield TurnFailed(exc.message, exc.retryable)
        finally:
            self._in_flight.pop(message_id, None)
            if not self._in_flight:
                self._idle.set()
            if (status == STOPPED and not self.accepting) or (self._cut_off and status != COMPLETE):
                status = INTERRUPTED  # cut off by a server shutdown, not by the person
            self._save(message_id, result, status=status, error=error)
            log.info(
                "turn id=%s model=%s status=%s %.0fms",
                message_id,
                turn.spec.id,
                status,
                (time.monotonic() - started) * 1000,
            )

    def _save(
        self, message_id: int, result: TurnResult, *, status: str, error: str | None = None
    ) -> None:
        self.store.save_assistant_message(
            message_id,
            text=result.answer,
            thinking=result.thinking,
            status=status,
            notes=result.notes,
            error=error,
            usage=result.usage.as_openai() if result.usage else None,
        )
