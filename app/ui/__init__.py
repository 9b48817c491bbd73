"""The Gradio page: layout (layout.py) apart from wiring (wiring.py), handlers that translate
between Gradio values and the engine (chat.py, sidebar.py), pure rendering (render.py)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.services import Services
from app.ui.assets import HEAD, PAGE_JS
from app.ui.batch import BatchHandlers
from app.ui.batch_wiring import wire_batch
from app.ui.chat import ChatHandlers
from app.ui.labels import I18N
from app.ui.layout import render_layout
from app.ui.sidebar import SidebarHandlers
from app.ui.wiring import wire


def launch_options() -> dict[str, Any]:
    """Options Gradio takes at mount time rather than in Blocks()."""
    return {"head": HEAD, "i18n": I18N, "theme": gr.themes.Soft(), "js": PAGE_JS}


def build_ui(services: Services) -> gr.Blocks:
    # Uploads are cleaned by app/janitor.py, not by Gradio's delete_cache: that one empties the
    # folder on every restart, which would lose the attachments of a draft kept across it.
    with gr.Blocks(title="VLM Chat", fill_height=True) as demo:
        ui = render_layout()
        chat = ChatHandlers(services, ui)
        wire(ui, chat, SidebarHandlers(services, chat), demo)
        wire_batch(ui.batch, BatchHandlers(services, ui.batch), ui.timezone)
    return demo
