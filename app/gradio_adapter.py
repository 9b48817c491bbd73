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

# Routes that serve files from disk (`/gradio_api/file=<path>`, plus older spellings).
FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/file/")
# The route the page uploads attachments to; it answers with a JSON list of the stored paths.
UPLOAD_ROUTE = "/gradio_api/upload"
# Streams a page keeps open: the heartbeat (always, even when idle) and the queue's event stream
# (while one of its events runs). A shutdown ends them once answers in flight are done.
LONG_LIVED_STREAMS = ("/gradio_api/heartbeat/", "/gradio_api/queue/data")

LoginLookup = Callable[[dict[str, str]], str | None]

# Run once when the page loads (mount_gradio_app's `js`), relying on Gradio's page internals:
# - A page whose server restarted holds a session the new process does not know. Gradio
#   reloads such a page only when one of its events fails while the server is down; this
#   checks the app id Gradio gives each process (`window.gradio_config.app_id`, the route
#   `gradio_api/app_id`: the same check Gradio's own reconnect makes) and reloads as soon as it
#   changes. The draft is kept in the browser and comes back after the reload.
# - Gradio's error and warning toasts (`.toast-body.error`, `.warning`) are announced politely
#   (role=status); a problem is an alert, for screen readers and for tests alike.
PAGE_JS = """
() => {
  new MutationObserver(() => {
    const toasts = ".toast-body.error:not([role=alert]), .toast-body.warning:not([role=alert])";
    for (const toast of document.querySelectorAll(toasts)) {
      toast.setAttribute("role", "alert");
    }
  }).observe(document.body, {childList: true, subtree: true});
  const known = () => window.gradio_config && window.gradio_config.app_id;
  const check = async () => {
    try {
      const response = await fetch("gradio_api/app_id", {cache: "no-store"});
      if (!response.ok) return;
      const {app_id} = await response.json();
      if (known() && app_id !== known()) window.location.reload();
    } catch (e) {}
  };
  setInterval(check, 3000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) check(); });
}
"""


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


def login_lookup(gradio_app) -> LoginLookup:
    """The logged-in user for a request's cookies (Gradio keeps login tokens in memory)."""

    def lookup(cookies: dict[str, str]) -> str | None:
        cookie_id = gradio_app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        return gradio_app.tokens.get(token) if token else None

    return lookup
