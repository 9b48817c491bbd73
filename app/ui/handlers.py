"""Gradio event handlers: translate component values to engine calls and back. No business logic."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from app.core import TurnRejected
from app.engine import Attachment, PreparedTurn, TurnFailed
from app.events import AnswerDelta, ThinkingDelta
from app.i18n import language_of
from app.identity import owner_for
from app.services import Services
from app.store import COMPLETE, FAILED, STOPPED, STREAMING, Store
from app.ui import render

YIELD_EVERY_S = 0.05  # re-rendering the whole history on every token is wasteful
STOP_SETTLE_S = 5.0  # how long Stop waits for the cancelled stream to unwind before rendering


def request_owner(request: gr.Request | None) -> str:
    owner = owner_for(
        getattr(request, "username", None),
        dict(request.cookies) if request is not None else None,
    )
    if owner is None:
        raise gr.Error("Your browser did not send its session cookie; please reload the page.")
    return owner


def request_language(request: gr.Request | None) -> str:
    headers = getattr(request, "headers", None) or {}
    return language_of(headers.get("accept-language"))


def composer_files(value: Any, owner: str, store: Store) -> list[Attachment]:
    """The composer's files, each one a file this owner uploaded through the page.

    The value comes from the client and can name any path: only files that Gradio's upload route
    received from this same owner are taken (recorded by `UploadRecorder`); anything else is
    refused before anything is read or stored.
    """
    files = value.get("files") if isinstance(value, dict) else None
    attachments = []
    for item in files if isinstance(files, list) else []:
        path = (
            item if isinstance(item, str) else item.get("path") if isinstance(item, dict) else None
        )
        name = item.get("orig_name") if isinstance(item, dict) else None
        if not isinstance(path, str) or not path:
            continue
        shown = name if isinstance(name, str) and name else Path(path).name
        attachments.append(Attachment(owned_upload(path, owner, store, shown), shown))
    return attachments


def owner_tag(owner: str) -> str:
    """A one-way tag of the owner, so a draft saved in this browser is only restored for them."""
    return hashlib.sha256(f"draft:{owner}".encode()).hexdigest()[:24]


def restored_draft(saved: Any, owner: str, store: Store) -> dict[str, Any] | None:
    """The composer value kept in the browser across a reconnect, if it is this owner's: its
    text, and those of its files this owner uploaded that are still on the server."""
    try:
        draft = json.loads(saved) if isinstance(saved, str) and saved else None
    except ValueError:
        return None
    if not isinstance(draft, dict) or draft.get("tag") != owner_tag(owner):
        return None
    text = draft.get("text") if isinstance(draft.get("text"), str) else ""
    files = []
    for path in draft.get("files") if isinstance(draft.get("files"), list) else []:
        with contextlib.suppress(TurnRejected):
            files.append(str(owned_upload(path, owner, store, "")))
    return {"text": text, "files": files} if text or files else None


def owned_upload(path: Any, owner: str, store: Store, shown: str) -> Path:
    """`path` if this owner uploaded it through the page and it is still there; else refuse."""
    real = os.path.realpath(path) if isinstance(path, str) else ""
    if not real or not store.uploads.owns(owner, real):
        raise TurnRejected("upload.not_yours", name=shown)
    if not os.path.isfile(real):
        raise TurnRejected("upload.expired", name=shown)
    return Path(real)


@dataclass
class LiveTurn:
    """One page's answer in progress: the rendered history before it, and the engine's turn."""

    turn: PreparedTurn
    base: list[render.ChatMessage]
    lang: str
    # Set when the streaming handler has finished (normally or by cancellation), so the Stop
    # handler renders after the stream's last update instead of racing it.
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: tuple[str, str | None] | None = None

    def show(self, status: str, error: str | None = None) -> list[render.ChatMessage]:
        answer = render.render_answer(
            self.turn.result, status=status, error=error, model=self.turn.spec.id, lang=self.lang
        )
        return [*self.base, *answer]


class ChatHandlers:
    def __init__(self, services: Services):
        self.services = services

    # -- rendering helpers ------------------------------------------------------------------
    def _history(
        self, owner: str, conversation_id: str | None, lang: str
    ) -> list[render.ChatMessage]:
        if not conversation_id:
            return []
        messages = self.services.store.messages.list(owner, conversation_id)
        return render.render_history(messages, self.services.library, lang)

    def _model_update(self, value: str | None) -> dict:
        catalog, monitor = self.services.catalog, self.services.monitor
        return gr.update(choices=render.model_choices(catalog, monitor), value=value)

    def effort_update(self, model_id: str | None, current: str | None = None) -> dict:
        spec = self.services.catalog.get(model_id or "")
        if spec is None or not spec.efforts:
            return gr.update(choices=[], value=None, interactive=False)
        return gr.update(
            choices=list(spec.efforts), value=spec.effort_for(current), interactive=True
        )

    def _banner(self) -> dict:
        text, any_ready = render.backend_banner(
            self.services.monitor, self.services.settings.local_base_url
        )
        return gr.update(value=text), gr.update(open=not any_ready)

    # -- events -----------------------------------------------------------------------------
    def load(self, request: gr.Request):
        """Page load: restore this browser's latest conversation and its settings."""
        owner = request_owner(request)
        conversation = self.services.store.conversations.latest(owner)
        model_id = self.services.engine.default_model(conversation)
        effort = conversation.effort if conversation else None
        detail = conversation.detail if conversation else "low"
        banner, banner_panel = self._banner()
        return (
            self._history(
                owner, conversation.id if conversation else None, request_language(request)
            ),
            conversation.id if conversation else None,
            self._model_update(model_id),
            self.effort_update(model_id, effort),
            detail,
            banner,
            banner_panel,
            owner_tag(owner),
        )

    def restore_draft(self, saved: str | None, request: gr.Request):
        """After a reload (the page reloads itself when the server comes back), put back what
        was being typed and attached."""
        draft = restored_draft(saved, request_owner(request), self.services.store)
        return gr.skip() if draft is None else draft

    def refresh_status(self, model_id: str | None):
        banner, banner_panel = self._banner()
        return self._model_update(model_id), banner, banner_panel

    async def submit(
        self,
        composer: dict[str, Any] | None,
        conversation_id: str | None,
        model_id: str | None,
        effort: str | None,
        detail: str | None,
        request: gr.Request,
    ):
        """One queued event per turn: store the question and show it, then stream the answer
        in the same event, so the upstream request starts as soon as the question is accepted.

        On a problem nothing is sent, the problem is explained and the composer keeps its text.
        The first answer text is shown at once; later updates are batched every 50 ms.
        """
        owner = request_owner(request)
        lang = request_language(request)
        history = await asyncio.to_thread(self._history, owner, conversation_id, lang)
        text = composer.get("text") if isinstance(composer, dict) else None
        try:
            attachments = await asyncio.to_thread(
                composer_files, composer, owner, self.services.store
            )
            turn = await self.services.engine.prepare_turn(
                owner=owner,
                conversation_id=conversation_id,
                text=text if isinstance(text, str) else "",
                attachments=attachments,
                model_id=model_id,
                effort=effort,
                detail=detail or "low",
            )
        except TurnRejected as exc:
            yield [*history, render.notice(exc.text(lang), lang)], gr.skip(), gr.skip(), None
            return
        history.append(render.render_user(turn.user_message, self.services.library))
        live = LiveTurn(turn, history, lang)
        cleared = gr.update(value={"text": "", "files": []}, submit_btn=False, stop_btn=True)
        yield live.show(STREAMING), cleared, turn.conversation.id, live
        status, error = COMPLETE, None
        last, text_shown = 0.0, False
        try:
            async for event in self.services.engine.stream_answer(turn):
                if isinstance(event, TurnFailed):
                    status, error = FAILED, event.error.as_record()
                    break
                now = time.monotonic()
                first_text = not text_shown and isinstance(event, AnswerDelta | ThinkingDelta)
                if first_text or now - last >= YIELD_EVERY_S:
                    last, text_shown = now, text_shown or first_text
                    yield live.show(STREAMING), gr.skip(), gr.skip(), gr.skip()
            live.outcome = (status, error)
            yield live.show(status, error), gr.skip(), gr.skip(), gr.skip()
        finally:
            live.finished.set()

    async def stopped(self, live: LiveTurn | None, chat: list[dict]):
        """Stop pressed (after the listener that cancels the stream): show what arrived.

        Waiting for the stream handler to unwind means no last streaming update can overwrite
        this render. An answer that completed just before Stop keeps its status.
        """
        if live is None:
            return chat
        with contextlib.suppress(asyncio.TimeoutError):  # builtin TimeoutError only from 3.11
            await asyncio.wait_for(live.finished.wait(), STOP_SETTLE_S)
        return live.show(*(live.outcome or (STOPPED, None)))

    @staticmethod
    def composer_idle():
        """No answer is streaming: offer Send again instead of Stop."""
        return gr.update(submit_btn=True, stop_btn=False)

    def new_chat(self):
        """A fresh conversation; whatever is typed in the composer stays."""
        return [], None, None
