"""Disk use stays bounded: unused media go, used ones never do, even while chats are running."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time

import pytest

from app.engine import Attachment, TurnFailed
from app.services import Services
from tests.conftest import make_settings, start_server
from tests.media_factory import make_png
from tests.raw_gradio import RawPage

OWNER = "anon:janitor-test"
TWO_DAYS = 2 * 24 * 3600


@pytest.fixture
def services(upstream, tmp_path, loop):
    services = Services.build(make_settings(upstream, tmp_path / "data"))
    yield services
    loop.run_until_complete(services.backend.aclose())


async def chat(services: Services, text: str, attachments=(), conversation_id=None):
    await services.monitor.check_once()
    turn = await services.engine.prepare_turn(
        owner=OWNER,
        conversation_id=conversation_id,
        text=text,
        attachments=list(attachments),
        model_id="Step3-VL-10B",
        effort=None,
    )
    events = [event async for event in services.engine.stream_answer(turn)]
    return turn, events


def age(library, sha: str, seconds: float) -> None:
    """Make a stored file look unused for `seconds`."""
    stamp = time.time() - seconds
    os.utime(library.blob_path(sha), (stamp, stamp))


def test_unused_media_go_after_their_time_and_used_ones_stay(services, tmp_path, loop):
    library, janitor = services.library, services.janitor
    # As the HTTP API stores them: in the library, referred to by no conversation.
    api_only = [
        library.ingest_bytes(make_png(tmp_path / f"{c}.png", c).read_bytes(), "x.png")
        for c in ("red", "green")
    ]
    library.normalized_image(api_only[0].sha256, "low")  # a derived form, swept with it
    services.store.uploads.set_remote_id(api_only[0].sha256, "stepfun", "image-low", "file-9")
    turn, _ = loop.run_until_complete(
        chat(services, "keep me", [Attachment(make_png(tmp_path / "kept.png", "navy"), "kept.png")])
    )
    (kept,) = services.store.messages.list(OWNER, turn.conversation.id)[0].media

    assert janitor.sweep().media_removed == 0  # everything is fresh
    for sha in [s.sha256 for s in api_only] + [kept.sha256]:
        age(library, sha, TWO_DAYS)
    report = janitor.sweep()

    assert report.media_removed == 2
    for stored in api_only:
        assert library.describe(stored.sha256) is None
        assert not list(library.cache.glob(f"{stored.sha256}-*"))
    assert services.store.uploads.remote_id(api_only[0].sha256, "stepfun", "image-low") is None
    assert library.describe(kept.sha256) is not None  # a conversation refers to it
    assert sorted(library.stored_hashes()) == [kept.sha256]


def test_sending_a_file_again_restarts_its_time(services, tmp_path):
    library, janitor = services.library, services.janitor
    data = make_png(tmp_path / "again.png", "teal").read_bytes()
    stored = library.ingest_bytes(data, "again.png")
    age(library, stored.sha256, TWO_DAYS)
    library.ingest_bytes(data, "again.png")  # used again today
    assert janitor.sweep().media_removed == 0
    assert library.describe(stored.sha256) is not None


def test_sweeping_without_pause_never_removes_what_chats_use(services, upstream, tmp_path, loop):
    """The harshest setting: no grace at all, a sweep running all the time, and many turns
    storing images (some the same bytes twice) at once."""
    services.janitor.orphan_ttl_s = 0.0
    pictures = [make_png(tmp_path / f"p{n}.png", "red", (40 + n % 8, 30)) for n in range(24)]
    stop = threading.Event()
    sweeps = 0

    def sweep_forever():
        nonlocal sweeps
        while not stop.is_set():
            services.janitor.sweep()
            sweeps += 1

    async def many_chats():
        return await asyncio.gather(
            *(chat(services, f"turn {n}", [Attachment(p, p.name)]) for n, p in enumerate(pictures))
        )

    sweeper = threading.Thread(target=sweep_forever)
    sweeper.start()
    try:
        results = loop.run_until_complete(many_chats())
    finally:
        stop.set()
        sweeper.join()
    assert sweeps > 10
    for turn, events in results:
        assert not [e for e in events if isinstance(e, TurnFailed)], events
        (ref,) = services.store.messages.list(OWNER, turn.conversation.id)[0].media
        assert services.library.describe(ref.sha256) is not None
    sent = [m for body in upstream.chat_requests() for m in body["messages"]]
    assert sum(isinstance(m["content"], list) for m in sent) == len(pictures)
    services.janitor.sweep()
    assert len(services.library.stored_hashes()) == len({p.read_bytes() for p in pictures})


def test_a_failed_import_leaves_nothing_behind(fake_upstream, tmp_path):
    server = start_server(fake_upstream, tmp_path / "data", tmp_path)
    try:
        page = RawPage(server.url)
        page.trigger("page", "load")
        picture = base64.b64encode(make_png(tmp_path / "in.png", "purple").read_bytes()).decode()
        damaged = {
            "format": "vlm-webui.conversation",
            "version": 1,
            "title": "Half an export",
            "messages": [
                {
                    "role": "user",
                    "text": "one",
                    "media": [{"filename": "a.png", "data_base64": picture}],
                },
                {
                    "role": "assistant",
                    "text": "two",
                    "media": [{"filename": "b.png", "data_base64": "!!"}],
                },
            ],
        }
        path = tmp_path / "damaged.json"
        path.write_text(json.dumps(damaged))
        blobs = server.data_dir / "media" / "blobs"
        before = sorted(p.name for p in blobs.rglob("*") if p.is_file())
        page.trigger("import", "upload", **{"import": page.upload(path)})
        assert "damaged" in page.notices[-1]
        assert sorted(p.name for p in blobs.rglob("*") if p.is_file()) == before
    finally:
        server.stop()
