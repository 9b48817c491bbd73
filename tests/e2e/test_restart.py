"""What a person typed survives the server restarting under the page."""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import start_server
from tests.e2e.browser import mark_page, open_page, wait_for_bot_text, wait_for_reload, wait_until
from tests.fake_upstream import free_port
from tests.media_factory import make_png

pytestmark = pytest.mark.e2e

DRAFT = "Draft typed while the server restarts: what is on this receipt?"


def composer_text(page) -> str:
    return page.input_value("#composer textarea")


def test_draft_survives_a_restart(browser, fake_upstream, upstream, tmp_path):
    port = free_port()
    server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port)
    page = open_page(browser, server.url)
    try:
        page.set_input_files(
            '#composer input[data-testid="file-upload"]', [str(make_png(tmp_path / "r.png"))]
        )
        page.wait_for_selector("#composer .thumbnail-item")
        page.fill("#composer textarea", DRAFT)
        time.sleep(0.5)  # the draft is saved on change
        mark_page(page)
        server.stop()
        server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port)
        # The page notices the restart and reloads itself (a fresh session the new process
        # knows); the draft comes back, its file included.
        wait_for_reload(page)
        wait_until(
            lambda: composer_text(page) == DRAFT,
            30,
            lambda: f"composer holds {composer_text(page)!r} after the restart",
        )
        page.wait_for_selector("#composer .thumbnail-item", timeout=10_000)
        # And it can be sent as it is.
        page.press("#composer textarea", "Enter")
        wait_for_bot_text(page, "Hello from the fake model.")
        sent = upstream.chat_requests()[-1]["messages"][-1]["content"]
        assert any(p.get("type") == "image_url" for p in sent)
        wait_until(lambda: composer_text(page) == "")
        page.reload()
        page.wait_for_selector("#composer textarea")
        time.sleep(1)
        assert composer_text(page) == ""  # a sent draft is not restored again
    finally:
        server.stop()
        page.context.close()


def test_a_question_sent_while_the_server_is_down_is_kept(
    browser, fake_upstream, upstream, tmp_path
):
    port = free_port()
    server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port)
    page = open_page(browser, server.url)
    try:
        server.stop()
        page.fill("#composer textarea", "Sent while the server was down")
        page.press("#composer textarea", "Enter")
        # Gradio says the connection is lost, and nothing typed is cleared.
        alert = page.locator('[role="alert"]', has_text="lost")
        alert.first.wait_for(timeout=10_000)
        assert composer_text(page) == "Sent while the server was down"
        mark_page(page)
        server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port)
        wait_for_reload(page)
        wait_until(lambda: composer_text(page) == "Sent while the server was down", 30)
        page.press("#composer textarea", "Enter")
        wait_for_bot_text(page, "Hello from the fake model.")
    finally:
        server.stop()
        page.context.close()


def test_stop_with_an_idle_tab_open_is_quick(browser, fake_upstream, tmp_path):
    """The shutdown grace is for answers in flight; an open page with nothing streaming does
    not hold the process (it used to take the whole WEBUI_SHUTDOWN_GRACE, 20 s)."""
    server = start_server(fake_upstream, tmp_path / "data", tmp_path)
    pages = [open_page(browser, server.url) for _ in range(2)]
    try:
        time.sleep(1)  # the pages' heartbeat streams are open
        started = time.monotonic()
        code = server.stop(signal.SIGTERM, timeout=30)
        took = time.monotonic() - started
    finally:
        for page in pages:
            page.context.close()
    assert code in (0, -signal.SIGTERM)
    assert took < 5, f"stopping took {took:.1f} s"
    log = server.log()
    assert "Traceback" not in log and "CancelledError" not in log
    assert "Application shutdown complete" in log
