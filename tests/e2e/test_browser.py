"""The page as a person uses it, in headless Chromium against a real server and the fake model."""

from __future__ import annotations

import time

import pytest

from tests.e2e.browser import (
    bot_texts,
    pick_model,
    send,
    wait_for_bot_text,
    wait_for_notice,
    wait_until,
)
from tests.fake_upstream import Reply
from tests.media_factory import make_png

pytestmark = pytest.mark.e2e


def test_image_question_follow_up_and_reload(page, upstream, tmp_path, live_server):
    picture = make_png(tmp_path / "red-square.png", color="red")
    upstream.script(
        Reply(content="I see a red square.", thinking="The image is uniformly red.", delay_s=0.01),
        Reply(content="It is red, as before."),
    )
    send(page, "What is in this image?", [picture])
    wait_for_bot_text(page, "I see a red square.")
    assert page.locator("#chatbot img").count() >= 1
    thought = page.locator("#chatbot .thought-group .title").first
    assert "Thinking" in thought.inner_text()

    send(page, "What colour is it?")
    wait_for_bot_text(page, "It is red, as before.")
    second = upstream.chat_requests()[-1]
    images = [
        part
        for message in second["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]
    assert len(images) == 1  # the first turn's image is still in context
    assert "uniformly red" not in str(second["messages"])  # thinking is not sent back

    page.reload()
    page.wait_for_selector('#chatbot [data-testid="user"]')
    wait_for_bot_text(page, "It is red, as before.")
    assert page.locator('#chatbot [data-testid="user"]').count() >= 2
    assert page.locator("#chatbot img").count() >= 1
    page.screenshot(path=str(tmp_path / "after-reload.png"))


def test_stop_cancels_the_answer(page, upstream):
    upstream.script(Reply(content="slow " * 400, chunk_size=5, delay_s=0.03))
    before = upstream.disconnects
    stop_button = page.locator('#composer button[aria-label="Stop"]')
    send_button = page.locator('#composer button[data-testid="submit-button"]')
    assert stop_button.count() == 0 and send_button.is_visible()  # Stop only while streaming
    send(page, "Write a long answer")
    wait_for_bot_text(page, "slow slow")
    assert send_button.count() == 0
    stop_button.click()
    clicked = time.monotonic()
    wait_until(lambda: upstream.disconnects > before, timeout_s=10)
    assert time.monotonic() - clicked < 2  # Stop closes the upstream request at once
    wait_for_bot_text(page, "Stopped")
    time.sleep(1)  # no late streaming update may overwrite the stopped answer
    (answer,) = bot_texts(page)
    assert "Stopped" in answer and "slow slow" in answer
    assert answer.count("slow") < 400
    send_button.wait_for(state="visible", timeout=5000)
    assert stop_button.count() == 0
    deadline = time.monotonic() + 5
    while upstream.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.disconnects == before + 1


def test_upstream_error_is_explained_inline_and_retry_works(page, upstream):
    upstream.script(Reply(status=429, error_message="request limited RPM reached"))
    send(page, "Hello?")
    wait_for_bot_text(page, "429")
    upstream.script(Reply(content="Back to normal."))
    send(page, "Hello again?")
    wait_for_bot_text(page, "Back to normal.")


def test_video_for_text_only_model_is_refused_before_sending(page, upstream, tmp_path):
    picture = make_png(tmp_path / "invoice.png")
    pick_model(page, "step-3.5-flash")
    wait_until(lambda: "Text only" in page.inner_text("#model-badges"))
    before = len(upstream.chat_requests())
    send(page, "Read this invoice", [picture])
    wait_for_notice(page, "reads text only")
    assert len(upstream.chat_requests()) == before
    # The question and its attachment are still in the composer, ready to retry.
    assert page.input_value("#composer textarea") == "Read this invoice"
