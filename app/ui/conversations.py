"""Sidebar handlers: list, search, switch, rename, delete, export and import conversations.

Every call is scoped to the requesting owner (login name or browser cookie): an id sent by a
client that belongs to someone else simply finds nothing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import gradio as gr

from app.exports import ImportRejected, export_json, export_markdown_zip, import_json
from app.services import Services
from app.store import Conversation
from app.ui import render
from app.ui.handlers import request_owner

LIST_LIMIT = 200


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
        conversations = self.services.store.list_conversations(owner, query, limit=LIST_LIMIT)
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
        conversation = store.get_conversation(owner, conversation_id) if conversation_id else None
        if conversation is None:
            return [], None, gr.update(), gr.update(), gr.update(), ""
        messages = store.messages(owner, conversation.id)
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
            render.render_history(messages, self.services.library),
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
            self.services.store.update_conversation(owner, conversation_id, title=title)
        return gr.update(choices=self.choices(owner, query), value=conversation_id)

    def ask_delete(self, conversation_id: str | None, request: gr.Request):
        owner = request_owner(request)
        conversation = (
            self.services.store.get_conversation(owner, conversation_id)
            if conversation_id
            else None
        )
        if conversation is None:
            return gr.update(visible=False), ""
        title = conversation.title or "this conversation"
        return gr.update(visible=True), f"Delete **{title}** for good? / 确定删除？"

    def confirm_delete(self, conversation_id: str | None, query: str | None, request: gr.Request):
        owner = request_owner(request)
        if conversation_id:
            for sha in self.services.store.delete_conversation(owner, conversation_id):
                self.services.library.delete(sha)
        return (
            gr.update(visible=False),
            gr.update(choices=self.choices(owner, query), value=None),
            [],
            None,
            "",
        )

    def export(self, conversation_id: str | None, request: gr.Request):
        owner = request_owner(request)
        if not conversation_id:
            raise gr.Error("Open a conversation first. / 请先打开一个对话。")
        try:
            files = [
                export_json(self.services.store, self.services.library, owner, conversation_id),
                export_markdown_zip(
                    self.services.store, self.services.library, owner, conversation_id
                ),
            ]
        except KeyError:
            raise gr.Error("That conversation does not exist.") from None
        folder = Path(tempfile.mkdtemp(prefix="vlm-export-"))
        paths = []
        for name, data in files:
            path = folder / name
            path.write_bytes(data)
            paths.append(str(path))
        return gr.update(value=paths, visible=True)

    def import_file(self, upload: str | None, request: gr.Request):
        owner = request_owner(request)
        if not upload:
            return gr.update(), gr.update(), [], None
        try:
            conversation = import_json(
                self.services.store, self.services.library, owner, Path(upload).read_bytes()
            )
        except ImportRejected as exc:
            raise gr.Error(str(exc)) from None
        messages = self.services.store.messages(owner, conversation.id)
        return (
            gr.update(choices=self.choices(owner, None), value=conversation.id),
            conversation.title,
            render.render_history(messages, self.services.library),
            conversation.id,
        )
