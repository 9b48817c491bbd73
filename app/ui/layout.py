"""The page's components and where they sit; nothing here reacts to anything (see wiring.py).

    ┌ sidebar ─────────────┐ ┌ header: model · effort · image detail · badges ─────────────┐
    │ new chat · search    │ │ chat (or, while it is empty, the starter cards)             │
    │ conversations by day │ │ task buttons · a notice about the question being sent      │
    │ this chat's settings │ │ composer                                                    │
    │ export · import      │ └─────────────────────────────────────────────────────────────┘
    │ model services       │
    └──────────────────────┘
On a phone the sidebar is a drawer over the chat, opened from its button and closed when a
conversation is picked; the header is one compact row.

The chat is the first of two tabs (Chat, Batch) to the right of the sidebar; the Batch tab's
components are in ui/batch_layout.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.gradio_adapter import LenientRadio
from app.templates import templates
from app.ui.batch_layout import BatchLayout, render_batch_layout
from app.ui.labels import L
from app.ui.state import PageState

ACCEPTED_FILES = ["image", "video", ".heic", ".heif", ".mkv", ".webm", ".mov"]
MAX_PLAIN_TEXT = 1_000_000  # longer pastes would become a .txt attachment (refused)

CONVERSATIONS_JS = """
const words = () => element.querySelector('.conv-list')?.dataset || {};
const rowOf = (node) => node.closest('.conv-row');
// Asking and renaming happen in the row itself; giving up puts the row back as it was, here,
// since the list the server would send back is the same and would not be redrawn.
const restore = (row) => {
  if (row.dataset.html === undefined) return;
  row.innerHTML = row.dataset.html;
  delete row.dataset.html;
  row.classList.remove('confirming', 'renaming');
};
const remember = (row) => { if (row.dataset.html === undefined) row.dataset.html = row.innerHTML; };
element.addEventListener('click', (event) => {
  const row = rowOf(event.target);
  if (!row) return;
  const id = row.dataset.id;
  if (event.target.closest('.conv-delete')) {
    event.stopPropagation();
    remember(row);
    row.classList.add('confirming');
    row.querySelector('.conv-actions').innerHTML =
      `<button type="button" class="conv-confirm">${words().delete}</button>` +
      `<button type="button" class="conv-keep">${words().cancel}</button>`;
    row.querySelector('.conv-title').textContent = words().confirm;
    return;
  }
  if (event.target.closest('.conv-confirm')) { trigger('conversation', {action: 'delete', id}); return; }
  if (event.target.closest('.conv-keep')) { event.stopPropagation(); restore(row); return; }
  if (event.target.closest('.conv-rename')) {
    event.stopPropagation();
    remember(row);
    row.classList.add('renaming');
    const input = document.createElement('input');
    input.className = 'conv-title-input';
    input.value = row.title;
    row.querySelector('.conv-title').replaceWith(input);
    input.focus(); input.select();
    const done = (save) => {
      if (input.dataset.done) return;
      input.dataset.done = '1';
      const title = input.value.trim();
      if (save && title && title !== row.title) trigger('conversation', {action: 'rename', id, title});
      else restore(row);
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); done(true); }
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); done(false); }
    });
    input.addEventListener('blur', () => done(true));
    return;
  }
  if (event.target.closest('input') || row.classList.contains('confirming')) return;
  trigger('conversation', {action: 'open', id});
  if (window.innerWidth <= 768) document.querySelector('#sidebar .toggle-button')?.click();
});
element.addEventListener('keydown', (event) => {
  const row = rowOf(event.target);
  if (row && event.key === 'Enter' && event.target === row) trigger('conversation', {action: 'open', id: row.dataset.id});
});
"""


@dataclass
class Layout:
    state: gr.State
    draft_tag: gr.Textbox
    saved_draft: gr.Textbox
    timezone: gr.Textbox
    # sidebar
    sidebar: gr.Sidebar
    new_chat: gr.Button
    search: gr.Textbox
    conversations: gr.HTML
    export: gr.Button
    exported: gr.HTML
    upload: gr.UploadButton
    status_panel: gr.Accordion
    banner: gr.Markdown
    # header
    model: gr.Dropdown
    badges: gr.HTML
    effort: gr.Radio
    detail: gr.Radio
    settings_panel: gr.Accordion
    system_prompt: gr.Textbox
    temperature: gr.Number
    top_p: gr.Number
    max_tokens: gr.Number
    reset_settings: gr.Button
    settings_note: gr.Markdown
    # chat
    starter: gr.Column
    starter_cards: gr.HTML
    chatbot: gr.Chatbot
    tasks_row: gr.Row
    tasks: dict[str, gr.Button]
    notice: gr.HTML
    composer: gr.MultimodalTextbox
    # the Batch tab (ui/batch_layout.py)
    tabs: gr.Tabs
    batch: BatchLayout


STARTER_JS = """
element.addEventListener('click', (event) => {
  const card = event.target.closest('button[data-template]');
  if (card) trigger('template', {id: card.dataset.template});
});
"""


def render_layout() -> Layout:
    """Builds the components inside the current Blocks."""
    # Gradio deep-copies the value for each page (a callable would become a public endpoint).
    state = gr.State(PageState())
    draft_tag = gr.Textbox(visible=False)
    saved_draft = gr.Textbox(visible=False)
    timezone = gr.Textbox(visible=False)

    with gr.Sidebar(open=False, elem_id="sidebar", width=290) as sidebar:
        new_chat = gr.Button(L("ui.new_chat"), elem_id="new-chat", variant="primary", size="sm")
        search = gr.Textbox(
            label=L("ui.search"),  # read by screen readers; Gradio's default is "Textbox"
            placeholder=L("ui.search"),
            show_label=False,
            elem_id="conversation-search",
            max_lines=1,
            container=False,
        )
        conversations = gr.HTML("", elem_id="conversations", js_on_load=CONVERSATIONS_JS)
        with gr.Accordion(L("ui.settings"), open=False, elem_id="settings") as settings_panel:
            system_prompt = gr.Textbox(
                label=L("ui.system_prompt"),
                placeholder=L("ui.system_prompt.placeholder"),
                lines=2,
                max_lines=8,
                elem_id="system-prompt",
            )
            temperature = gr.Number(
                label=L("ui.temperature"), minimum=0, maximum=2, step=0.1, elem_id="temperature"
            )
            top_p = gr.Number(label=L("ui.top_p"), minimum=0, maximum=1, step=0.05, elem_id="top-p")
            max_tokens = gr.Number(
                label=L("ui.max_tokens"), minimum=1, precision=0, elem_id="max-tokens"
            )
            reset_settings = gr.Button(L("ui.reset"), size="sm", elem_id="reset-settings")
            settings_note = gr.Markdown(elem_id="settings-note")
        with gr.Column(elem_id="sidebar-tools"):
            export = gr.Button(L("ui.export"), elem_id="export", size="sm")
            exported = gr.HTML(visible=False, elem_id="exported")
            upload = gr.UploadButton(
                L("ui.import"), file_types=[".json"], elem_id="import", size="sm"
            )
        with gr.Accordion(L("ui.backends"), open=False, elem_id="status-panel") as status_panel:
            banner = gr.Markdown(elem_id="status-banner")

    # The chat in the first tab, batch jobs in the second (ui/batch_layout.py).
    with gr.Tabs(elem_id="tabs", selected="chat") as tabs:
        with gr.Tab(L("batch.ui.tab_chat"), id="chat", elem_id="chat-tab", scale=1):
            chat = _render_chat()
        batch = render_batch_layout()  # its own Tab
    return Layout(
        state=state,
        draft_tag=draft_tag,
        saved_draft=saved_draft,
        timezone=timezone,
        sidebar=sidebar,
        new_chat=new_chat,
        search=search,
        conversations=conversations,
        export=export,
        exported=exported,
        upload=upload,
        status_panel=status_panel,
        banner=banner,
        settings_panel=settings_panel,
        system_prompt=system_prompt,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        reset_settings=reset_settings,
        settings_note=settings_note,
        tabs=tabs,
        batch=batch,
        **chat,
    )


def _render_chat() -> dict[str, Any]:
    """The chat tab: the header, the chat (or the starter cards), the composer."""
    with gr.Row(elem_id="header", equal_height=False):
        # Each control in its own column: Gradio would otherwise put the radios in one box.
        with gr.Column(min_width=0, elem_id="model-column"):
            model = gr.Dropdown(
                label=L("ui.model"),
                elem_id="model",
                choices=[],
                interactive=True,
                allow_custom_value=True,  # the engine checks the model; no Gradio error toast
            )
            badges = gr.HTML(elem_id="model-badges", min_height=0)
        with gr.Column(min_width=0, elem_id="effort-column"):
            effort = LenientRadio(label=L("ui.effort"), elem_id="effort", choices=[], visible=False)
        with gr.Column(min_width=0, elem_id="detail-column"):
            detail = gr.Radio(
                label=L("ui.detail"), elem_id="detail", choices=[], info=L("ui.detail.info")
            )

    with gr.Column(visible=True, elem_id="starter", scale=1) as starter:
        gr.Markdown(L("ui.empty.title"), elem_id="starter-title")
        gr.Markdown(L("ui.empty.hint"), elem_id="starter-hint")
        starter_cards = gr.HTML(elem_id="starter-cards", js_on_load=STARTER_JS)
    chatbot = gr.Chatbot(
        elem_id="chatbot",
        show_label=False,
        scale=1,
        visible=False,  # until there is something to show; the starter cards take its place
        buttons=["copy", "copy_all"],  # copy_all gives a clean transcript (assets/page.js)
        layout="bubble",
        group_consecutive_messages=False,  # grouped, a question with images cannot be edited
        editable="user",
        feedback_options=[],
        allow_tags=True,
    )
    with gr.Row(elem_id="tasks", visible=False) as tasks_row:
        tasks = {
            tpl.id: gr.Button(
                L(f"template.{tpl.id}"), size="sm", elem_classes=["task"], elem_id=f"task-{tpl.id}"
            )
            for tpl in templates()
        }
    notice = gr.HTML(elem_id="composer-notice")
    composer = gr.MultimodalTextbox(
        elem_id="composer",
        label=L("ui.composer"),  # read by screen readers; Gradio's default is its class name
        show_label=False,
        placeholder=L("ui.placeholder.media"),
        file_types=ACCEPTED_FILES,
        file_count="multiple",
        sources=["upload"],
        stop_btn=False,  # shown only while an answer streams
        max_plain_text_length=MAX_PLAIN_TEXT,
        autofocus=True,
    )
    return {
        "model": model,
        "badges": badges,
        "effort": effort,
        "detail": detail,
        "starter": starter,
        "starter_cards": starter_cards,
        "chatbot": chatbot,
        "tasks_row": tasks_row,
        "tasks": tasks,
        "notice": notice,
        "composer": composer,
    }
