"""The page as a person uses it, in headless Chromium against a real server and the fake model."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest

from tests.fake_upstream import Reply
from tests.media_factory import make_png

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(live_server.url)
    page.wait_for_selector("#composer textarea")
    yield page
    context.close()


def send(page, text: str, files=()) -> None:
    if files:
        page.set_input_files('#composer input[data-testid="file-upload"]', [str(f) for f in files])
        page.wait_for_selector("#composer .thumbnail-item")
    page.fill("#composer textarea", text)
    page.press("#composer textarea", "Enter")


def bot_texts(page) -> list[str]:
    return page.locator('#chatbot [data-testid="bot"]').all_inner_texts()


def wait_for_bot_text(page, needle: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(needle in text for text in bot_texts(page)):
            return
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared; bot messages: {bot_texts(page)}")


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
    send(page, "Write a long answer")
    wait_for_bot_text(page, "slow slow")
    page.click('#composer button[aria-label="Stop"]')
    wait_for_bot_text(page, "Stopped")
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
    page.click("#model input")
    page.get_by_text("step-3.5-flash — text only").click()
    assert page.input_value("#model input").startswith("step-3.5-flash — text only")
    before = len(upstream.chat_requests())
    send(page, "Read this invoice", [picture])
    wait_for_bot_text(page, "reads text only")
    assert len(upstream.chat_requests()) == before
    # The question and its attachment are still in the composer, ready to retry.
    assert page.input_value("#composer textarea") == "Read this invoice"
