"""A Gradio component subclass, in a module of its own: Gradio writes a `.pyi` stub (a copy of
the module's source) next to any module that defines a component class (ignored by git)."""

from __future__ import annotations

import gradio as gr


class LenientRadio(gr.Radio):
    """A Radio whose value the handlers check instead of Gradio.

    The effort levels change with the model. An event sent while the page is still applying
    that change (the model picker fires its `input` twice) carries the old level, and Gradio's
    own check ("Value: 'medium' ... is not in the list of choices: []") would fail the event with
    an error toast. The engine already takes an unknown level as the model's default.
    `is_template` makes Gradio draw it with its own Radio (the block name of the base class).
    """

    is_template = True

    def preprocess(self, payload: str | int | float | None) -> str | None:
        return payload if isinstance(payload, str) else None
