"""The one string table: everything a person reads, in English and Simplified Chinese.

Handlers pick the language from the browser's `Accept-Language`; the HTTP API answers in
English. Component labels go to Gradio as `gr.I18n` built from this same table, so a string
is written once per language and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.strings import STRINGS

EN = "en"
ZH = "zh-CN"
LANGUAGES = (EN, ZH)


def language_of(accept_language: str | None) -> str:
    """The page language for an `Accept-Language` header: Chinese if preferred over English."""
    best, best_q = EN, -1.0
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q <= 0:
            continue  # q=0: "not acceptable"
        q -= position * 1e-6  # earlier entries win ties, as browsers mean them
        if tag.startswith(("zh", "en")) and q > best_q:
            best, best_q = (ZH if tag.startswith("zh") else EN), q
    return best


def t(key: str, lang: str = EN, /, **params: Any) -> str:
    """The text for `key` in `lang`, with `{name}` placeholders filled in.

    A parameter that is itself a `{key, params}` record is put into words in the same language.
    """
    entry = STRINGS[key]
    template = entry[1] if lang == ZH else entry[0]
    words = {
        name: render_record(value, lang) if _is_record(value) else value
        for name, value in params.items()
    }
    return template.format(**words)


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("key"), str)


def record(key: str, /, **params: Any) -> dict[str, Any]:
    """A text to be put into words later, in the reader's language (stored as JSON)."""
    return {"key": key, "params": params}


def table(lang: str, keys: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every string of one language (or only `keys`), for Gradio's front-end translator."""
    chosen = keys if keys is not None else {k: k for k in STRINGS}
    index = 1 if lang == ZH else 0
    return {name: STRINGS[key][index] for name, key in chosen.items()}


class Problem(Exception):
    """An error a person reads: a key into the string table and its parameters.

    `str()` is the English text (logs, the HTTP API); `text(lang)` is for the page.
    """

    def __init__(self, key: str, /, **params: Any):
        self.key = key
        self.params = params
        super().__init__(t(key, EN, **params))

    def text(self, lang: str = EN) -> str:
        return t(self.key, lang, **self.params)

    def as_record(self) -> dict[str, Any]:
        """What is stored with a message, so a reload shows it in the reader's language."""
        return {"key": self.key, "params": self.params}


def render_record(value: Any, lang: str) -> str:
    """Text of a stored note or error: a `{key, params}` record, or a plain string (older rows).
    A record this version cannot word (an unknown key, parameters that do not fit) shows its key.
    """
    if not _is_record(value):
        return str(value)
    try:
        return t(value["key"], lang, **(value.get("params") or {}))
    except (KeyError, IndexError, ValueError):
        return value["key"]
