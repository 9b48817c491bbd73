"""The page's labels for Gradio's front-end translator, from the one string table (and the
template titles from templates.json); `L(key)` labels a component in the browser's language."""

from __future__ import annotations

import gradio as gr

from app.i18n import EN, LANGUAGES, ZH, table
from app.strings import STRINGS
from app.templates import templates

# Keys the browser translates itself; Gradio's own (chatbot.*, common.*) override its defaults.
FRONT_END_PREFIXES = ("ui.", "badge.", "status.", "chatbot.", "common.", "batch.ui.")


def _labels(lang: str) -> dict[str, str]:
    labels = table(lang, {k: k for k in STRINGS if k.startswith(FRONT_END_PREFIXES)})
    labels.update({f"template.{tpl.id}": tpl.title_in(lang) for tpl in templates()})
    return labels


I18N = gr.I18n(**{lang: _labels(lang) for lang in LANGUAGES})
assert set(I18N.translations_dict[EN]) == set(I18N.translations_dict[ZH])


def L(key: str) -> gr.I18nData:
    return I18N(key)
