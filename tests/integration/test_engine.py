"""The chat engine end to end against the fake upstream: what really goes over the wire."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app.engine import Attachment, TurnFailed, TurnRejected
from app.events import AnswerDelta, Note, ThinkingDelta
from app.services import Services
from app.store import COMPLETE, FAILED, STOPPED
from tests.conftest import make_settings
from tests.fake_upstream import Reply
from tests.media_factory import make_mp4, make_png

OWNER = "anon:test-owner"


@pytest.fixture
def build(loop):
    built = []

    def _build(settings) -> Services:
        services = Services.build(settings)
        built.append(services)
        return services

    yield _build
    for services in built:
        loop.run_until_complete(services.backend.aclose())


@pytest.fixture
def services(upstream, tmp_path, build) -> Services:
    return build(make_settings(upstream, tmp_path / "data"))


@pytest.fixture
def run(loop):
    return loop.run_until_complete


async def _turn(
    services,
    text,
    attachments=(),
    model="Step3-VL-10B",
    conversation_id=None,
    effort=None,
    detail="low",
):
    await services.monitor.check_once()
    turn = await services.engine.prepare_turn(
        owner=OWNER,
        conversation_id=conversation_id,
        text=text,
        attachments=list(attachments),
        model_id=model,
        effort=effort,
        detail=detail,
    )
    events = [event async for event in services.engine.stream_answer(turn)]
    return turn, events


def image_urls(body) -> list[str]:
    return [
        part["image_url"]["url"]
        for message in body["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


def texts(body) -> str:
    return json.dumps(body["messages"], ensure_ascii=False)


def test_earlier_images_stay_in_context_and_thinking_is_not_sent_back(
    services, upstream, tmp_path, run
):
    one, two = make_png(tmp_path / "one.png", color="red"), make_png(tmp_path / "two.png", "blue")
    upstream.script(Reply(content="Two squares.", thinking="SECRET-THOUGHTS"))
    turn, events = run(
        _turn(services, "Compare these", [Attachment(one, "one.png"), Attachment(two, "two.png")])
    )
    assert any(isinstance(e, ThinkingDelta) for e in events)
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == "Two squares."

    upstream.script(Reply(content="Red is left."))
    run(_turn(services, "Which is red?", conversation_id=turn.conversation.id))

    first, second = upstream.chat_requests()[-2:]
    assert len(image_urls(first)) == 2
    assert image_urls(second) == image_urls(first)  # same bytes on every turn
    # Small PNGs go as they are (smaller than a JPEG of them), metadata removed.
    assert all(url.startswith("data:image/png;base64,") for url in image_urls(second))
    assert "SECRET-THOUGHTS" not in texts(second)
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert second["messages"][1]["content"] == "Two squares."
    assert "reasoning_effort" not in second  # Step3-VL-10B takes no effort parameter
    stored = services.store.messages.list(OWNER, turn.conversation.id)
    assert [m.status for m in stored if m.role == "assistant"] == [COMPLETE, COMPLETE]
    assert stored[1].thinking == "SECRET-THOUGHTS"


def test_effort_only_to_models_that_take_it(services, upstream, run):
    run(_turn(services, "hi", model="step-3.7-flash", effort="high"))
    assert upstream.chat_requests()[-1]["reasoning_effort"] == "high"
    run(_turn(services, "hi", model="step-3.5-flash-2603", effort="medium"))
    assert upstream.chat_requests()[-1]["reasoning_effort"] == "high"
    run(_turn(services, "hi", model="step-3.5-flash", effort="low"))
    assert "reasoning_effort" not in upstream.chat_requests()[-1]


def test_no_model_picked_uses_what_the_page_would_preselect(services, upstream, run):
    # Sent before the page's model list loaded: the conversation's model, else the first ready.
    first, _ = run(_turn(services, "hi", model=None))
    assert first.spec.id == next(iter(services.catalog)).id == "step-3.7-flash"
    assert upstream.chat_requests()[-1]["model"] == first.spec.id
    chosen, _ = run(_turn(services, "hi", model="Step3-VL-10B"))
    again, _ = run(_turn(services, "more", model=None, conversation_id=chosen.conversation.id))
    assert again.spec.id == "Step3-VL-10B"
    assert upstream.chat_requests()[-1]["model"] == "Step3-VL-10B"


def test_image_to_text_only_model_is_explained_before_sending(services, upstream, tmp_path, run):
    picture = make_png(tmp_path / "chart.png")
    before = len(upstream.chat_requests())
    with pytest.raises(TurnRejected) as err:
        run(
            _turn(services, "read this", [Attachment(picture, "chart.png")], model="step-3.5-flash")
        )
    assert "step-3.5-flash reads text only" in str(err.value)
    assert "chart.png" in str(err.value) and "step-3.7-flash" in str(err.value)
    assert len(upstream.chat_requests()) == before
    assert services.store.conversations.latest(OWNER) is None


def test_upstream_error_keeps_conversation_and_retry_works(services, upstream, run):
    turn, _ = run(_turn(services, "first question"))
    upstream.script(Reply(status=429, error_message="request limited RPM reached"))
    _, events = run(_turn(services, "second", conversation_id=turn.conversation.id))
    failures = [e for e in events if isinstance(e, TurnFailed)]
    assert len(failures) == 1 and "429" in failures[0].text()
    stored = services.store.messages.list(OWNER, turn.conversation.id)
    assert [m.status for m in stored if m.role == "assistant"] == [COMPLETE, FAILED]

    upstream.script(Reply(content="Recovered."))
    _, events = run(_turn(services, "second, again", conversation_id=turn.conversation.id))
    last_request = upstream.chat_requests()[-1]
    # The unanswered question is left out (never merged into a list with the next one), the
    # roles still alternate, and every message is a plain string, as it was before.
    assert last_request["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "Hello from the fake model."},
        {"role": "user", "content": "second, again"},
    ]
    assert any("got no answer" in e.text() for e in events if isinstance(e, Note))


def test_dropped_stream_keeps_partial_answer(services, upstream, run):
    upstream.script(Reply(content="This answer will be cut in the middle", drop_after_chunks=3))
    turn, events = run(_turn(services, "tell me"))
    assert any(isinstance(e, TurnFailed) for e in events)
    last = services.store.messages.list(OWNER, turn.conversation.id)[-1]
    assert last.status == FAILED and last.text and last.error


def test_stop_cancels_upstream_and_saves_partial(services, upstream, run):
    upstream.script(Reply(content="word " * 200, chunk_size=5, delay_s=0.02))

    async def stop_midway():
        await services.monitor.check_once()
        turn = await services.engine.prepare_turn(
            owner=OWNER,
            conversation_id=None,
            text="long please",
            model_id="Step3-VL-10B",
            effort=None,
        )
        disconnects = upstream.disconnects

        async def consume():
            async for _ in services.engine.stream_answer(turn):
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(50):
            if upstream.disconnects > disconnects:
                break
            await asyncio.sleep(0.05)
        return turn, upstream.disconnects - disconnects

    turn, new_disconnects = run(stop_midway())
    assert new_disconnects == 1
    last = services.store.messages.list(OWNER, turn.conversation.id)[-1]
    assert last.status == STOPPED and 0 < len(last.text) < len("word " * 200)


def test_video_to_frames_model_sends_timestamped_frames(services, upstream, tmp_path, run):
    clip = make_mp4(tmp_path / "clip.mp4", seconds=10)
    _, events = run(_turn(services, "what happens?", [Attachment(clip, "clip.mp4")]))
    body = upstream.chat_requests()[-1]
    assert len(image_urls(body)) == 5  # 10 s at one frame every 2 s
    assert "[00:01]" in texts(body) and "[00:09]" in texts(body)
    notes = [e.text() for e in events if isinstance(e, Note)]
    assert any("clip.mp4" in n and "5 frames" in n for n in notes)


def test_native_video_uses_files_api_once(services, upstream, tmp_path, run):
    clip = make_mp4(tmp_path / "clip.mp4", seconds=3)
    turn, _ = run(
        _turn(services, "describe", [Attachment(clip, "clip.mp4")], model="step-3.7-flash")
    )
    run(_turn(services, "and then?", conversation_id=turn.conversation.id, model="step-3.7-flash"))
    first, second = upstream.chat_requests()[-2:]
    video_parts = [
        p
        for m in second["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p.get("type") == "video_url"
    ]
    assert len(video_parts) == 1 and video_parts[0]["video_url"]["url"].startswith("stepfile://")
    assert "stepfile://" in texts(first)
    assert len(upstream.uploads) == 1


def test_expired_file_id_is_uploaded_again_once(services, upstream, tmp_path, run):
    picture = make_png(tmp_path / "p.png")
    turn, _ = run(_turn(services, "look", [Attachment(picture, "p.png")], model="step-3.7-flash"))
    file_id = upstream.uploads[-1].file_id
    upstream.expire_file(file_id)
    _, events = run(
        _turn(services, "again", conversation_id=turn.conversation.id, model="step-3.7-flash")
    )
    assert not any(isinstance(e, TurnFailed) for e in events)
    assert len(upstream.uploads) == 2
    assert f"stepfile://{upstream.uploads[-1].file_id}" in texts(upstream.chat_requests()[-1])


def test_image_limit_drops_oldest_and_says_so(upstream, tmp_path, build, run):
    models = tmp_path / "models.json"
    models.write_text(json.dumps([{"id": "Step3-VL-10B", "max_images": 2}]))
    services = build(make_settings(upstream, tmp_path / "data", WEBUI_MODELS_FILE=str(models)))
    pics = [make_png(tmp_path / f"{c}.png", color=c) for c in ("red", "green", "blue")]
    turn, _ = run(_turn(services, "two", [Attachment(p, p.name) for p in pics[:2]]))
    _, events = run(
        _turn(
            services,
            "three",
            [Attachment(pics[2], "blue.png")],
            conversation_id=turn.conversation.id,
        )
    )
    body = upstream.chat_requests()[-1]
    assert len(image_urls(body)) == 2
    assert any(
        "1 of the oldest images were left out" in e.text() for e in events if isinstance(e, Note)
    )


def test_corrupt_image_is_rejected_with_its_name(services, upstream, tmp_path, run):
    bad = tmp_path / "broken.jpg"
    bad.write_text("this is not a picture")
    with pytest.raises(TurnRejected, match=r"broken\.jpg"):
        run(_turn(services, "look", [Attachment(bad, "broken.jpg")]))
    assert upstream.chat_requests() == []


def test_starting_model_gets_a_clear_message(upstream, tmp_path, build, run):
    services = build(
        make_settings(
            upstream,
            tmp_path / "data",
            LOCAL_BASE_URL="http://127.0.0.1:9/v1",
            MODEL_SERVER_AUTOSTART="true",
        )
    )
    with pytest.raises(TurnRejected, match="still loading"):
        run(_turn(services, "hello"))


def test_api_key_never_reaches_the_database(services, upstream, tmp_path, run):
    run(_turn(services, "hi", model="step-3.7-flash"))
    raw = Path(services.settings.db_path).read_bytes()
    assert b"sk-test-secret-key-123" not in raw
    assert upstream.requests[-1].headers["authorization"] == "Bearer sk-test-secret-key-123"
