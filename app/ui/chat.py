"""The chat's event handlers: Gradio values in, engine calls, the page's components out. The
engine does the work; these only translate (see wiring.py for what triggers each).

A turn is one queued event: the question is stored and shown, and the answer streams in the
same event, the first text at once and then every 50 ms. Regenerate and edit are the same
stream for a question the engine has prepared differently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from app.core import TurnRejected
from app.core.context import can_take
from app.engine import PreparedTurn, TurnFailed
from app.events import AnswerDelta, ThinkingDelta
from app.i18n import t
from app.samples import sample_file
from app.services import Services
from app.store import COMPLETE, FAILED, STOPPED, STREAMING, Conversation
from app.templates import template
from app.ui import render
from app.ui.labels import L
from app.ui.layout import Layout
from app.ui.page_input import (
    composer_files,
    owner_tag,
    request_language,
    request_owner,
    restored_draft,
)
from app.ui.pickers import model_controls
from app.ui.state import LiveTurn, PageState, StartedNow

YIELD_EVERY_S = 0.05  # re-rendering the whole history on every token is wasteful
STOP_SETTLE_S = 5.0  # how long Stop waits for the cancelled stream to unwind before rendering
SETTING_FIELDS = ("system_prompt", "temperature", "top_p", "max_tokens")


def shown_chat(rows: list) -> dict:
    """The chat's value, always in this one shape: Gradio sends a streamed update as the
    difference from the previous one only when both have the same shape; a list after an
    update dict would send (and make the browser render) the whole conversation again."""
    return gr.update(value=rows, visible=bool(rows))


class ChatHandlers:
    def __init__(self, services: Services, ui: Layout):
        self.services = services
        self.ui = ui

    # -- what shows a conversation --------------------------------------------------------------
    def model_controls(
        self, model_id: str | None, effort: str | None, detail: str | None, lang: str
    ) -> dict:
        """The picker and what depends on the chosen model: effort levels (hidden when it has
        none), image detail and its placeholder (hidden for text-only models), its badges."""
        ui, services = self.ui, self.services
        controls = model_controls(
            services.catalog, services.monitor, model_id, effort, detail, lang
        )
        spec = controls.spec
        sees = bool(spec and spec.sees_media)
        return {
            ui.model: controls.model,
            ui.effort: controls.effort,
            ui.detail: controls.detail,
            ui.badges: controls.badges,
            ui.composer: gr.update(
                placeholder=L("ui.placeholder.media" if sees else "ui.placeholder.text")
            ),
            ui.temperature: gr.update(info=render.sampling_hint(spec, "temperature", lang)),
            ui.top_p: gr.update(info=render.sampling_hint(spec, "top_p", lang)),
            ui.max_tokens: gr.update(info=render.sampling_hint(spec, "max_tokens", lang)),
        }

    def settings_fields(self, settings: dict[str, Any] | None) -> dict:
        settings = settings or {}
        ui = self.ui
        values = {name: settings.get(name) for name in SETTING_FIELDS}
        return {
            ui.system_prompt: values["system_prompt"] or "",
            ui.temperature: values["temperature"],
            ui.top_p: values["top_p"],
            ui.max_tokens: values["max_tokens"],
            ui.settings_note: "",
        }

    def conversation_list(self, owner: str, state: PageState, lang: str, query: str | None = None):
        conversations = self.services.store.conversations.list(owner, query, limit=200)
        return render.conversation_list(
            conversations,
            state.conversation_id,
            lang=lang,
            tz=state.timezone,
            now=time.time(),
            query=query,
        )

    def view(
        self, owner: str, conversation: Conversation | None, state: PageState, lang: str
    ) -> dict:
        """Everything that shows one conversation (or a new, empty one): its history, its model
        and settings, the starter cards while it is empty. Runs in a worker thread."""
        state.conversation_id = conversation.id if conversation else None
        state.live = None
        if conversation is not None:
            messages = self.services.store.messages.list(owner, conversation.id)
            rows, state.ids = render.render_history(messages, self.services.library, lang)
        else:
            rows, state.ids = [], []
        model_id = self.services.engine.default_model(conversation)
        return {
            self.ui.state: state,
            **self.emptiness(rows),
            self.ui.notice: "",
            self.ui.exported: gr.update(value="", visible=False),
            **self.model_controls(
                model_id,
                conversation.effort if conversation else None,
                conversation.detail if conversation else "low",
                lang,
            ),
            **self.settings_fields(conversation.settings if conversation else state.settings),
        }

    def emptiness(self, rows: list) -> dict:
        """An empty chat shows the starter cards in the chat's place, and no task buttons."""
        return {
            self.ui.chatbot: shown_chat(rows),
            self.ui.starter: gr.update(visible=not rows),
            self.ui.tasks_row: gr.update(visible=bool(rows)),
        }

    # -- page load and status -------------------------------------------------------------------
    def load(self, state: PageState, timezone: str | None, request: gr.Request) -> dict:
        """Page load: this browser's latest conversation, the model services, the list."""
        owner, lang = request_owner(request), request_language(request)
        state.timezone = timezone if isinstance(timezone, str) else None
        conversation = self.services.store.conversations.latest(owner)
        banner, any_ready = render.backend_banner(
            self.services.monitor, self.services.settings.local_base_url, lang
        )
        return {
            **self.view(owner, conversation, state, lang),
            self.ui.starter_cards: render.starter_cards(lang),  # the same for every chat
            self.ui.conversations: self.conversation_list(owner, state, lang),
            self.ui.banner: banner,
            self.ui.status_panel: gr.update(open=not any_ready),
            self.ui.draft_tag: owner_tag(owner),
        }

    def refresh_status(self, model_id: str | None, request: gr.Request) -> dict:
        lang = request_language(request)
        banner, _ = render.backend_banner(
            self.services.monitor, self.services.settings.local_base_url, lang
        )
        catalog, monitor = self.services.catalog, self.services.monitor
        spec = catalog.get(model_id)
        availability = monitor.model_status(spec.id).availability if spec else None
        return {
            self.ui.model: gr.update(choices=render.model_choices(catalog, monitor, lang)),
            self.ui.badges: render.model_badges(spec, availability, lang),
            self.ui.banner: banner,
        }

    def model_changed(
        self, model_id: str | None, effort: str | None, detail: str | None, request: gr.Request
    ) -> dict:
        return self.model_controls(model_id, effort, detail, request_language(request))

    def restore_draft(self, saved: str | None, request: gr.Request):
        """After a reload (the page reloads itself when the server comes back), put back what
        was being typed and attached."""
        draft = restored_draft(saved, request_owner(request), self.services.store)
        return gr.skip() if draft is None else draft

    # -- a turn ------------------------------------------------------------------------------------
    async def submit(
        self,
        state: PageState,
        composer: dict[str, Any] | None,
        model_id: str | None,
        effort: str | None,
        detail: str | None,
        request: gr.Request,
    ) -> AsyncIterator[dict]:
        """Store the question and show it, then stream the answer, in this one event. On a
        problem nothing is sent: the notice says why and the composer keeps its text."""
        owner, lang = request_owner(request), request_language(request)
        text = composer.get("text") if isinstance(composer, dict) else None
        try:
            attachments = await asyncio.to_thread(
                composer_files, composer, owner, self.services.store
            )
            turn = await self.services.engine.prepare_turn(
                owner=owner,
                conversation_id=state.conversation_id,
                text=text if isinstance(text, str) else "",
                attachments=attachments,
                model_id=model_id,
                effort=effort,
                detail=detail or "low",
                settings=state.settings if state.conversation_id is None else None,
            )
        except TurnRejected as exc:
            yield {self.ui.notice: render.notice(exc.text(lang), lang)}
            return
        cleared = gr.update(value={"text": "", "files": []}, submit_btn=False, stop_btn=True)
        async for update in self._answer(owner, state, turn, lang, {self.ui.composer: cleared}):
            yield update

    async def regenerate(
        self,
        state: PageState,
        model_id: str | None,
        effort: str | None,
        detail: str | None,
        request: gr.Request,
    ) -> AsyncIterator[dict]:
        """The chat's Regenerate: the last question answered anew, its media sent again."""
        owner, lang = request_owner(request), request_language(request)
        try:
            turn = await self.services.engine.regenerate(
                owner=owner,
                conversation_id=state.conversation_id,
                model_id=model_id,
                effort=effort,
                detail=detail or "low",
            )
        except TurnRejected as exc:
            yield {self.ui.notice: render.notice(exc.text(lang), lang)}
            return
        busy = {self.ui.composer: gr.update(submit_btn=False, stop_btn=True)}
        async for update in self._answer(owner, state, turn, lang, busy):
            yield update

    async def edit(
        self,
        state: PageState,
        model_id: str | None,
        effort: str | None,
        detail: str | None,
        event: gr.EditData,
        request: gr.Request,
    ) -> AsyncIterator[dict]:
        """A question edited in the chat: the conversation continues from it."""
        owner, lang = request_owner(request), request_language(request)
        value = event.value
        if isinstance(value, list):  # as parts
            value = " ".join(p.get("text", "") for p in value if isinstance(p, dict))
        try:
            message_id = state.message_at(event.index)
            if message_id is None or not isinstance(value, str):
                raise TurnRejected("turn.nothing_to_redo")
            turn = await self.services.engine.edit(
                owner=owner,
                conversation_id=state.conversation_id,
                message_id=message_id,
                text=value,
                model_id=model_id,
                effort=effort,
                detail=detail or "low",
            )
        except TurnRejected as exc:
            rows, state.ids = await asyncio.to_thread(self._history, owner, state, lang)
            yield {self.ui.chatbot: rows, self.ui.notice: render.notice(exc.text(lang), lang)}
            return
        busy = {self.ui.composer: gr.update(submit_btn=False, stop_btn=True)}
        async for update in self._answer(owner, state, turn, lang, busy):
            yield update

    def _history(self, owner: str, state: PageState, lang: str) -> render.Rendered:
        if state.conversation_id is None:
            return [], []
        messages = self.services.store.messages.list(owner, state.conversation_id)
        return render.render_history(messages, self.services.library, lang)

    async def _answer(
        self, owner: str, state: PageState, turn: PreparedTurn, lang: str, first: dict
    ) -> AsyncIterator[dict]:
        """Show the question, then stream its answer into the chat."""
        ui = self.ui
        state.conversation_id = turn.conversation.id
        rows, ids = await asyncio.to_thread(self._history, owner, state, lang)
        live = LiveTurn(turn, rows, ids, lang)
        state.live = live
        # The answer starts now: the upstream request is under way while the question is shown.
        answer = StartedNow(self.services.engine.stream_answer(turn))
        status, error = COMPLETE, None
        last, text_shown = 0.0, False
        try:
            shown = live.rows(STREAMING)
            state.ids = live.ids(shown)
            conversations = await asyncio.to_thread(self.conversation_list, owner, state, lang)
            yield {
                **first,
                **self.emptiness(shown),
                ui.state: state,
                ui.notice: "",
                ui.conversations: conversations,
            }
            async for event in answer:
                if isinstance(event, TurnFailed):  # the last event: the engine then saves it
                    status, error = FAILED, event.error.as_record()
                    continue
                now = time.monotonic()
                first_text = not text_shown and isinstance(event, AnswerDelta | ThinkingDelta)
                if first_text or now - last >= YIELD_EVERY_S:
                    last, text_shown = now, text_shown or first_text
                    yield {ui.chatbot: shown_chat(live.rows(STREAMING))}
            live.outcome = (status, error)
            final, state.ids = await asyncio.to_thread(self._history, owner, state, lang)
            yield {ui.chatbot: shown_chat(final), ui.state: state}
        finally:
            await answer.aclose()  # stopped or switched away: the engine saves what arrived
            live.finished.set()

    async def stopped(self, state: PageState, request: gr.Request) -> dict:
        """Stop pressed (after the listener that cancels the stream): show what arrived.

        Waiting for the stream handler to unwind means no last streaming update can overwrite
        this render. An answer that completed just before Stop keeps its status.
        """
        nothing = {self.ui.state: state}  # Gradio takes an empty dict for one missing value
        live = state.live
        if live is None:
            return nothing
        with contextlib.suppress(asyncio.TimeoutError):  # builtin TimeoutError only from 3.11
            await asyncio.wait_for(live.finished.wait(), STOP_SETTLE_S)
        owner, lang = request_owner(request), request_language(request)
        if live.outcome is None:  # cancelled: what the engine saved is what arrived
            rows, state.ids = await asyncio.to_thread(self._history, owner, state, lang)
            if not rows:
                rows = live.rows(STOPPED)
            return {self.ui.chatbot: rows, self.ui.state: state}
        return nothing

    @staticmethod
    def composer_idle():
        """No answer is streaming: offer Send again instead of Stop."""
        return gr.update(submit_btn=True, stop_btn=False)

    async def undo(self, state: PageState, request: gr.Request) -> dict:
        """The chat's Undo: the last question and its answer taken back; the question's text
        returns to the composer."""
        owner, lang = request_owner(request), request_language(request)
        try:
            question = await self.services.engine.undo(owner, state.conversation_id)
        except TurnRejected as exc:
            return {self.ui.notice: render.notice(exc.text(lang), lang)}
        rows, state.ids = await asyncio.to_thread(self._history, owner, state, lang)
        return {
            **self.emptiness(rows),
            self.ui.state: state,
            self.ui.composer: {"text": question.text, "files": []},
            self.ui.notice: "",
        }

    def new_chat(self, state: PageState, request: gr.Request) -> dict:
        """A fresh conversation; whatever is typed in the composer stays."""
        owner, lang = request_owner(request), request_language(request)
        state.settings = {}
        return {
            **self.view(owner, None, state, lang),
            self.ui.conversations: self.conversation_list(owner, state, lang),
        }

    # -- templates and settings -------------------------------------------------------------------
    def use_template(
        self,
        template_id: str,
        with_samples: bool,
        state: PageState,
        composer: dict[str, Any] | None,
        model_id: str | None,
        effort: str | None,
        request: gr.Request,
    ) -> dict:
        """A task template fills the composer (still editable) in the page's language, sets
        the image detail the task needs, and switches to a model that can do it if the chosen
        one cannot. From a starter card it also attaches the task's sample images."""
        owner, lang = request_owner(request), request_language(request)
        tpl = template(template_id)
        if tpl is None:  # not a template (a forged event): nothing changes
            return {self.ui.notice: gr.skip()}
        files = list(composer.get("files") or []) if isinstance(composer, dict) else []
        if with_samples:
            files += [self._sample_upload(owner, name) for name in tpl.sample]
        spec = self.services.catalog.get(model_id)
        suggested, note = model_id, ""
        if spec is None or not all(can_take(spec, need) for need in tpl.needs):
            able = self.services.core.able_model(tpl.needs) or None
            if able is not None:
                suggested = able
                note = t("template.switched", lang, model=able)
            else:
                note = t("template.no_model", lang)
        controls = self.model_controls(suggested, effort, tpl.detail, lang)
        # The model's controls update the composer too (its placeholder): one update for both,
        # else that one replaces the template's text.
        placeholder = controls.pop(self.ui.composer).get("placeholder")
        return {
            **controls,
            self.ui.composer: gr.update(
                value={"text": tpl.prompt_in(lang), "files": files}, placeholder=placeholder
            ),
            self.ui.notice: f"<div class='composer-info'>{render.esc(note)}</div>" if note else "",
        }

    def _sample_upload(self, owner: str, name: str) -> str:
        """A sample image as this owner's upload, so the composer may attach it like any file
        the page uploaded."""
        settings = self.services.settings
        source = sample_file(name, settings.data_dir / "samples")
        # A copy in a folder of this owner's: one person's copy is never another's to expire.
        target = settings.upload_dir / "samples" / owner_tag(owner) / source.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(source, partial)
            partial.replace(target)
        path = str(target.resolve())
        self.services.store.uploads.record(owner, [path])
        return path

    async def save_settings(
        self,
        state: PageState,
        system_prompt: str | None,
        temperature: float | None,
        top_p: float | None,
        max_tokens: float | None,
        request: gr.Request,
    ) -> dict:
        owner, lang = request_owner(request), request_language(request)
        raw = {
            "system_prompt": system_prompt,
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": int(max_tokens) if isinstance(max_tokens, int | float) else max_tokens,
        }
        try:
            saved = await self.services.engine.save_settings(owner, state.conversation_id, raw)
        except TurnRejected as exc:
            return {
                self.ui.settings_note: f"<span class='settings-error'>{render.esc(exc.text(lang))}</span>"
            }
        if state.conversation_id is None:
            state.settings = saved
            return {self.ui.state: state, self.ui.settings_note: t("ui.settings_pending", lang)}
        return {self.ui.settings_note: t("ui.settings_saved", lang)}

    async def reset_settings(self, state: PageState, request: gr.Request) -> dict:
        owner = request_owner(request)
        await self.services.engine.save_settings(owner, state.conversation_id, {})
        state.settings = {}
        return {self.ui.state: state, **self.settings_fields({})}
