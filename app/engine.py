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


class TurnRejected(Exception):
    """The turn cannot be sent as it is; str() tells the person what to change."""


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


def _suggest_visual_model(catalog: Catalog, kind: str) -> str:
    for spec in catalog:
        if (kind == "image" and spec.images) or (
            kind == "video" and spec.video is not VideoMode.NONE
        ):
            return f" Pick a model that can, such as {spec.id}."
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
    ):
        self.settings = settings
        self.catalog = catalog
        self.monitor = monitor
        self.backend = backend
        self.store = store
        self.library = library
        self.resolver = MediaResolver(settings, library, store, backend)
        self.accepting = True
        self._in_flight: dict[int, TurnResult] = {}  # answer id → its result so far

    def begin_shutdown(self) -> int:
        """SIGTERM: refuse new turns and save every answer in flight (marked interrupted).

        Answers that still finish during the graceful-shutdown window overwrite this with
        their final state. Returns how many answers were saved.
        """
        self.accepting = False
        for message_id, result in list(self._in_flight.items()):
            self._save(message_id, result, status=INTERRUPTED)
        return len(self._in_flight)

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
            raise TurnRejected(f"Unknown model {model_id!r}. Pick one from the model list.")
        status = self.monitor.model_status(spec.id)
        if status.availability is Availability.UNCONFIGURED:
            raise TurnRejected(
                f"{spec.id} is not configured: put STEP_API_KEY=... in .env and restart."
            )
        if status.availability is Availability.STARTING:
            raise TurnRejected(
                f"{spec.id} is still loading on this machine. Try again in a minute; "
                "the model list shows when it is ready."
            )
        return spec

    def check_media_fits(self, spec: ModelSpec, kinds: Sequence[tuple[str, str]]) -> None:
        """Explain, before anything is sent, why this model cannot take these attachments."""
        for kind, filename in kinds:
            if kind == "image" and not spec.images:
                raise TurnRejected(
                    f"{spec.id} reads text only, so it cannot look at {filename}."
                    + _suggest_visual_model(self.catalog, "image")
                )
            if kind == "video" and spec.video is VideoMode.NONE:
                raise TurnRejected(
                    f"{spec.id} cannot watch videos such as {filename}."
                    + _suggest_visual_model(self.catalog, "video")
                )

    def _ingest(self, attachments: Sequence[Attachment]) -> list[MediaRef]:
        limit = self.settings.max_upload_mb * 1024 * 1024
        refs = []
        for attachment in attachments:
            try:
                stored = self.library.ingest_file(
                    attachment.path, attachment.filename, max_bytes=limit
                )
            except MediaError as exc:
                raise TurnRejected(str(exc)) from None
            except OSError:
                raise TurnRejected(
                    f"{attachment.filename} could not be read; please attach it again."
                ) from None
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
            raise TurnRejected("The server is restarting; send this again in a moment.")
        text = text.strip()
        if not text and not attachments:
            raise TurnRejected("Type a question or attach an image or video first.")
        conversation = (
            self.store.get_conversation(owner, conversation_id) if conversation_id else None
        )
        # No model picked: the page sent before its model list loaded; use what it would show.
        spec = self.model_or_reject(model_id or self.default_model(conversation))
        refs = await asyncio.to_thread(self._ingest, attachments)
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
        try:
            for attempt in (1, 2):
                try:
                    built = await build_request(turn.spec, history, turn.detail, self.resolver)
                except MediaError as exc:
                    raise BackendError("bad_request", str(exc), retryable=False) from None
                if attempt == 1:
                    for text in built.notes:
                        note = Note(text)
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
            if status == STOPPED and not self.accepting:
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
