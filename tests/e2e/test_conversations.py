"""Conversations that last: the sidebar, ownership, restarts and crashes, in Chromium."""

from __future__ import annotations

import re
import signal
import sqlite3
import time

import pytest
import requests

from tests.conftest import start_server
from tests.e2e.browser import (
    bot_texts,
    mark_page,
    open_page,
    send,
    sidebar_titles,
    wait_for_bot_text,
    wait_for_reload,
    wait_for_titles,
)
from tests.fake_upstream import Reply, free_port
from tests.media_factory import make_png
from tests.raw_gradio import RawPage

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(fake_upstream, tmp_path):
    server = start_server(fake_upstream, tmp_path / "data", tmp_path)
    yield server
    server.stop()


def test_create_switch_rename_search_delete(browser, server, upstream):
    page = open_page(browser, server.url)
    upstream.script(Reply(content="About invoices."), Reply(content="About holidays."))
    send(page, "Invoice from ACME, total?")
    wait_for_bot_text(page, "About invoices.")
    page.click("#new-chat")
    send(page, "Holiday photo ideas")
    wait_for_bot_text(page, "About holidays.")
    wait_for_titles(page, ["Holiday photo ideas", "Invoice from ACME, total?"])

    invoice = page.locator("#conversations .conv-row", has_text="Invoice from ACME")
    invoice.click()
    wait_for_bot_text(page, "About invoices.")
    assert not any("About holidays." in t for t in bot_texts(page))

    invoice.hover()  # rename and delete show on the row, as in a chat app's list
    invoice.locator(".conv-rename").click()
    title_box = page.locator("#conversations .conv-title-input")
    assert title_box.input_value() == "Invoice from ACME, total?"
    title_box.fill("ACME invoice")
    title_box.press("Enter")
    wait_for_titles(page, ["Holiday photo ideas", "ACME invoice"])

    page.fill("#conversation-search textarea, #conversation-search input", "holiday")
    wait_for_titles(page, ["Holiday photo ideas"])
    page.fill("#conversation-search textarea, #conversation-search input", "")
    wait_for_titles(page, ["Holiday photo ideas", "ACME invoice"])

    acme = page.locator("#conversations .conv-row", has_text="ACME invoice")
    acme.hover()
    acme.locator(".conv-delete").click()
    acme = page.locator("#conversations .conv-row.confirming")
    acme.locator(".conv-keep").click()  # thought better of it: nothing happens
    wait_for_titles(page, ["Holiday photo ideas", "ACME invoice"])
    acme = page.locator("#conversations .conv-row", has_text="ACME invoice")
    acme.hover()
    acme.locator(".conv-delete").click()
    page.locator("#conversations .conv-row.confirming .conv-confirm").click()
    wait_for_titles(page, ["Holiday photo ideas"])
    assert bot_texts(page) == []


def shown_media_urls(page) -> list[str]:
    page.wait_for_selector("#chatbot img")
    return [img.get_attribute("src") for img in page.locator("#chatbot img").all()]


def assert_media_only_for(owner_page, other_page, urls: list[str], cookieless=(404,)) -> None:
    """The chat's media URLs answer the owner's browser and nobody else's."""
    assert urls and all(re.search(r"/[0-9a-f]{64}\.png$", url) for url in urls)
    for url in urls:
        assert owner_page.request.get(url).status == 200
        assert other_page.request.get(url).status == 404
        assert requests.get(url, timeout=10).status_code in cookieless  # no cookie at all


def test_two_browsers_never_see_each_other(browser, server, upstream, tmp_path):
    alice = open_page(browser, server.url)
    send(alice, "Alice's private receipt", [make_png(tmp_path / "receipt.png", "white")])
    wait_for_bot_text(alice, "Hello from the fake model.")
    wait_for_titles(alice, ["Alice's private receipt"])
    alice_media = shown_media_urls(alice)

    bob = open_page(browser, server.url)  # a new context: another browser, another cookie
    time.sleep(1)
    assert sidebar_titles(bob) == [] and bot_texts(bob) == []
    bob.reload()
    bob.wait_for_selector("#composer textarea")
    time.sleep(1)
    assert sidebar_titles(bob) == []
    assert_media_only_for(alice, bob, alice_media)

    # A raw client that knows Alice's conversation id still gets nothing: the sidebar's event
    # with her id forged finds nothing, as the store is scoped by owner.
    database = sqlite3.connect(server.data_dir / "webui.sqlite3")
    (conversation_id,) = database.execute("SELECT id FROM conversations").fetchone()
    raw = RawPage(server.url)
    raw.trigger("page", "load")
    opened = raw.trigger("conversations", "conversation", {"action": "open", "id": conversation_id})
    assert "Alice" not in str(opened)
    # The conversation to export is server-side state of the page: a client cannot name one.
    assert "download/" not in str(raw.trigger("export", "click"))

    # Deleted means gone: the owner's own URL stops working too.
    row = alice.locator("#conversations .conv-row").first
    row.hover()
    row.locator(".conv-delete").click()
    alice.locator("#conversations .conv-confirm").click()
    wait_for_titles(alice, [])
    assert all(alice.request.get(url).status == 404 for url in alice_media)


def test_logged_in_users_are_isolated(browser, fake_upstream, tmp_path, upstream):
    server = start_server(
        fake_upstream, tmp_path / "data", tmp_path, WEBUI_AUTH="alice:pw-a,bob:pw-b"
    )
    try:
        pages = {}
        for user, password in (("alice", "pw-a"), ("bob", "pw-b")):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            login = context.request.post(
                f"{server.url}/login", form={"username": user, "password": password}
            )
            assert login.ok
            pages[user] = open_page(browser, server.url, context)
        send(pages["alice"], "Alice's chart", [make_png(tmp_path / "chart.png", "navy")])
        wait_for_bot_text(pages["alice"], "Hello from the fake model.")
        wait_for_titles(pages["alice"], ["Alice's chart"])
        pages["bob"].reload()
        pages["bob"].wait_for_selector("#composer textarea")
        time.sleep(1)
        assert sidebar_titles(pages["bob"]) == []
        # Bob is logged in but not the owner; a client without a login is refused by Gradio.
        alice_media = shown_media_urls(pages["alice"])
        assert_media_only_for(pages["alice"], pages["bob"], alice_media, (401, 403, 404))
        owners = (
            sqlite3.connect(server.data_dir / "webui.sqlite3")
            .execute("SELECT DISTINCT owner FROM conversations")
            .fetchall()
        )
        assert owners == [("user:alice",)]
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["restart", "sigterm", "kill -9"])
def test_conversation_survives(browser, fake_upstream, upstream, tmp_path, how):
    port = free_port()
    grace = {"WEBUI_SHUTDOWN_GRACE": "3"}
    server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port, **grace)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = open_page(browser, server.url, context)
    upstream.script(Reply(content="First answer, complete."))
    send(page, "First question")
    wait_for_bot_text(page, "First answer, complete.")
    mark_page(page)
    if how == "restart":
        assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after its stop
        log = server.log()
        assert "Application shutdown complete" in log
        # One line per turn: id, model, outcome, duration; never the key or the question.
        assert re.search(r"turn id=\d+ model=\S+ status=complete \d+ms", log)
        assert "sk-test-secret-key-123" not in log and "First question" not in log
    else:
        # Longer than the graceful-shutdown window, so SIGTERM cannot wait for its end.
        upstream.script(Reply(content="partial " * 2000, chunk_size=8, delay_s=0.02))
        send(page, "Second question, long answer")
        wait_for_bot_text(page, "partial partial partial")
        time.sleep(1.5)  # at least one periodic save of the growing answer
        started = time.monotonic()
        code = server.stop(signal.SIGTERM if how == "sigterm" else signal.SIGKILL, timeout=30)
        assert time.monotonic() - started < 10
        if how == "sigterm":
            assert code in (0, -signal.SIGTERM)
            assert "saved 1 answer(s) in flight" in server.log()
        else:
            assert code == -signal.SIGKILL

    database = sqlite3.connect(tmp_path / "data" / "webui.sqlite3")
    assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    database.close()

    server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port, **grace)
    try:
        wait_for_reload(page)  # the page notices the new server process and reloads itself
        page.wait_for_selector('#chatbot [data-testid="user"]')
        wait_for_bot_text(page, "First answer, complete.")
        if how != "restart":
            wait_for_bot_text(page, "partial partial")
            wait_for_bot_text(page, "Interrupted")
        assert sidebar_titles(page) == ["First question"]
    finally:
        server.stop()
        context.close()
