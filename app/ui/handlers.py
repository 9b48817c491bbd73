"""Gradio event handlers: translate component values to engine calls and back. No business logic."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from app.engine import Attachment, PreparedTurn, TurnFailed, TurnRejected
from app.identity import owner_for
from app.services import Services
from app.store import COMPLETE, FAILED, STOPPED, STREAMING
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


def composer_files(value: dict[str, Any] | None) -> list[Attachment]:
    attachments = []
    for item in (value or {}).get("files") or []:
        path = item if isinstance(item, str) else item.get("path")
        name = None if isinstance(item, str) else item.get("orig_name")
        if path:
            attachments.append(Attachment(Path(path), name or Path(path).name))
    return attachments


@dataclass
class LiveTurn:
    """One page's answer in progress: the rendered history before it, and the engine's turn."""

    turn: PreparedTurn
    base: list[render.ChatMessage]
    # Set when the streaming handler has finished (normally or by cancellation), so the Stop
    # handler renders after the stream's last update instead of racing it.
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: tuple[str, str | None] | None = None

    def show(self, status: str, error: str | None = None) -> list[render.ChatMessage]:
        answer = render.render_answer(
            self.turn.result, status=status, error=error, model=self.turn.spec.id
        )
        return [*self.base, *answer]


class ChatHandlers:
    def __init__(self, services: Services):
        self.services = services

    # -- rendering helpers ------------------------------------------------------------------
    def _history(self, owner: str, conversation_id: str | None) -> list[render.ChatMessage]:
        if not conversation_id:
            return []
        messages = self.services.store.messages(owner, conversation_id)
        return render.render_history(messages, self.services.library)

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
        conversation = self.services.store.latest_conversation(owner)
        model_id = self.services.engine.default_model(conversation)
        effort = conversation.effort if conversation else None
        detail = conversation.detail if conversation else "low"
        banner, banner_panel = self._banner()
        return (
            self._history(owner, conversation.id if conversation else None),
            conversation.id if conversation else None,
            self._model_update(model_id),
            self.effort_update(model_id, effort),
            detail,
            banner,
            banner_panel,
        )

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
        """Step 1: validate and store the question; on a problem, explain it and keep the input."""
        owner = request_owner(request)
        history = self._history(owner, conversation_id)
        try:
            turn = await self.services.engine.prepare_turn(
                owner=owner,
                conversation_id=conversation_id,
                text=(composer or {}).get("text") or "",
                attachments=composer_files(composer),
                model_id=model_id,
                effort=effort,
                detail=detail or "low",
            )
        except TurnRejected as exc:
            return [*history, render.notice(str(exc))], gr.update(), conversation_id, None
        history.append(render.render_user(turn.user_message, self.services.library))
        live = LiveTurn(turn, history)
        cleared = gr.update(value={"text": "", "files": []}, submit_btn=False, stop_btn=True)
        return live.show(STREAMING), cleared, turn.conversation.id, live

    async def stream(self, live: LiveTurn | None):
        """Step 2: stream the answer into the chat; the engine saves it as it goes."""
        if live is None:  # step 1 explained why nothing was sent: leave the chat as it is
            yield gr.skip()
            return
        status, error = COMPLETE, None
        last = 0.0
        try:
            async for event in self.services.engine.stream_answer(live.turn):
                if isinstance(event, TurnFailed):
                    status, error = FAILED, event.message
                    break
                now = time.monotonic()
                if now - last >= YIELD_EVERY_S:
                    last = now
                    yield live.show(STREAMING)
            live.outcome = (status, error)
            yield live.show(status, error)
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
