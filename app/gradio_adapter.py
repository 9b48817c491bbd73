"""Everything the app relies on that is a Gradio internal rather than its public API.

Kept in one place, each piece pinned by `tests/unit/test_gradio_adapter.py`, so a Gradio upgrade
that changes one of them fails the tests instead of silently opening or breaking something.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from starlette.routing import Mount

from app.gradio_lenient import LenientRadio

__all__ = ["LenientRadio"]  # defined apart: Gradio writes a .pyi stub next to a component

# Routes that serve files from disk (`/gradio_api/file=<path>`, plus older spellings).
FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/file/")
# The route the page uploads attachments to; it answers with a JSON list of the stored paths.
UPLOAD_ROUTE = "/gradio_api/upload"
# Streams a page keeps open: the heartbeat (always, even when idle) and the queue's event stream
# (while one of its events runs). A shutdown ends them once answers in flight are done.
LONG_LIVED_STREAMS = ("/gradio_api/heartbeat/", "/gradio_api/queue/data")

LoginLookup = Callable[[dict[str, str]], str | None]
# Class names and attributes of Gradio's markup that assets/page.js and page.css rely on.
FRONTEND_MARKUP = (
    "toast-body",
    "toast-title",
    "toast-text",
    "thumbnail-item",
    "thumbnails",
    "submit-button",
    "file-upload",
    "top-panel",
    "message-buttons",
    "message-row",
    "bot-row",
    "user-row",
    "thought-group",
    "image-container",
    "icon-button-wrapper",
    "toggle-button",
    "info-text",
    "block-info",
    "_Transparent_Rectangle_",  # the chat's trash icon, hidden (a new chat replaces it)
    "status-tracker",
    "progress-text",  # its hard-coded English "processing |", hidden
    "M23,20a5,5",  # the share icon, hidden (it only works on Spaces)
    "Copy conversation",
    "tab-wrapper",  # the Tabs' bar (page.css keeps it clear of the sidebar's button on a phone)
    "-button",  # a Tab's elem_id + "-button" is its button (the tests click #batch-tab-button)
)


def use_upload_folder(folder: Path) -> None:
    """Make Gradio keep uploads in `folder` (read by Gradio whenever it needs the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)


def upload_folder() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def serve_in_place(folder: Path) -> None:
    """Let the chat show stored media straight from `folder`.

    Otherwise Gradio hashes and copies every file in the history into its cache on every render,
    streaming updates included: over 100 ms per 150 MB video each time, blocking the event loop
    for every user (bench/bench_render.py). Access is still checked per owner (media_access.py).
    """
    gr.set_static_paths([str(folder)])


def file_route_target(path: str) -> str | None:
    """The filesystem path a file-route request asks for, or None for any other route."""
    for prefix in FILE_ROUTES:
        if path.startswith(prefix):
            return path[len(prefix) :]
    return None


def mounted_app(parent: FastAPI):
    """The Gradio app mounted on `parent` (it carries the login tokens and the stop event)."""
    for route in parent.routes:
        if isinstance(route, Mount) and hasattr(route.app, "tokens"):
            return route.app
    raise RuntimeError("the Gradio app is not mounted")


def event_payload(event: gr.EventData | None) -> dict:
    """What a custom event carries (`trigger('conversation', {...})` in a gr.HTML's script):
    whatever the client sent, so a dict to check field by field, or {} for anything else."""
    data = getattr(event, "_data", None)
    return data if isinstance(data, dict) else {}


def login_lookup(gradio_app) -> LoginLookup:
    """The logged-in user for a request's cookies (Gradio keeps login tokens in memory)."""

    def lookup(cookies: dict[str, str]) -> str | None:
        cookie_id = gradio_app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        return gradio_app.tokens.get(token) if token else None

    return lookup
