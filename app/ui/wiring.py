"""Which event calls which handler, with what (as gradio/chat_interface.py's `_setup_events`).

Every listener is private: the page's events are not named API endpoints (any client can still
call them over HTTP, so the handlers check everything they are given).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.gradio_adapter import event_payload
from app.ui.assets import READ_DRAFT_JS, SAVE_DRAFT_JS, TIMEZONE_JS
from app.ui.chat import ChatHandlers
from app.ui.layout import Layout
from app.ui.sidebar import SidebarHandlers
from app.ui.state import PageState

STATUS_EVERY_S = 15
PRIVATE = {"api_visibility": "private"}
QUIET = {"show_progress": "hidden", **PRIVATE}


def _outputs(ui: Layout, *names: str) -> list[Any]:
    return [getattr(ui, name) for name in names]


def _task_handler(chat: ChatHandlers, template_id: str):
    def use(state: PageState, composer, model_id, effort, request: gr.Request):
        return chat.use_template(template_id, False, state, composer, model_id, effort, request)

    return use


def _card_handler(chat: ChatHandlers):
    def use(state: PageState, composer, model_id, effort, event: gr.EventData, request: gr.Request):
        data = event_payload(event)
        return chat.use_template(
            str(data.get("id")), True, state, composer, model_id, effort, request
        )

    return use


def wire(ui: Layout, chat: ChatHandlers, sidebar: SidebarHandlers, demo: gr.Blocks) -> None:
    model_controls = _outputs(
        ui, "model", "effort", "detail", "badges", "composer", "temperature", "top_p", "max_tokens"
    )
    settings = _outputs(ui, "system_prompt", "temperature", "top_p", "max_tokens", "settings_note")
    emptiness = _outputs(ui, "chatbot", "starter", "tasks_row")
    view = [
        *_outputs(ui, "state", "starter_cards", "notice", "exported"),
        *emptiness,
        *model_controls,
        *settings,
    ]
    answer = [*emptiness, *_outputs(ui, "composer", "state", "notice", "conversations")]
    choice = _outputs(ui, "state", "model", "effort", "detail")

    # Page load: the browser's time zone goes with it; then the draft kept in the browser.
    loaded = demo.load(
        chat.load,
        [ui.state, ui.timezone],
        [*view, ui.conversations, ui.banner, ui.status_panel, ui.draft_tag],
        js=TIMEZONE_JS,
        **QUIET,
    )
    loaded.then(None, [ui.draft_tag], [ui.saved_draft], js=READ_DRAFT_JS, **PRIVATE).then(
        chat.restore_draft, [ui.saved_draft], [ui.composer], **QUIET
    )
    ui.composer.change(None, [ui.composer, ui.draft_tag], None, js=SAVE_DRAFT_JS, **PRIVATE)
    gr.Timer(STATUS_EVERY_S).tick(
        chat.refresh_status, [ui.model], [ui.model, ui.badges, ui.banner], **QUIET
    )
    ui.model.input(chat.model_changed, [ui.model, ui.effort, ui.detail], model_controls, **QUIET)

    # A turn, and the chat's own Regenerate and Edit, each stream an answer.
    answering = ui.composer.submit(
        chat.submit, [ui.state, ui.composer, *choice[1:]], answer, **QUIET
    )
    regenerating = ui.chatbot.retry(chat.regenerate, choice, answer, **QUIET)
    editing = ui.chatbot.edit(chat.edit, choice, answer, **QUIET)
    streams = [answering, regenerating, editing]
    for stream in streams:
        # Runs after the answer ends however it ends (done, failed, stopped, switched away).
        stream.then(chat.composer_idle, None, [ui.composer], queue=False, **QUIET)
    # The cancel is its own listener, registered first: Stop's render then runs after it.
    ui.composer.stop(None, None, None, cancels=streams, **PRIVATE)
    ui.composer.stop(chat.stopped, [ui.state], [ui.chatbot, ui.state], **QUIET)
    ui.chatbot.undo(
        chat.undo,
        [ui.state],
        [*emptiness, ui.state, ui.composer, ui.notice],
        cancels=streams,
        **QUIET,
    )

    # The sidebar.
    with_list = [*view, ui.conversations]
    ui.new_chat.click(chat.new_chat, [ui.state], with_list, cancels=streams, **QUIET)
    ui.search.change(sidebar.listed, [ui.state, ui.search], [ui.conversations], **QUIET)
    ui.conversations.conversation(
        sidebar.act, [ui.state, ui.search], with_list, cancels=streams, **QUIET
    )
    ui.export.click(sidebar.export, [ui.state], [ui.exported], **QUIET)
    ui.upload.upload(sidebar.import_file, [ui.state, ui.upload], with_list, **QUIET)

    # Task templates: starter cards (with sample images) and the task buttons.
    template_outputs = [ui.composer, ui.notice, *model_controls]
    template_inputs = [ui.state, ui.composer, ui.model, ui.effort]
    ui.starter_cards.template(_card_handler(chat), template_inputs, template_outputs, **QUIET)
    for template_id, button in ui.tasks.items():
        button.click(_task_handler(chat, template_id), template_inputs, template_outputs, **QUIET)

    # Per-conversation settings, saved when a field is left.
    fields = _outputs(ui, "system_prompt", "temperature", "top_p", "max_tokens")
    for field in fields:
        field.blur(chat.save_settings, [ui.state, *fields], [ui.state, ui.settings_note], **QUIET)
    ui.reset_settings.click(chat.reset_settings, [ui.state], [ui.state, *settings], **QUIET)
