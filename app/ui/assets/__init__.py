"""The page's CSS and JavaScript: page.css (a style in the head, as written: Gradio's `css`
parameter would rewrite its media rules), page.js (run once at load), and the short scripts
some events run in the browser (the time zone, the draft)."""

from __future__ import annotations

import json
from pathlib import Path

from app.i18n import EN, ZH, t

HERE = Path(__file__).parent
DRAFT_KEY = "vlm-webui-draft"

# Gradio's own words that it does not let the page translate, and ours the scripts need.
GRADIO_WORDS = {
    "Connection to the server was lost. Attempting reconnection...": "gradio.lost",
    "Error": "gradio.error",
    "Warning": "gradio.warning",
    "Info": "gradio.info",
    "Stop": "gradio.stop",
    "Submit": "gradio.submit",
    "Upload a file": "gradio.upload",
    "Remove file": "gradio.remove_file",
    "Toggle Sidebar": "gradio.toggle_sidebar",
    "Scroll down": "gradio.scroll_down",
    "Fullscreen": "gradio.fullscreen",
    "Copy conversation": "ui.copy_all",
}


def _words(lang: str) -> dict:
    return {
        "gradio": {english: t(key, lang) for english, key in GRADIO_WORDS.items()}
        if lang == ZH
        else {},
        "close": t("gradio.close", lang),
        "user": t("ui.role.user", lang),
        "assistant": t("ui.role.assistant", lang),
        "copied": t("chatbot.copied_message", lang),
    }


HEAD = f"<style>{(HERE / 'page.css').read_text(encoding='utf-8')}</style>"
PAGE_JS = (
    (HERE / "page.js")
    .read_text(encoding="utf-8")
    .replace("__DRAFT_KEY__", json.dumps(DRAFT_KEY))
    .replace("__STRINGS__", json.dumps({EN: _words(EN), ZH: _words(ZH)}, ensure_ascii=False))
)

TIMEZONE_JS = "(state, zone) => [state, Intl.DateTimeFormat().resolvedOptions().timeZone || '']"

# A draft is saved on every change once the saved one has been read back: the composer's first
# changes after a reload (its empty start, the load's update) must not overwrite the draft kept
# across the restart before it is restored.
SAVE_DRAFT_JS = f"""(value, tag) => {{
  try {{
    if (tag && window.vlmDraftRead) localStorage.setItem("{DRAFT_KEY}", JSON.stringify({{
      tag, text: (value && value.text) || "",
      files: ((value && value.files) || []).map((f) => f.path).filter(Boolean)}}));
  }} catch (e) {{}}
}}"""

# Also tells page.js whose draft it keeps as it is typed (see "the draft" there).
READ_DRAFT_JS = f"""(tag) => {{
  window.vlmDraftTag = tag;
  window.vlmDraftRead = true;
  try {{ return localStorage.getItem("{DRAFT_KEY}") || ""; }} catch (e) {{ return ""; }}
}}"""
