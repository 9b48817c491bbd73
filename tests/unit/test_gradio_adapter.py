"""Pins every Gradio internal the app relies on (app/gradio_adapter.py): a Gradio upgrade that
moves a route, renames a markup class or changes how State and logins work fails here first,
instead of silently opening the owner boundary or breaking the page's scripts."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import gradio_adapter
from app.ui.state import PageState


@pytest.fixture(scope="module")
def mounted():
    """A tiny page mounted the way app/server.py mounts ours, with logins on."""
    with gr.Blocks() as demo:
        state = gr.State(PageState())
        shown = gr.Textbox(elem_id="shown")
        button = gr.Button(elem_id="go")
        button.click(lambda page: page.conversation_id, [state], [shown], api_visibility="private")
    parent = gr.mount_gradio_app(FastAPI(), demo, path="/", auth=[("ada", "pw")])
    with TestClient(parent) as client:
        yield parent, client


def test_file_upload_and_app_id_routes_are_where_the_app_expects(mounted):
    _, client = mounted
    client.post("/login", data={"username": "ada", "password": "pw"})
    assert client.get("/gradio_api/app_id").json()["app_id"]  # page.js: a restarted server
    response = client.post(  # UPLOAD_ROUTE: UploadRecorder records the paths it answers with
        gradio_adapter.UPLOAD_ROUTE, files={"files": ("a.txt", b"hello", "text/plain")}
    )
    (stored,) = response.json()
    assert Path(stored).is_relative_to(gradio_adapter.upload_folder())
    for route in gradio_adapter.FILE_ROUTES[:2]:  # what OwnerBoundary checks
        assert client.get(route + stored).content == b"hello", route
        target = gradio_adapter.file_route_target(route + stored)
        assert target == stored
    assert gradio_adapter.file_route_target(gradio_adapter.UPLOAD_ROUTE) is None
    assert all(route.startswith("/gradio_api/") for route in gradio_adapter.LONG_LIVED_STREAMS)


def test_login_tokens_identify_the_user(mounted):
    parent, client = mounted
    lookup = gradio_adapter.login_lookup(gradio_adapter.mounted_app(parent))
    assert lookup({}) is None
    response = client.post("/login", data={"username": "ada", "password": "pw"})
    assert response.status_code == 200
    assert lookup(dict(client.cookies)) == "ada"
    assert lookup({name: "forged" for name in client.cookies}) is None


def test_state_is_held_by_the_server_and_cannot_be_set_by_a_client(mounted):
    """The page's conversation id lives in gr.State: a value a client sends for it is ignored."""
    _, client = mounted
    client.post("/login", data={"username": "ada", "password": "pw"})
    config = client.get("/config").json()
    (dependency,) = [d for d in config["dependencies"] if d.get("backend_fn")]
    assert dependency["api_visibility"] == "private"  # not a named API endpoint
    body = {
        "data": [{"conversation_id": "someone-elses"}],
        "fn_index": dependency["id"],
        "session_hash": "attacker",
        "event_data": None,
    }
    assert client.post("/gradio_api/queue/join", json=body).status_code == 200
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": "attacker"}) as s:
        for line in s.iter_lines():
            if line.startswith("data: ") and '"process_completed"' in line:
                completed = json.loads(line[6:])
                break
    assert completed["success"] and completed["output"]["data"] == [None]


def test_upload_folder_and_files_served_in_place(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    gradio_adapter.use_upload_folder(tmp_path / "uploads")
    assert gradio_adapter.upload_folder() == (tmp_path / "uploads").resolve()
    from gradio import utils

    media = tmp_path / "media"
    media.mkdir()
    gradio_adapter.serve_in_place(media)
    assert utils.is_static_file(media / "x.png")  # not hashed and copied on every render


def test_custom_event_payload():
    assert gradio_adapter.event_payload(gr.EventData(None, {"action": "open", "id": "c1"})) == {
        "action": "open",
        "id": "c1",
    }
    for odd in (None, "open", ["open"], 3):
        assert gradio_adapter.event_payload(gr.EventData(None, odd)) == {}
    assert gradio_adapter.event_payload(None) == {}


def test_the_markup_the_page_scripts_rely_on_is_in_gradios_frontend():
    frontend = Path(gr.__file__).parent / "templates" / "frontend"
    bundle = "".join(
        path.read_text(encoding="utf-8", errors="ignore")
        for pattern in ("*.js", "*.css")
        for path in frontend.rglob(pattern)
    )
    missing = [name for name in gradio_adapter.FRONTEND_MARKUP if name not in bundle]
    assert missing == []
    assert "window.gradio_config" in bundle or "gradio_config" in bundle


def test_lenient_radio_is_drawn_as_a_radio_and_passes_an_old_level():
    from app.gradio_adapter import LenientRadio

    radio = LenientRadio(choices=[], visible=False)
    assert radio.get_block_name() == "radio"
    assert radio.preprocess("medium") == "medium"  # the engine takes it as the default
    assert radio.preprocess(3) is None
    with pytest.raises(gr.Error):
        gr.Radio(choices=[]).preprocess("medium")  # what Gradio itself would do
