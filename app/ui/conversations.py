"""Sidebar handlers: list, search, switch, rename, delete, export and import conversations.

Every call is scoped to the requesting owner (login name or browser cookie): an id sent by a
client that belongs to someone else simply finds nothing.
"""

from __future__ import annotations

import html
import time

import gradio as gr

from app.core import TurnRejected
from app.exports import ImportRejected, import_json
from app.i18n import t
from app.services import Services
from app.store import Conversation
from app.ui import render
from app.ui.downloads import export_url
from app.ui.handlers import owned_upload, request_language, request_owner

LIST_LIMIT = 200
RECENT_USE_S = 60.0  # media sent in the last minute may be on their way into another chat


def conversation_label(conversation: Conversation, now: float) -> str:
    age = now - conversation.updated_at
    if age < 86400:
        when = time.strftime("%H:%M", time.localtime(conversation.updated_at))
    else:
        when = time.strftime("%Y-%m-%d", time.localtime(conversation.updated_at))
    return f"{conversation.title or 'New conversation / 新对话'} · {when}"


class ConversationHandlers:
    def __init__(self, services: Services):
        self.services = services

    def choices(self, owner: str, query: str | None) -> list[tuple[str, str]]:
        now = time.time()
        conversations = self.services.store.conversations.list(owner, query, limit=LIST_LIMIT)
        return [(conversation_label(c, now), c.id) for c in conversations]

    def refresh_list(self, query: str | None, conversation_id: str | None, request: gr.Request):
        owner = request_owner(request)
        choices = self.choices(owner, query)
        value = conversation_id if any(cid == conversation_id for _, cid in choices) else None
        return gr.update(choices=choices, value=value)

    def switch(self, conversation_id: str | None, request: gr.Request):
        """Open a conversation: its history with media, and its model, effort and detail."""
        owner = request_owner(request)
        store = self.services.store
        conversation = store.conversations.get(owner, conversation_id) if conversation_id else None
        if conversation is None:
            return [], None, gr.update(), gr.update(), gr.update(), ""
        messages = store.messages.list(owner, conversation.id)
        catalog = self.services.catalog
        model_id = conversation.model if catalog.get(conversation.model or "") else None
        effort = gr.update()
        if model_id:
            spec = catalog.get(model_id)
            effort = gr.update(
                choices=list(spec.efforts),
                value=spec.effort_for(conversation.effort),
                interactive=bool(spec.efforts),
            )
        return (
            render.render_history(messages, self.services.library, request_language(request)),
            conversation.id,
            gr.update(value=model_id) if model_id else gr.update(),
            effort,
            conversation.detail,
            conversation.title,
        )

    def rename(
        self, conversation_id: str | None, title: str, query: str | None, request: gr.Request
    ):
        owner = request_owner(request)
        title = " ".join((title or "").split())[:120]
        if conversation_id and title:
            self.services.store.conversations.update(owner, conversation_id, title=title)
        return gr.update(choices=self.choices(owner, query), value=conversation_id)

    def ask_delete(self, conversation_id: str | None, request: gr.Request):
        owner = request_owner(request)
        conversation = (
            self.services.store.conversations.get(owner, conversation_id)
            if conversation_id
            else None
        )
        if conversation is None:
            return gr.update(visible=False), ""
        title = conversation.title or "this conversation"
        return gr.update(visible=True), f"Delete **{title}** for good? / 确定删除？"

    def confirm_delete(self, conversation_id: str | None, query: str | None, request: gr.Request):
        owner = request_owner(request)
        if isinstance(conversation_id, str):
            shas = self.services.store.conversations.delete(owner, conversation_id)
            self.services.janitor.discard(shas, older_than_s=RECENT_USE_S)
        return (
            gr.update(visible=False),
            gr.update(choices=self.choices(owner, query), value=None),
            [],
            None,
            "",
        )

    def export(self, conversation_id: str | None, request: gr.Request):
        """Download links for this conversation, served only to its owner (ui/downloads.py)."""
        owner = request_owner(request)
        lang = request_language(request)
        conversation = (
            self.services.store.conversations.get(owner, conversation_id)
            if isinstance(conversation_id, str)
            else None
        )
        if conversation is None:
            gr.Warning(t("export.none_open", lang))
            return gr.update(value="", visible=False)
        links = " · ".join(
            f'<a href="{html.escape(export_url(conversation.id, fmt))}" download>'
            f"{html.escape(t(label, lang))}</a>"
            for fmt, label in (("json", "export.json"), ("zip", "export.zip"))
        )
        return gr.update(value=links, visible=True)

    def import_file(self, upload: str | None, request: gr.Request):
        owner = request_owner(request)
        lang = request_language(request)
        if not upload:
            return gr.update(), gr.update(), [], None
        try:
            path = owned_upload(upload, owner, self.services.store, "import.json")
            with self.services.janitor.hold() as hold:
                conversation = import_json(
                    self.services.store, self.services.library, owner, path.read_bytes(), hold.add
                )
        except TurnRejected as exc:
            gr.Warning(exc.text(lang))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        except ImportRejected as exc:
            self.services.janitor.discard(exc.new_media, older_than_s=0)  # nothing is left behind
            gr.Warning(exc.text(lang))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        messages = self.services.store.messages.list(owner, conversation.id)
        return (
            gr.update(choices=self.choices(owner, None), value=conversation.id),
            conversation.title,
            render.render_history(messages, self.services.library, request_language(request)),
            conversation.id,
        )
