"""The owner boundary, attacked as a hostile client would: raw HTTP to Gradio's queue and file
routes, gradio_client, another anonymous browser, another logged-in user and no cookie at all.

Each attack asserts the exact safe outcome, and each has a positive control: the owner still
gets their own media and exports.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.conftest import LiveServer, start_server
from tests.media_factory import make_animated_gif, make_png, make_video
from tests.raw_gradio import EventFailed, RawPage

FILE_ROUTE = "/gradio_api/file="
NOT_UPLOADED = "was not uploaded from this page"


@dataclass
class Victim:
    """Alice: a conversation with an image and a video, at low and then at high detail."""

    page: RawPage
    image: Path  # her image as stored (served in place to the chat)
    video: Path
    data_dir: Path

    @property
    def image_sha(self) -> str:
        return self.image.name[:64]

    @property
    def video_sha(self) -> str:
        return self.video.name[:64]


def chat_files(chat: list) -> list[str]:
    return [
        part["file"]["path"]
        for message in chat
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "file"
    ]


def chat_text(chat: list) -> str:
    return json.dumps(chat, ensure_ascii=False)


def make_victim(server: LiveServer, page: RawPage, tmp: Path) -> Victim:
    page.trigger("page", "load")
    image = page.upload(make_png(tmp / "alice-receipt.png", "navy", (300, 200)))
    video = page.upload(make_video(tmp / "alice-screen.mp4", seconds=3))
    model = "Step3-VL-10B"  # takes videos as frames: their frames are stored too
    page.trigger(
        "composer", "submit", composer={"text": "Alice asks", "files": [image, video]}, model=model
    )
    chat = page.trigger(
        "composer", "submit", composer={"text": "Again, closer"}, detail="high", model=model
    )["chatbot"]
    stored = sorted(chat_files(chat), key=lambda p: p.endswith(".mp4"))
    return Victim(page, Path(stored[0]), Path(stored[1]), server.data_dir)


@pytest.fixture(scope="module")
def server(fake_upstream, tmp_path_factory):
    root = tmp_path_factory.mktemp("boundary")
    server = start_server(fake_upstream, root / "data", root, LOCAL_MODELS="Step3-VL-10B")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def victim(server, fake_upstream, tmp_path_factory) -> Victim:
    fake_upstream.reset()
    return make_victim(server, RawPage(server.url), tmp_path_factory.mktemp("alice"))


def counts(data_dir: Path) -> tuple[int, int, int]:
    """(messages, media rows, blobs on disk)."""
    database = sqlite3.connect(data_dir / "webui.sqlite3")
    try:
        messages = database.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        media = database.execute("SELECT COUNT(*) FROM media").fetchone()[0]
    finally:
        database.close()
    blobs = [p for p in (data_dir / "media" / "blobs").rglob("*") if p.is_file()]
    return messages, media, len(blobs)


# -- 1. a page can only attach what its own owner uploaded ----------------------------------------


def attack_paths(victim: Victim, outside: Path) -> dict[str, str]:
    blob = victim.image
    return {
        "another owner's stored image": str(blob),
        "the same through ..": str(
            victim.data_dir / "uploads" / ".." / blob.relative_to(victim.data_dir)
        ),
        "another owner's upload": next(
            str(p) for p in (victim.data_dir / "uploads").rglob("*.png")
        ),
        "any image on the server": str(outside),
        "a relative path": "../" * 12 + str(outside).lstrip("/"),
    }


@pytest.mark.parametrize(
    "which",
    [
        "another owner's stored image",
        "the same through ..",
        "another owner's upload",
        "any image on the server",
        "a relative path",
    ],
)
def test_page_cannot_attach_a_file_it_did_not_upload(server, victim, upstream, tmp_path, which):
    outside = make_png(tmp_path / "server-secret.png", "red")
    path = attack_paths(victim, outside)[which]
    mallory = RawPage(server.url)
    mallory.trigger("page", "load")
    before, requests_before = counts(server.data_dir), len(upstream.chat_requests())
    shown = mallory.trigger(
        "composer",
        "submit",
        composer={"text": "steal", "files": [{"path": path, "meta": {"_type": "gradio.FileData"}}]},
    )
    assert NOT_UPLOADED in shown["composer-notice"]
    assert chat_files(shown.get("chatbot") or []) == []  # nothing of it shown back either
    assert counts(server.data_dir) == before  # no message, no media, no blob
    assert len(upstream.chat_requests()) == requests_before


def test_page_attaches_what_it_uploaded(server, upstream, tmp_path):
    """The positive control: the same route with the owner's own upload works."""
    owner = RawPage(server.url)
    owner.trigger("page", "load")
    entry = owner.upload(make_png(tmp_path / "mine.png", "olive"))
    chat = owner.trigger("composer", "submit", composer={"text": "mine", "files": [entry]})[
        "chatbot"
    ]
    (stored,) = chat_files(chat)
    assert NOT_UPLOADED not in chat_text(chat) and "Hello from the fake model." in chat_text(chat)
    assert owner.http.get(FILE_ROUTE + stored).status_code == 200


def test_page_cannot_import_a_file_it_did_not_upload(server, victim, tmp_path):
    exported = victim.page.http.get(f"{server.url}/{export_links(victim.page)[0]}").content
    foreign = tmp_path / "alice-export.json"
    foreign.write_bytes(exported)
    mallory = RawPage(server.url)
    mallory.trigger("page", "load")
    before = counts(server.data_dir)
    as_path = {"path": str(foreign), "meta": {"_type": "gradio.FileData"}}
    mallory.trigger("import", "upload", **{"import": as_path})
    assert NOT_UPLOADED in mallory.notices[-1]
    assert counts(server.data_dir) == before
    # The positive control: the same file, uploaded by this page, is imported.
    imported = mallory.trigger("import", "upload", **{"import": mallory.upload(foreign)})
    assert "Alice asks" in chat_text(imported["chatbot"])


# -- 2. stored media answer only their owner, whatever the URL looks like ----------------------------


def url_variants(victim: Victim) -> dict[str, tuple[str, bool]]:
    """name → (path after the file route, whether the owner may read it)."""
    data, image, video = victim.data_dir, str(victim.image), victim.video_sha
    cache = data / "media" / "cache"
    frames = next(cache.glob(f"{video}-frames-*"))
    normalized = next(p for p in cache.glob(f"{victim.image_sha}-high.*") if p.suffix != ".json")
    last_slash = image.rfind("/")
    return {
        "canonical": (image, True),
        "trailing slash": (image + "/", True),
        "trailing /.": (image + "/.", True),
        "encoded slash": (image[:last_slash] + "%2F" + image[last_slash + 1 :], True),
        "double slash": (image.replace("/media/", "//media/"), True),
        "through ..": (str(data / "uploads" / ".." / victim.image.relative_to(data)), True),
        "normalized variant": (str(normalized), True),
        "video frame": (str(frames / "000.jpg"), True),
        "the video": (str(victim.video), True),
        "sidecar": (str(victim.image.with_suffix(".json")), False),
        "database": (str(data / "webui.sqlite3"), False),
    }


VARIANTS = [
    "canonical",
    "trailing slash",
    "trailing /.",
    "encoded slash",
    "double slash",
    "through ..",
    "normalized variant",
    "video frame",
    "the video",
    "sidecar",
    "database",
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_stored_media_answer_only_their_owner(server, victim, variant):
    path, owner_may = url_variants(victim)[variant]
    for route in (FILE_ROUTE, "/gradio_api/file/", "/file="):
        url = server.url + route + path
        mallory = RawPage(server.url)
        assert mallory.http.get(url).status_code == 404, f"another browser read {variant}"
        assert httpx.get(url, timeout=10).status_code == 404, f"no cookie read {variant}"
    owner = victim.page.http.get(server.url + FILE_ROUTE + path)
    assert owner.status_code == (200 if owner_may else 404)
    if owner_may:
        assert owner.content[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb") or (
            variant == "the video"
        )


def test_a_sample_attachment_is_its_owners_and_forged_templates_change_nothing(server, upstream):
    alice, bob = RawPage(server.url), RawPage(server.url)
    alice.trigger("page", "load")
    bob.trigger("page", "load")
    files = alice.trigger("starter-cards", "template", event_data={"id": "receipt"})["composer"][
        "files"
    ]
    assert len(files) == 1
    upstream.reset()
    refused = bob.trigger("composer", "submit", composer={"text": "mine now", "files": files})
    assert "receipt.png" in str(refused.get("composer-notice"))
    assert upstream.chat_requests() == []
    alice.trigger("composer", "submit", composer={"text": "read it", "files": files})
    assert len(upstream.chat_requests()) == 1  # the positive control: its owner sends it
    for forged in ("../../../etc/passwd", None, 42, {"id": "receipt"}):
        changed = bob.trigger("starter-cards", "template", event_data={"id": forged})
        assert "composer" not in changed and "model" not in changed, forged
    # Stop with nothing streaming is not an error.
    bob.trigger("composer", "stop")


def test_gradio_client_cannot_reach_another_owners_conversation(server, victim):
    """gradio_client, with the events' indices read from /config as an attacker would."""
    database = sqlite3.connect(server.data_dir / "webui.sqlite3")
    ids = [row[0] for row in database.execute("SELECT id FROM conversations")]
    database.close()
    events = RawPage(server.url)
    for conversation_id in ids:  # a sidebar row's click, its id forged
        for action in ("open", "rename", "delete"):
            forged = {"action": action, "id": conversation_id, "title": "pwned"}
            try:
                shown = events.trigger("conversations", "conversation", event_data=forged)
            except EventFailed as refused:
                shown = str(refused)
            assert "Alice asks" not in json.dumps(shown, ensure_ascii=False)
    database = sqlite3.connect(server.data_dir / "webui.sqlite3")
    titles = [row[0] for row in database.execute("SELECT title FROM conversations")]
    database.close()
    assert len(titles) == len(ids) and "pwned" not in titles  # nothing renamed or deleted
    # The positive control: the owner's own click opens it.
    database = sqlite3.connect(server.data_dir / "webui.sqlite3")
    (alices,) = database.execute(  # hers, not the copy another page imported
        "SELECT conversation_id FROM messages WHERE text = 'Alice asks' ORDER BY id LIMIT 1"
    )
    database.close()
    mine = victim.page.trigger(
        "conversations", "conversation", event_data={"action": "open", "id": alices[0]}
    )
    assert "Alice asks" in chat_text(mine["chatbot"])
    exported = events.trigger("export", "click")
    assert "download/conversations" not in json.dumps(exported)
    # gradio_client finds no named endpoint to call: every page event is private.
    client = Client(server.url, verbose=False)
    assert client.view_api(print_info=False, return_format="dict")["named_endpoints"] == {}


# -- 3. exports answer only their owner, and nothing is staged -------------------------------------


def export_links(page: RawPage) -> list[str]:
    html = page.trigger("export", "click")["exported"]
    if isinstance(html, dict):
        html = html.get("value", "")
    return re.findall(r'href="([^"]+)"', html)


def test_exports_answer_only_their_owner(server, victim):
    staged = set(Path(tempfile.gettempdir()).glob("vlm-export-*"))
    links = export_links(victim.page)
    assert [link.rsplit(".", 1)[-1] for link in links] == ["json", "zip"]
    for link in links:
        url = f"{server.url}/{link}"
        mine = victim.page.http.get(url)
        assert mine.status_code == 200 and "attachment" in mine.headers["content-disposition"]
        assert RawPage(server.url).http.get(url).status_code == 404
        assert httpx.get(url, timeout=10).status_code == 404
        for suffix in ("/", "/.", "%00"):
            assert httpx.get(url + suffix, timeout=10).status_code == 404
    document = victim.page.http.get(f"{server.url}/{links[0]}").json()
    assert document["messages"][0]["text"] == "Alice asks"
    assert set(Path(tempfile.gettempdir()).glob("vlm-export-*")) == staged


def test_another_page_cannot_export_by_guessing(server, victim):
    database = sqlite3.connect(server.data_dir / "webui.sqlite3")
    ids = [row[0] for row in database.execute("SELECT id FROM conversations")]
    database.close()
    mallory = RawPage(server.url)
    for conversation_id in ids:
        for fmt in ("json", "zip"):
            url = f"{server.url}/download/conversations/{conversation_id}.{fmt}"
            assert mallory.http.get(url).status_code == 404


# -- 4. nothing cached under content says who sent it ----------------------------------------------


def test_file_names_never_leak_to_another_owner(server, upstream, tmp_path):
    secret_name = "alice-confidential-payroll.gif"
    gif = make_animated_gif(tmp_path / secret_name)
    alice = RawPage(server.url)
    alice.trigger("page", "load")
    chat = alice.trigger(
        "composer", "submit", composer={"text": "read", "files": [alice.upload(gif)]}
    )["chatbot"]
    assert f"{secret_name}: only the first frame" in chat_text(chat)  # her own note has her name

    bob_copy = tmp_path / "holiday.gif"
    bob_copy.write_bytes(gif.read_bytes())
    bob = RawPage(server.url)
    bob.trigger("page", "load")
    chat = bob.trigger(
        "composer", "submit", composer={"text": "read", "files": [bob.upload(bob_copy)]}
    )["chatbot"]
    assert "holiday.gif: only the first frame" in chat_text(chat)
    assert "alice" not in chat_text(chat)
    reloaded = bob.trigger("page", "load")["chatbot"]  # a reload renders the stored history
    assert "holiday.gif" in chat_text(reloaded) and "alice" not in chat_text(reloaded)

    data_url = "data:image/gif;base64," + base64.b64encode(gif.read_bytes()).decode()
    api = httpx.post(
        f"{server.url}/api/v1/chat/completions",
        json={
            "model": "Step3-VL-10B",
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url}}]}
            ],
        },
        timeout=30,
    )
    assert api.status_code == 200 and "alice" not in api.text
    for path in (server.data_dir / "media").rglob("*.json"):
        assert "alice" not in path.read_text()
    database = sqlite3.connect(server.data_dir / "webui.sqlite3")
    names = [row[0] for row in database.execute("SELECT filename FROM media")]
    database.close()
    assert not any("alice" in name for name in names)


# -- 5. malformed JSON is a 400 in the OpenAI shape, never a 500 ---------------------------------


def deep(levels: int) -> bytes:
    return b'{"model": "Step3-VL-10B", "messages": ' + b"[" * levels + b"]" * levels + b"}"


MALFORMED = {
    "nested 10,000 deep": deep(10_000),
    "a 5,000-digit integer": b'{"model": "Step3-VL-10B", "max_tokens": ' + b"9" * 5000 + b"}",
    "NaN": b'{"model": "Step3-VL-10B", "temperature": NaN, "messages": [{"role": "user", "content": "hi"}]}',
    "Infinity": b'{"model": "Step3-VL-10B", "top_p": -Infinity, "messages": []}',
    "a lone surrogate": b'{"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "\\ud800"}]}',
    "an assistant text part that is a number": json.dumps(
        {
            "model": "Step3-VL-10B",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "text", "text": 5}]},
                {"role": "user", "content": "again"},
            ],
        }
    ).encode(),
    "a text part that is not a string": json.dumps(
        {
            "model": "Step3-VL-10B",
            "messages": [{"role": "user", "content": [{"type": "text", "text": {"a": 1}}]}],
        }
    ).encode(),
    "a part that is not an object": json.dumps(
        {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": ["hello"]}]}
    ).encode(),
    "a boolean temperature": json.dumps(
        {
            "model": "Step3-VL-10B",
            "temperature": True,
            "messages": [{"role": "user", "content": "x"}],
        }
    ).encode(),
    "invalid UTF-8": b'{"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "\xff"}]}',
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_requests_are_400_in_the_openai_shape(server, upstream, case):
    before, log_before = len(upstream.chat_requests()), len(server.log())
    response = httpx.post(
        f"{server.url}/api/v1/chat/completions",
        content=MALFORMED[case],
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    assert len(upstream.chat_requests()) == before
    assert "Traceback" not in server.log()[log_before:]


# -- 6. one text limit on both paths ------------------------------------------------------------


def test_the_page_and_the_api_share_one_text_limit(server, upstream):
    page = RawPage(server.url)
    page.trigger("page", "load")
    before, requests_before = counts(server.data_dir), len(upstream.chat_requests())
    shown = page.trigger("composer", "submit", composer={"text": "x" * 2_000_000})
    assert "2,000,000 characters long; the limit is 1,000,000" in shown["composer-notice"]
    assert counts(server.data_dir) == before and len(upstream.chat_requests()) == requests_before
    api = httpx.post(
        f"{server.url}/api/v1/chat/completions",
        json={"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "x" * 1_000_001}]},
        timeout=30,
    )
    assert api.status_code == 413 and "the limit is 1,000,000" in api.json()["error"]["message"]


# -- the same boundary between logged-in users ---------------------------------------------------


@pytest.fixture(scope="module")
def auth_server(fake_upstream, tmp_path_factory):
    root = tmp_path_factory.mktemp("auth-boundary")
    server = start_server(fake_upstream, root / "data", root, WEBUI_AUTH="alice:pw-a,bob:pw-b")
    yield server
    server.stop()


def test_logged_in_users_cannot_read_each_others_media_or_exports(auth_server, tmp_path):
    alice = RawPage.logged_in(auth_server.url, "alice", "pw-a")
    victim = make_victim(auth_server, alice, tmp_path)
    bob = RawPage.logged_in(auth_server.url, "bob", "pw-b")
    bob.trigger("page", "load")
    links = export_links(alice)
    for name, (path, owner_may) in url_variants(victim).items():
        url = auth_server.url + FILE_ROUTE + path
        assert bob.http.get(url).status_code == 404, name
        assert httpx.get(url, timeout=10).status_code in (401, 404), name
        assert alice.http.get(url).status_code == (200 if owner_may else 404), name
    for link in links:
        assert alice.http.get(f"{auth_server.url}/{link}").status_code == 200
        assert bob.http.get(f"{auth_server.url}/{link}").status_code == 404
        assert httpx.get(f"{auth_server.url}/{link}", timeout=10).status_code == 404
    # An anonymous cookie counts for nothing once logins are on.
    anonymous = httpx.Client(base_url=auth_server.url, timeout=10)
    anonymous.get("/")
    assert anonymous.get(FILE_ROUTE + str(victim.image)).status_code == 404
    # Bob attaching Alice's stored image by its path is refused like any other foreign path.
    chat = bob.trigger(
        "composer",
        "submit",
        composer={
            "text": "x",
            "files": [{"path": str(victim.image), "meta": {"_type": "gradio.FileData"}}],
        },
    )
    assert NOT_UPLOADED in chat_text(chat)


# -- 10. an unreachable model server is logged once, not retried forever -------------------------


def test_unreachable_backend_is_logged_once(fake_upstream, tmp_path):
    import time

    server = start_server(
        fake_upstream,
        tmp_path / "data",
        tmp_path,
        LOCAL_BASE_URL="http://127.0.0.1:9/v1",
        LOCAL_MODELS="",
        WEBUI_MAX_RETRIES="2",
        WEBUI_MODEL_POLL_INTERVAL="0.2",
    )
    try:
        time.sleep(3)
    finally:
        server.stop()
    log = server.log()
    assert "Retrying request" not in log
    assert log.count("backend local: unreachable") == 1
