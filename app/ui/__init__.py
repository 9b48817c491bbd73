"""The Gradio Blocks page: layout and event wiring only; handlers live in `handlers.py`."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.gradio_adapter import PAGE_JS
from app.services import Services
from app.ui.conversations import ConversationHandlers
from app.ui.handlers import ChatHandlers

CSS = """
#chatbot { flex-grow: 1; }
#status-panel .prose { font-size: 0.9em; }
footer { display: none !important; }
"""

I18N = gr.I18n(
    en={
        "model": "Model",
        "effort": "Reasoning effort",
        "detail": "Image detail",
        "new_chat": "New chat",
        "composer": "Ask about your images and videos (drag, paste or click 📎)",
        "backends": "Backends",
        "manage": "This conversation",
        "title": "Title",
        "rename": "Rename",
        "delete": "Delete",
        "confirm_delete": "Yes, delete",
        "cancel": "Cancel",
        "export": "Export (JSON + Markdown)",
        "import": "Import JSON",
    },
    **{
        "zh-CN": {
            "model": "模型",
            "effort": "推理强度",
            "detail": "图片细节",
            "new_chat": "新对话",
            "composer": "拖入、粘贴或点击 📎 添加图片和视频，然后提问",
            "backends": "后端状态",
            "manage": "当前对话",
            "title": "标题",
            "rename": "重命名",
            "delete": "删除",
            "confirm_delete": "确认删除",
            "cancel": "取消",
            "export": "导出（JSON + Markdown）",
            "import": "导入 JSON",
        }
    },
)

DRAFT_KEY = "vlm-webui-draft"
SAVE_DRAFT_JS = f"""(value, tag) => {{
  try {{
    if (tag) localStorage.setItem("{DRAFT_KEY}", JSON.stringify({{
      tag, text: (value && value.text) || "",
      files: ((value && value.files) || []).map((f) => f.path).filter(Boolean)}}));
  }} catch (e) {{}}
}}"""
READ_DRAFT_JS = f"""() => {{
  try {{ return localStorage.getItem("{DRAFT_KEY}") || ""; }} catch (e) {{ return ""; }}
}}"""
ACCEPTED_FILES = ["image", "video", ".heic", ".heif", ".mkv", ".webm", ".mov"]


def launch_options() -> dict[str, Any]:
    """Options Gradio takes at mount time rather than in Blocks()."""
    return {
        "css": CSS,
        "i18n": I18N,
        "theme": gr.themes.Soft(),
        "js": PAGE_JS,
    }


def build_ui(services: Services) -> gr.Blocks:
    ui = ChatHandlers(services)
    sidebar = ConversationHandlers(services)
    # Uploads are cleaned by app/janitor.py, not by Gradio's delete_cache: that one empties the
    # folder on every restart, which would lose the attachments of a draft kept across it.
    with gr.Blocks(title="VLM Chat", fill_height=True) as demo:
        conversation_id = gr.State(None)
        live_turn = gr.State(None)
        # The draft is kept in the browser (localStorage) so a reload after a server restart
        # does not lose it; the tag ties it to this owner, the box carries it to the server.
        draft_tag = gr.Textbox(visible=False)
        saved_draft = gr.Textbox(visible=False)

        with gr.Sidebar(open=True, elem_id="sidebar"):
            new_chat = gr.Button(I18N("new_chat"), elem_id="new-chat", variant="primary")
            search = gr.Textbox(
                placeholder="Search titles and messages / 搜索",
                show_label=False,
                elem_id="conversation-search",
                max_lines=1,
            )
            conversations = gr.Radio(
                choices=[], show_label=False, elem_id="conversations", container=False
            )
            with gr.Accordion(I18N("manage"), open=False, elem_id="manage"):
                title = gr.Textbox(label=I18N("title"), elem_id="conversation-title", max_lines=1)
                rename = gr.Button(I18N("rename"), elem_id="rename", size="sm")
                delete = gr.Button(I18N("delete"), elem_id="delete", size="sm", variant="stop")
                with gr.Group(visible=False, elem_id="confirm-delete") as confirm_box:
                    confirm_text = gr.Markdown()
                    with gr.Row():
                        confirm = gr.Button(
                            I18N("confirm_delete"), elem_id="confirm-delete-yes", variant="stop"
                        )
                        cancel = gr.Button(I18N("cancel"), elem_id="confirm-delete-no")
                export = gr.Button(I18N("export"), elem_id="export", size="sm")
                exported = gr.HTML(visible=False, elem_id="exported")
                upload = gr.UploadButton(
                    I18N("import"), file_types=[".json"], elem_id="import", size="sm"
                )

        with gr.Row(equal_height=True):
            model = gr.Dropdown(
                label=I18N("model"),
                elem_id="model",
                choices=[],
                scale=4,
                interactive=True,
                allow_custom_value=True,  # the engine checks the model; no Gradio error toast
            )
            effort = gr.Radio(label=I18N("effort"), elem_id="effort", choices=[], scale=2)
            detail = gr.Radio(
                ["low", "high"], value="low", label=I18N("detail"), elem_id="detail", scale=1
            )
        with gr.Accordion(I18N("backends"), open=False, elem_id="status-panel") as status_panel:
            banner = gr.Markdown(elem_id="status-banner")

        chatbot = gr.Chatbot(
            elem_id="chatbot",
            show_label=False,
            height="calc(100vh - 290px)",
            min_height=320,
            buttons=["copy", "copy_all"],
            layout="bubble",
            placeholder="**Drop images or videos below and ask a question.**\n\n"
            "拖入图片或视频，然后提问。",
        )
        composer = gr.MultimodalTextbox(
            elem_id="composer",
            show_label=False,
            placeholder="Ask about your images and videos… / 针对图片或视频提问…",
            file_types=ACCEPTED_FILES,
            file_count="multiple",
            sources=["upload"],
            stop_btn=False,  # shown only while an answer streams (ChatHandlers.submit)
            max_plain_text_length=1_000_000,
            autofocus=True,
        )

        list_io = ([search, conversation_id], [conversations])
        loaded = demo.load(
            ui.load,
            None,
            [chatbot, conversation_id, model, effort, detail, banner, status_panel, draft_tag],
        )
        loaded.then(sidebar.refresh_list, *list_io)
        loaded.then(None, None, [saved_draft], js=READ_DRAFT_JS).then(
            ui.restore_draft, [saved_draft], [composer], show_progress="hidden"
        )
        composer.change(None, [composer, draft_tag], None, js=SAVE_DRAFT_JS)
        gr.Timer(10).tick(
            ui.refresh_status, [model], [model, banner, status_panel], show_progress="hidden"
        )
        model.change(ui.effort_update, [model, effort], [effort], show_progress="hidden")

        answering = composer.submit(
            ui.submit,
            [composer, conversation_id, model, effort, detail],
            [chatbot, composer, conversation_id, live_turn],
            show_progress="hidden",
        )
        answering.then(sidebar.refresh_list, *list_io, show_progress="hidden")
        # Runs after the answer ends however it ends (done, failed, stopped, switched away).
        answering.then(ui.composer_idle, None, [composer], queue=False, show_progress="hidden")
        # The cancel is its own listener, registered first: Stop's render then runs after it.
        composer.stop(None, None, None, cancels=[answering])
        composer.stop(ui.stopped, [live_turn, chatbot], [chatbot])

        new_chat.click(
            ui.new_chat, None, [chatbot, conversation_id, live_turn], cancels=[answering]
        ).then(sidebar.refresh_list, *list_io)
        search.change(sidebar.refresh_list, *list_io, show_progress="hidden")
        conversations.input(
            sidebar.switch,
            [conversations],
            [chatbot, conversation_id, model, effort, detail, title],
            cancels=[answering],
            api_name="switch_conversation",
        )
        rename.click(sidebar.rename, [conversation_id, title, search], [conversations])
        title.submit(sidebar.rename, [conversation_id, title, search], [conversations])
        delete.click(sidebar.ask_delete, [conversation_id], [confirm_box, confirm_text])
        cancel.click(lambda: gr.update(visible=False), None, [confirm_box])
        confirm.click(
            sidebar.confirm_delete,
            [conversation_id, search],
            [confirm_box, conversations, chatbot, conversation_id, title],
            cancels=[answering],
        )
        export.click(sidebar.export, [conversation_id], [exported], api_name="export_conversation")
        upload.upload(
            sidebar.import_file, [upload], [conversations, title, chatbot, conversation_id]
        )
    return demo
