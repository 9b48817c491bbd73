"""The sidebar's handlers: open, rename, delete, search, export and import conversations.

Every call is scoped to the requesting owner (login name or browser cookie): an id a client
sends that belongs to someone else simply finds nothing.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import gradio as gr

from app.core import TurnRejected
from app.exports import ImportRejected, import_json
from app.gradio_adapter import event_payload
from app.i18n import t
from app.services import Services
from app.ui.chat import ChatHandlers
from app.ui.downloads import export_url
from app.ui.page_input import owned_upload, request_language, request_owner
from app.ui.state import PageState

RECENT_USE_S = 60.0  # media sent in the last minute may be on their way into another chat
TITLE_MAX = 120


class SidebarHandlers:
    def __init__(self, services: Services, chat: ChatHandlers):
        self.services = services
        self.chat = chat
        self.ui = chat.ui

    def listed(self, state: PageState, query: str | None, request: gr.Request) -> str:
        owner, lang = request_owner(request), request_language(request)
        return self.chat.conversation_list(owner, state, lang, query)

    def act(
        self, state: PageState, query: str | None, event: gr.EventData, request: gr.Request
    ) -> dict:
        """A click in the list: open, rename or delete a conversation (or just redraw it)."""
        owner, lang = request_owner(request), request_language(request)
        data = event_payload(event)
        action, conversation_id = data.get("action"), data.get("id")
        store = self.services.store
        conversation = (
            store.conversations.get(owner, conversation_id)
            if isinstance(conversation_id, str)
            else None
        )
        update: dict[Any, Any] = {}
        if conversation is not None and action == "open":
            update = self.chat.view(owner, conversation, state, lang)
        elif conversation is not None and action == "rename":
            title = " ".join(str(data.get("title") or "").split())[:TITLE_MAX]
            if title:
                store.conversations.update(owner, conversation.id, title=title)
        elif conversation is not None and action == "delete":
            shas = store.conversations.delete(owner, conversation.id)
            self.services.janitor.discard(shas, older_than_s=RECENT_USE_S)
            if state.conversation_id == conversation.id:
                update = self.chat.view(owner, None, state, lang)
        return {
            **update,
            self.ui.conversations: self.chat.conversation_list(owner, state, lang, query),
        }

    def export(self, state: PageState, request: gr.Request):
        """Download links for this conversation, served only to its owner (ui/downloads.py)."""
        owner, lang = request_owner(request), request_language(request)
        conversation = (
            self.services.store.conversations.get(owner, state.conversation_id)
            if state.conversation_id
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
        return gr.update(value=f"<div class='export-links'>{links}</div>", visible=True)

    def import_file(self, state: PageState, upload: str | None, request: gr.Request) -> dict:
        owner, lang = request_owner(request), request_language(request)
        unchanged = {self.ui.state: state}  # Gradio reads a bare {} as one value, not none
        if not upload:
            return unchanged
        try:
            path = owned_upload(upload, owner, self.services.store, Path(str(upload)).name)
            with self.services.janitor.hold() as hold:
                conversation = import_json(
                    self.services.store, self.services.library, owner, path.read_bytes(), hold.add
                )
        except TurnRejected as exc:
            gr.Warning(exc.text(lang))
            return unchanged
        except ImportRejected as exc:
            self.services.janitor.discard(exc.new_media, older_than_s=0)  # nothing is left behind
            gr.Warning(exc.text(lang))
            return unchanged
        return {
            **self.chat.view(owner, conversation, state, lang),
            self.ui.conversations: self.chat.conversation_list(owner, state, lang),
        }
