"""What a page's events carry, translated and checked: who asks, in which language, and which
of the files it names this owner really uploaded. Every value here came from the client."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import gradio as gr

from app.core import TurnRejected
from app.engine import Attachment
from app.i18n import language_of, t
from app.identity import owner_for
from app.store import Store


def request_owner(request: gr.Request | None) -> str:
    owner = owner_for(
        getattr(request, "username", None),
        dict(request.cookies) if request is not None else None,
    )
    if owner is None:
        raise gr.Error(t("page.no_cookie", request_language(request)))
    return owner


def request_language(request: gr.Request | None) -> str:
    headers = getattr(request, "headers", None) or {}
    return language_of(headers.get("accept-language"))


def composer_files(value: Any, owner: str, store: Store) -> list[Attachment]:
    """The composer's files, each one a file this owner uploaded through the page.

    The value comes from the client and can name any path: only files that Gradio's upload route
    received from this same owner are taken (recorded by `UploadRecorder`); anything else is
    refused before anything is read or stored.
    """
    files = value.get("files") if isinstance(value, dict) else None
    attachments = []
    for item in files if isinstance(files, list) else []:
        path = (
            item if isinstance(item, str) else item.get("path") if isinstance(item, dict) else None
        )
        name = item.get("orig_name") if isinstance(item, dict) else None
        if not isinstance(path, str) or not path:
            continue
        shown = name if isinstance(name, str) and name else Path(path).name
        attachments.append(Attachment(owned_upload(path, owner, store, shown), shown))
    return attachments


def owner_tag(owner: str) -> str:
    """A one-way tag of the owner, so a draft saved in this browser is only restored for them."""
    return hashlib.sha256(f"draft:{owner}".encode()).hexdigest()[:24]


def restored_draft(saved: Any, owner: str, store: Store) -> dict[str, Any] | None:
    """The composer value kept in the browser across a reconnect, if it is this owner's: its
    text, and those of its files this owner uploaded that are still on the server."""
    try:
        draft = json.loads(saved) if isinstance(saved, str) and saved else None
    except ValueError:
        return None
    if not isinstance(draft, dict) or draft.get("tag") != owner_tag(owner):
        return None
    text = draft.get("text") if isinstance(draft.get("text"), str) else ""
    files = []
    for path in draft.get("files") if isinstance(draft.get("files"), list) else []:
        with contextlib.suppress(TurnRejected):
            files.append(str(owned_upload(path, owner, store, "")))
    return {"text": text, "files": files} if text or files else None


def owned_upload(path: Any, owner: str, store: Store, shown: str) -> Path:
    """`path` if this owner uploaded it through the page and it is still there; else refuse."""
    real = os.path.realpath(path) if isinstance(path, str) else ""
    if not real or not store.uploads.owns(owner, real):
        raise TurnRejected("upload.not_yours", name=shown)
    if not os.path.isfile(real):
        raise TurnRejected("upload.expired", name=shown)
    return Path(real)


def batch_files(value: Any, owner: str, store: Store) -> list[tuple[Path, str]]:
    """The Batch tab's dropped files as (path, name shown), each one a file this owner
    uploaded through the page (else the whole start is refused, naming the file).

    `value` is the File component's raw value (the event does not preprocess it, so the name
    the browser gave each file is kept: Gradio's upload route strips characters such as ':'
    from the name on disk)."""
    items = value if isinstance(value, list) else [value] if value else []
    chosen = []
    for item in items:
        path = (
            item if isinstance(item, str) else item.get("path") if isinstance(item, dict) else None
        )
        if not isinstance(path, str) or not path:
            continue
        name = item.get("orig_name") if isinstance(item, dict) else None
        shown = name if isinstance(name, str) and name.strip() else Path(path).name
        shown = Path(shown.replace("\\", "/")).name or Path(path).name  # a name, never a path
        chosen.append((owned_upload(path, owner, store, shown), shown))
    return chosen
