"""Issue 14's chat tools in the browser: regenerate, undo, edit, the receipt template, answer
details and a conversation's system prompt, checked against what the fake model received and
what the SQLite store holds."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import start_server
from tests.e2e.browser import (
    bot_texts,
    mark_page,
    open_as,
    open_sidebar,
    send,
    wait_for_bot_text,
    wait_for_reload,
    wait_until,
)
from tests.fake_upstream import Reply, free_port
from tests.media_factory import make_png

pytestmark = pytest.mark.e2e

TWO_LOOKS = [
    pytest.param("en-US", "laptop", id="en-US-laptop"),
    pytest.param("zh-CN", "phone", id="zh-CN-phone"),
]
ZH = "zh-CN"


def words(locale: str, en: str, zh: str) -> str:
    return zh if locale == ZH else en


@pytest.fixture
def look_page(browser, live_server, upstream):
    pages = []

    def make(locale: str, screen: str):
        page = open_as(browser, live_server.url, locale, screen)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


def image_urls(request: dict) -> list[str]:
    return [
        part["image_url"]["url"]
        for message in request["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


def chat_button(page, label: str):
    """The one visible button of the chat with this label (e.g. the last answer's Retry)."""
    buttons = page.locator(f'#chatbot button[aria-label="{label}"]:visible')
    wait_until(lambda: buttons.count() >= 1, 10, lambda: f"no visible {label!r} button")
    return buttons


def user_texts(page) -> list[str]:
    """The questions' text rows (a question's media are a row of their own)."""
    return [
        text
        for text in page.locator('#chatbot [data-testid="user"]').all_inner_texts()
        if text.strip()
    ]


def stored(live_server, title: str) -> list[tuple[str, str, int]]:
    """(role, text, media count) of each stored message of the conversation titled `title`."""
    database = sqlite3.connect(live_server.data_dir / "webui.sqlite3")
    try:
        return database.execute(
            "SELECT m.role, m.text, (SELECT COUNT(*) FROM message_media mm"
            " WHERE mm.message_id = m.id) FROM messages m JOIN conversations c"
            " ON c.id = m.conversation_id WHERE c.title = ? ORDER BY m.id",
            (title,),
        ).fetchall()
    finally:
        database.close()


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_regenerate_after_an_error_sends_the_same_history_again(
    look_page, upstream, tmp_path, locale, screen
):
    page = look_page(locale, screen)
    receipt = make_png(tmp_path / "receipt.png", "white", size=(120, 200))
    send(page, f"FAULT:500 What is on this receipt? ({locale})", [receipt])
    wait_for_bot_text(page, "500")
    (first,) = upstream.chat_requests()
    assert len(image_urls(first)) == 1
    upstream.script(Reply(content="The second try: a white receipt."))
    chat_button(page, words(locale, "Regenerate", "重新生成")).last.click()
    wait_for_bot_text(page, "The second try: a white receipt.")
    _, second = upstream.chat_requests()
    assert second["messages"] == first["messages"]  # same text, same image, same bytes
    assert image_urls(second) == image_urls(first)
    (answer,) = bot_texts(page)  # the failed answer was replaced, not kept beside the new one
    assert "500" not in answer


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_undo_removes_the_last_turn_from_page_and_store(
    look_page, upstream, live_server, locale, screen
):
    page = look_page(locale, screen)
    title = f"Undo test, first question ({locale})"
    upstream.script(Reply(content="First answer."), Reply(content="Second answer."))
    send(page, title)
    wait_for_bot_text(page, "First answer.")
    send(page, "Second question")
    wait_for_bot_text(page, "Second answer.")
    wait_until(lambda: len(stored(live_server, title)) == 4)
    chat_button(page, words(locale, "Undo", "撤销")).last.click()
    wait_until(lambda: user_texts(page) == [title], 10, lambda: str(user_texts(page)))
    assert [text.splitlines()[0] for text in bot_texts(page)] == ["First answer."]
    assert page.input_value("#composer textarea") == "Second question"  # back to fix and send
    assert [(role, text) for role, text, _ in stored(live_server, title)] == [
        ("user", title),
        ("assistant", "First answer."),
    ]


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_editing_the_first_question_replaces_the_later_turns(
    look_page, upstream, live_server, tmp_path, locale, screen
):
    page = look_page(locale, screen)
    title = f"Turn one: what is this? ({locale})"
    upstream.script(*(Reply(content=f"Answer {n}.") for n in (1, 2, 3)))
    send(page, title, [make_png(tmp_path / "chart.png", "navy", size=(90, 60))])
    wait_for_bot_text(page, "Answer 1.")
    send(page, "Turn two")
    wait_for_bot_text(page, "Answer 2.")
    send(page, "Turn three")
    wait_for_bot_text(page, "Answer 3.")
    (original_image,) = image_urls(upstream.chat_requests()[0])

    upstream.script(Reply(content="An answer to the edited question."))
    chat_button(page, words(locale, "Edit", "编辑")).first.click()
    editor = page.locator("#chatbot textarea.edit-textarea")
    editor.wait_for()
    edited = "Turn one, edited: what colour is it?"
    editor.fill(edited)
    page.locator(f'#chatbot button[aria-label="{words(locale, "Send", "发送")}"]:visible').click()
    wait_for_bot_text(page, "An answer to the edited question.")
    wait_until(lambda: user_texts(page) == [edited], 10, lambda: str(user_texts(page)))
    assert len(bot_texts(page)) == 1

    last = upstream.chat_requests()[-1]
    assert [m["role"] for m in last["messages"]] == ["user"]  # turns 2 and 3 are gone
    (question,) = last["messages"]
    assert [p["text"] for p in question["content"] if p["type"] == "text"] == [edited]
    assert image_urls(last) == [original_image]  # the original image, the same bytes
    assert [(role, count) for role, _, count in stored(live_server, title)] == [
        ("user", 1),
        ("assistant", 0),
    ]
    assert stored(live_server, title)[0][1] == edited


RECEIPT_PROMPT = {"en-US": "Read this receipt or invoice.", ZH: "请识别这张小票或发票"}


def detail_level(page) -> str:
    return page.locator("#detail label.selected").inner_text().strip()


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_the_receipt_template_fills_the_composer_and_sets_high_detail(look_page, locale, screen):
    page = look_page(locale, screen)
    assert detail_level(page) == words(locale, "Standard", "标准")
    page.locator("#starter-receipt").click()
    wait_until(lambda: page.input_value("#composer textarea") != "")
    assert page.input_value("#composer textarea").startswith(RECEIPT_PROMPT[locale])
    wait_until(lambda: detail_level(page) == words(locale, "High", "高"))
    page.locator("#composer .thumbnail-item").first.wait_for()  # with its sample receipt


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_answer_details_show_first_token_and_tokens_after_a_reload(
    look_page, upstream, locale, screen
):
    page = look_page(locale, screen)
    upstream.script(
        Reply(content="Counted.", prompt_tokens=321, completion_tokens=54, delay_s=0.02)
    )
    send(page, "Count the coins")
    wait_for_bot_text(page, "Counted.")
    wait_for_bot_text(page, "321")
    page.reload()
    page.wait_for_selector("#chatbot .answer-details")
    details = page.locator("#chatbot .answer-details").inner_text()
    assert words(locale, "first token ", "首字 ") in details
    assert words(locale, "321 tokens in · 54 out", "输入 321 tokens · 输出 54") in details


def test_a_system_prompt_reaches_the_model_first_and_survives_a_restart(
    browser, fake_upstream, upstream, tmp_path
):
    port = free_port()
    server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port)
    page = open_as(browser, server.url)
    prompt = "You are a careful accountant. Answer in one line."
    try:
        send(page, "Hello")
        wait_for_bot_text(page, "Hello from the fake model.")
        open_sidebar(page)
        page.locator("#settings > button").click()
        page.fill("#system-prompt textarea", prompt)
        page.locator("#system-prompt textarea").blur()  # saved when the field is left
        wait_until(lambda: page.locator("#settings-note").inner_text().strip() != "")
        send(page, "What is 2 + 2?")
        wait_until(lambda: len(upstream.chat_requests()) == 2)
        first = upstream.chat_requests()[-1]["messages"][0]
        assert first == {"role": "system", "content": prompt}
        wait_for_bot_text(page, "Hello from the fake model.")

        mark_page(page)
        server.stop()
        server = start_server(fake_upstream, tmp_path / "data", tmp_path, port=port)
        wait_for_reload(page)  # the page notices the new server and reloads itself
        open_sidebar(page)
        if not page.locator("#system-prompt textarea").is_visible():
            page.locator("#settings > button").click()
        wait_until(lambda: page.input_value("#system-prompt textarea") == prompt)
        send(page, "And 3 + 3?")
        wait_until(lambda: len(upstream.chat_requests()) == 3)
        messages = upstream.chat_requests()[-1]["messages"]
        assert messages[0] == {"role": "system", "content": prompt}
        assert [m["role"] for m in messages].count("system") == 1
    finally:
        server.stop()
        page.context.close()
