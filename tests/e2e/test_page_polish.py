"""Issue 13's bugs, as a person sees them: in English and Chinese, on a 1366×768 laptop and a
390×844 phone, in headless Chromium against a real server and the fake model.

A bug that depends on the layout or the language runs in all four looks; the others run as an
English laptop and a Chinese phone, which still covers both languages and both screens.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import start_server
from tests.e2e.browser import (
    CLIPBOARD_SPY,
    LOCALES,
    VIEWPORTS,
    bot_texts,
    copied,
    notice_text,
    open_as,
    open_sidebar,
    pick_model,
    send,
    sidebar_titles,
    visible_labels,
    wait_for_bot_text,
    wait_for_titles,
    wait_until,
)
from tests.fake_upstream import Reply
from tests.media_factory import make_jpeg, make_png

pytestmark = pytest.mark.e2e

EVIDENCE = Path("/work/evidence")
ALL_LOOKS = [pytest.param(loc, scr, id=f"{loc}-{scr}") for loc in LOCALES for scr in VIEWPORTS]
TWO_LOOKS = [
    pytest.param("en-US", "laptop", id="en-US-laptop"),
    pytest.param("zh-CN", "phone", id="zh-CN-phone"),
]
ZH = "zh-CN"


def words(locale: str, en, zh):
    return zh if locale == ZH else en


def image_parts(request: dict) -> list[dict]:
    return [
        part
        for message in request["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


def new_chat(page) -> None:
    open_sidebar(page)
    page.click("#new-chat")
    wait_until(lambda: page.locator("#starter").is_visible(), 10, lambda: "the chat did not empty")


def no_toasts(page) -> list[str]:
    """The texts of Gradio toasts on the page (errors, warnings): none expected."""
    return page.locator(".toast-body").all_inner_texts()


def screenshot(page, name: str) -> None:
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(EVIDENCE / name))


@pytest.fixture
def look_page(browser, live_server, upstream, request):
    """A page in the look the test is parametrized with (locale, screen)."""
    pages = []

    def make(locale: str, screen: str, **context_args):
        page = open_as(browser, live_server.url, locale, screen, **context_args)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


# -- bug 1: the trash icon ------------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_no_trash_icon_and_new_chat_sends_none_of_the_old_images(
    look_page, upstream, tmp_path, locale, screen
):
    page = look_page(locale, screen)
    send(page, "What is on this receipt?", [make_png(tmp_path / "receipt.png", "white")])
    wait_for_bot_text(page, "Hello from the fake model.")
    assert len(image_parts(upstream.chat_requests()[-1])) == 1
    # The chat's corner shows only "copy conversation": no trash icon that blanks the view.
    assert visible_labels(page, "#chatbot .top-panel") == [
        words(locale, "Copy conversation", "复制整个对话")
    ]
    new_chat(page)
    upstream.script(Reply(content="A fresh start."))
    send(page, "A new question")
    wait_for_bot_text(page, "A fresh start.")
    fresh = upstream.chat_requests()[-1]
    assert image_parts(fresh) == []
    assert [m["role"] for m in fresh["messages"]] == ["user"]
    assert bot_texts(page)[0].startswith("A fresh start.") and len(bot_texts(page)) == 1
    wait_for_titles(page, ["A new question", "What is on this receipt?"])


# -- bug 2: effort levels ------------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_switching_from_a_model_with_effort_to_one_without_shows_no_error(
    look_page, upstream, locale, screen
):
    page = look_page(locale, screen)
    pick_model(page, "step-3.7-flash")
    page.locator("#effort").wait_for(state="visible")
    send(page, "Reasoning question")
    wait_for_bot_text(page, "Hello from the fake model.")
    new_chat(page)
    pick_model(page, "Step3-VL-10B")
    wait_until(lambda: not page.locator("#effort").is_visible())
    send(page, "Vision question")
    wait_for_bot_text(page, "Hello from the fake model.")
    wait_for_titles(page, ["Vision question", "Reasoning question"])

    def open_chat(title: str, model: str) -> None:
        open_sidebar(page)
        page.locator("#conversations .conv-row", has_text=title).click()
        wait_until(lambda: page.input_value("#model input") == model)

    open_chat("Reasoning question", "step-3.7-flash")
    page.locator("#effort").wait_for(state="visible")
    open_chat("Vision question", "Step3-VL-10B")
    wait_until(lambda: not page.locator("#effort").is_visible())
    page.wait_for_timeout(300)  # a toast would come with the same update
    assert no_toasts(page) == []
    open_chat("Reasoning question", "step-3.7-flash")
    page.locator("#effort").wait_for(state="visible")
    selected = page.locator("#effort label.selected")
    assert selected.inner_text().strip() == words(locale, "Medium", "中")
    page.wait_for_timeout(300)
    assert no_toasts(page) == []


# -- bug 3: Share ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_no_share_button(look_page, upstream, tmp_path, locale, screen):
    page = look_page(locale, screen)
    upstream.script(Reply(content="A blue square.", thinking="Blue."))
    send(page, "Describe it", [make_png(tmp_path / "blue.png", "blue")])
    wait_for_bot_text(page, "A blue square.")
    # The answer's buttons are there, but none that cannot work here.
    wait_until(lambda: visible_labels(page, "#chatbot .message-buttons"))
    assert words(locale, "Share", "分享") not in visible_labels(page, "#chatbot")


# -- bug 4: copy ----------------------------------------------------------------------------------
ANSWER_MD = "**Total:** 12.50 EUR\n\n| item | price |\n|---|---|\n| milk | 2.50 |\n\n- paid by card"


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_copy_gives_the_answers_markdown_and_copy_all_a_clean_transcript(
    look_page, upstream, tmp_path, locale, screen
):
    page = look_page(locale, screen, init_script=CLIPBOARD_SPY)
    upstream.script(Reply(content=ANSWER_MD, thinking="Add up the lines of the receipt."))
    send(page, "Read this receipt", [make_png(tmp_path / "r.png", "white")])
    wait_for_bot_text(page, "paid by card")
    wait_for_bot_text(page, "tokens")  # the details line: the answer is complete
    labels = words(locale, ("Copy", "Copy message"), ("复制", "复制消息", "Copy message"))
    buttons = page.locator(
        ", ".join(
            f'#chatbot .message-buttons button[aria-label="{label}"]:visible' for label in labels
        )
    )
    shown = buttons.count()  # (a clicked one says "Copied" for a while)
    buttons.last.click()  # the answer's
    wait_until(lambda: copied(page), 5, lambda: "nothing was copied")
    assert copied(page)[-1] == ANSWER_MD
    assert shown == 2  # the question's and the answer's; none per part of the answer

    page.locator(
        f'#chatbot .top-panel button[aria-label="{words(locale, "Copy conversation", "复制整个对话")}"]'
    ).click()
    wait_until(lambda: len(copied(page)) == 2, 5, lambda: "copy-all copied nothing")
    you, assistant = words(locale, "You", "我"), words(locale, "Assistant", "助手")
    assert copied(page)[-1] == f"{you}:\nRead this receipt\n\n{assistant}:\n{ANSWER_MD}"


# -- bug 5: the sidebar's times ------------------------------------------------------------------
SHANGHAI = ZoneInfo("Asia/Shanghai")
BROWSER_IDS = {"en-US": "e" * 43, "zh-CN": "z" * 43}


def seeded_times(now: float) -> dict[str, float]:
    """A conversation for each group, at times whose day differs between UTC and Shanghai."""
    local = datetime.fromtimestamp(now, SHANGHAI)
    at = lambda days, hour, minute: (  # noqa: E731
        (local - timedelta(days=days)).replace(hour=hour, minute=minute, second=0).timestamp()
    )
    return {
        "Lunch receipt": now - 90,
        "Whiteboard notes": at(1, 7, 55),  # 23:55 UTC the day before
        "Chart from this week": at(4, 7, 30),
        "Old invoice": at(40, 9, 5),
    }


def expected_sidebar(times: dict[str, float], now: float, locale: str) -> list[str]:
    today = datetime.fromtimestamp(now, SHANGHAI).date()
    lines, group = [], None
    for title, stamp in sorted(times.items(), key=lambda item: -item[1]):
        when = datetime.fromtimestamp(stamp, SHANGHAI)
        days = (today - when.date()).days
        if days <= 1:
            heading = [words(locale, "Today", "今天"), words(locale, "Yesterday", "昨天")][days]
            shown = when.strftime("%H:%M")
        else:
            heading = (
                words(locale, "Previous 7 days", "过去 7 天")
                if days < 7
                else words(locale, "Earlier", "更早")
            )
            shown = f"{when.month}月{when.day}日" if locale == ZH else when.strftime("%b %-d")
            if when.year != today.year:
                shown = f"{when.year}年{shown}" if locale == ZH else f"{shown}, {when.year}"
        if heading != group:
            lines.append(f"# {heading}")
            group = heading
        lines.append(f"{title} {shown}")
    return lines


@pytest.fixture(scope="module")
def seeded_server(fake_upstream, tmp_path_factory):
    """A server whose store already holds, for each test browser, conversations from the past
    (written into the SQLite file before the server starts)."""
    from app.store import Store

    root = tmp_path_factory.mktemp("seeded")
    (root / "data").mkdir()
    Store(root / "data" / "webui.sqlite3")  # the schema, as the app makes it
    now = time.time()
    database = sqlite3.connect(root / "data" / "webui.sqlite3")
    with database:
        for locale, browser_id in BROWSER_IDS.items():
            for number, (title, stamp) in enumerate(seeded_times(now).items()):
                conversation_id = f"{locale}-{number}"
                database.execute(
                    "INSERT INTO conversations (id, owner, title, model, detail, created_at,"
                    " updated_at) VALUES (?, ?, ?, 'step-3.7-flash', 'low', ?, ?)",
                    (conversation_id, f"anon:{browser_id}", title, stamp, stamp),
                )
                database.execute(
                    "INSERT INTO messages (conversation_id, role, text, created_at, updated_at)"
                    " VALUES (?, 'user', ?, ?, ?)",
                    (conversation_id, title, stamp, stamp),
                )
    database.close()
    server = start_server(fake_upstream, root / "data", root)
    server.times, server.seeded_at = seeded_times(now), now
    yield server
    server.stop()


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_sidebar_times_are_the_browsers_grouped_by_day(browser, seeded_server, locale, screen):
    cookie = {"name": "vlm_webui_id", "value": BROWSER_IDS[locale], "url": seeded_server.url}
    page = open_as(
        browser,
        seeded_server.url,
        locale,
        screen,
        timezone_id="Asia/Shanghai",
        storage_state={"cookies": [cookie], "origins": []},
    )
    try:
        open_sidebar(page)
        page.locator("#conversations .conv-row").first.wait_for()
        shown = page.evaluate(
            """() => [...document.querySelectorAll('#conversations .conv-group, #conversations .conv-row')]
                 .map((n) => n.classList.contains('conv-group') ? '# ' + n.innerText.trim()
                   : n.querySelector('.conv-title').innerText.trim() + ' '
                     + n.querySelector('.conv-time').innerText.trim())"""
        )
        expected = expected_sidebar(seeded_server.times, seeded_server.seeded_at, locale)
        assert shown == expected
        assert "Whiteboard notes 07:55" in shown
    finally:
        page.context.close()


# -- bug 6: the title ------------------------------------------------------------------------------
def selected_title(page) -> str | None:
    row = page.locator("#conversations .conv-row.selected .conv-title")
    return row.inner_text() if row.count() else None


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_the_current_title_after_new_chat_and_after_a_reload(look_page, upstream, locale, screen):
    page = look_page(locale, screen)
    send(page, "Bakery receipt")
    wait_for_bot_text(page, "Hello from the fake model.")
    wait_until(lambda: selected_title(page) == "Bakery receipt")
    new_chat(page)
    assert selected_title(page) is None  # a new chat is not the previous one
    send(page, "Train timetable")
    wait_for_bot_text(page, "Hello from the fake model.")
    wait_until(lambda: selected_title(page) == "Train timetable")
    page.reload()
    page.wait_for_selector('#chatbot [data-testid="user"]')
    wait_until(
        lambda: selected_title(page) == "Train timetable",
        10,
        lambda: f"after a reload the selected title is {selected_title(page)!r}",
    )
    assert page.locator('#chatbot [data-testid="user"]').inner_text() == "Train timetable"


# -- bug 7: images open large ----------------------------------------------------------------------
def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, "not on screen"
    return found


@pytest.mark.parametrize(("locale", "screen"), ALL_LOOKS)
def test_clicking_an_image_opens_it_large_with_zoom(look_page, upstream, tmp_path, locale, screen):
    page = look_page(locale, screen)
    receipt = make_jpeg(tmp_path / "receipt.jpg", size=(900, 1600))  # tall, like a receipt
    send(page, "What does the receipt say?", [receipt])
    wait_for_bot_text(page, "Hello from the fake model.")
    thumbnail = page.locator("#chatbot img").first
    page.wait_for_function("() => document.querySelector('#chatbot img')?.naturalWidth > 0")
    small = box(thumbnail)
    thumbnail.click()
    viewer = page.locator("#image-viewer.open img")
    viewer.wait_for(state="visible", timeout=5000)
    page.wait_for_function("() => document.querySelector('#image-viewer img').naturalWidth > 0")
    large = box(viewer)
    screen_size = VIEWPORTS[screen]
    # As large as the screen allows (its height on a laptop, its width on a phone)...
    assert (
        large["height"] > 0.9 * screen_size["height"] or large["width"] > 0.9 * screen_size["width"]
    ), (small, large)
    # ...many times the thumbnail in the chat.
    assert large["width"] * large["height"] > 4 * small["width"] * small["height"], (small, large)
    if locale == ZH and screen == "phone":
        screenshot(page, "zh-CN-phone-image-viewer.png")
    viewer.click()  # zoom: the picture at its own size, scrollable
    page.locator("#image-viewer.zoomed").wait_for()
    zoomed = box(page.locator("#image-viewer img"))
    assert zoomed["height"] > 1.5 * large["height"], (large, zoomed)
    page.keyboard.press("Escape")
    page.locator("#image-viewer").wait_for(state="hidden")


# -- bug 8: dropping a file --------------------------------------------------------------------------
DROP_JS = """async (selector) => {
  const canvas = document.createElement('canvas');
  canvas.width = 80; canvas.height = 60;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#3a6'; ctx.fillRect(0, 0, 80, 60);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  const data = new DataTransfer();
  data.items.add(new File([blob], 'dropped.png', {type: 'image/png'}));
  const area = document.querySelector(selector).getBoundingClientRect();
  const x = area.x + area.width / 2, y = area.y + area.height / 2;
  const target = document.elementFromPoint(x, y);
  const init = {bubbles: true, cancelable: true, composed: true, dataTransfer: data, clientX: x, clientY: y};
  target.dispatchEvent(new DragEvent('dragenter', init));
  target.dispatchEvent(new DragEvent('dragover', init));
  const drop = new DragEvent('drop', init);
  target.dispatchEvent(drop);
  return {inside: !!target.closest(selector), handled: drop.defaultPrevented};
}"""


@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_a_file_dropped_on_the_chat_is_attached(look_page, upstream, locale, screen):
    page = look_page(locale, screen)
    send(page, "Hello")
    wait_for_bot_text(page, "Hello from the fake model.")
    dropped = page.evaluate(DROP_JS, "#chatbot")
    assert dropped["inside"]  # dropped on the chat itself, far from the composer
    assert dropped["handled"]  # the browser does not open the file in the tab
    page.locator("#composer .thumbnail-item").wait_for(timeout=10_000)
    assert page.locator("#composer .thumbnail-item").count() == 1
    send(page, "What did I drop?")
    wait_until(lambda: len(upstream.chat_requests()) == 2)
    assert len(image_parts(upstream.chat_requests()[-1])) == 1


# -- bug 9: the chat's corner icons ----------------------------------------------------------------
COVERED_JS = """() => {
  // The corner icons that cover a message where it shows inside the chat's scrolling area.
  const log = document.querySelector('#chatbot [role=log]').getBoundingClientRect();
  const cut = (r) => ({left: Math.max(r.left, log.left), right: Math.min(r.right, log.right),
                       top: Math.max(r.top, log.top), bottom: Math.min(r.bottom, log.bottom)});
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const icons = [...document.querySelectorAll('#chatbot .top-panel button')]
    .map((b) => b.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0);
  const shown = [...document.querySelectorAll('#chatbot .message')]
    .map((m) => cut(m.getBoundingClientRect())).filter((r) => r.bottom > r.top && r.right > r.left);
  return {icons: icons.length, covered: icons.filter((i) => shown.some((m) => meet(i, m))).length};
}"""


@pytest.mark.parametrize(("locale", "screen"), ALL_LOOKS)
def test_corner_icons_leave_the_top_message_clear(look_page, upstream, locale, screen):
    page = look_page(locale, screen)
    upstream.script(Reply(content="\n\n".join(f"Part {n}: " + "words " * 60 for n in range(8))))
    send(page, "Please read the attached menu and list every dish with its price and the total")
    wait_for_bot_text(page, "Part 7")
    wait_for_bot_text(page, "tokens")
    for where in ("0", "log.scrollHeight"):  # the first message, then the top of a long answer
        page.evaluate(
            f"() => {{ const log = document.querySelector('#chatbot [role=log]');"
            f" log.scrollTo(0, {where}); }}"
        )
        page.wait_for_function(
            f"() => {{ const log = document.querySelector('#chatbot [role=log]');"
            f" return Math.abs(log.scrollTop - Math.min({where}, log.scrollHeight"
            f" - log.clientHeight)) < 2; }}"
        )
        found = page.evaluate(COVERED_JS)
        assert found["icons"] >= 1
        assert found["covered"] == 0, f"scrolled to {where}: an icon covers a message"


# -- bug 10: import and export ---------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "screen"), TWO_LOOKS)
def test_import_gives_a_new_title_and_export_links_go_with_their_chat(
    look_page, upstream, tmp_path, locale, screen
):
    page = look_page(locale, screen)
    send(page, "Invoice 42")
    wait_for_bot_text(page, "Hello from the fake model.")
    open_sidebar(page)
    page.click("#export")
    links = page.locator("#exported a")
    links.first.wait_for()
    json_link = next(a for a in links.all() if a.get_attribute("href").endswith(".json"))
    assert not json_link.inner_text().startswith(".")  # a word, not ".json"
    exported = page.request.get(f"{page.url.rstrip('/')}/{json_link.get_attribute('href')}")
    assert exported.ok
    saved = tmp_path / "invoice.json"
    saved.write_bytes(exported.body())

    page.set_input_files('#sidebar-tools input[type=file][accept=".json"]', str(saved))
    wait_until(lambda: len(sidebar_titles(page)) == 2, 20, lambda: str(sidebar_titles(page)))
    titles = sidebar_titles(page)
    assert titles[1] == "Invoice 42" and titles[0] != titles[1] and "Invoice 42" in titles[0]
    assert not page.locator("#exported a").is_visible()  # the import opened another chat

    open_sidebar(page)
    page.click("#export")
    page.locator("#exported a").first.wait_for()
    original = page.locator(".conv-title", has_text=re.compile(r"^Invoice 42$"))
    page.locator("#conversations .conv-row", has=original).click()
    wait_until(
        lambda: not page.locator("#exported a").first.is_visible(),
        10,
        lambda: "the export links of the other chat are still listed",
    )


# -- no English in the Chinese page ------------------------------------------------------------------
# Names and units that are the same in both languages.
ALLOWED = {
    "step",
    "flash",
    "router",
    "v1",
    "Step3",
    "VL",
    "10B",
    "tokens",
    "token",
    "JSON",
    "CSV",
    "KB",
    "MB",
    "ms",
    "Top",  # 核采样（Top-p）: the parameter's own name, after the Chinese one
}

SHOWN_TEXT_JS = """() => {
  // Text a person sees (or a screen reader reads), except what people wrote themselves:
  // their questions and conversation titles.
  const skip = (el) => el.closest('[data-testid="user"], .conv-title, #composer textarea, script, style');
  const shown = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') return false;
    return el.getClientRects().length > 0;
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (text && el && !skip(el) && shown(el)) out.push(text);
  }
  for (const el of document.querySelectorAll('textarea[placeholder], input[placeholder]')) {
    if (shown(el) && el.placeholder) out.push(el.placeholder);
  }
  for (const el of document.querySelectorAll('button[aria-label]')) {
    if (shown(el) && el.getAttribute('aria-label')) out.push(el.getAttribute('aria-label'));
  }
  return out;
}"""


def english_words(page, own_files: tuple[str, ...] = ("white.png", "black.png")) -> list[str]:
    found = []
    for text in page.evaluate(SHOWN_TEXT_JS):
        # The service's own words quoted in an error are the service's, not the page's; the
        # names of the person's own files are theirs.
        text = re.sub(r"服务返回：.*", "", text)
        text = re.sub(r"https?://\S+", "", text)  # an address, e.g. of the model service
        for name in own_files:
            text = text.replace(name, "")
        found += [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", text) if w not in ALLOWED]
    return found


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_no_english_in_the_chinese_page(look_page, upstream, tmp_path, screen):
    page = look_page(ZH, screen)
    assert english_words(page) == []  # the empty chat with its starter cards

    page.click("#model input")
    page.get_by_role("option").first.wait_for()
    assert english_words(page) == []  # the model picker, open
    page.keyboard.press("Escape")

    upstream.script(Reply(content="图里是一张白色的小票。", thinking="先看看图片。"))
    send(page, "图里是什么？", [make_png(tmp_path / "white.png", "white")])
    wait_for_bot_text(page, "tokens")
    assert english_words(page) == []  # an answer, its thinking and its details

    send(page, "再看一下 FAULT:500")
    wait_for_bot_text(page, "500")
    assert english_words(page) == []  # an error

    pick_model(page, "step-3.5-flash")
    upstream.script(Reply(content="好的，继续。"))
    send(page, "继续说")
    wait_for_bot_text(page, "好的，继续。")
    wait_for_bot_text(page, "tokens")
    assert "仅" in page.inner_text("#model-badges")
    assert english_words(page) == []  # notes: the earlier image left out, a question unanswered

    send(page, "这张呢？", [make_png(tmp_path / "black.png", "black")])
    wait_until(lambda: notice_text(page), 10, lambda: "no notice")
    assert english_words(page) == []  # the notice: this model reads text only

    open_sidebar(page)
    page.locator("#settings > button").click()
    page.locator("#status-panel > button").click()
    page.locator("#system-prompt").wait_for()
    assert english_words(page) == []  # the sidebar, settings and model services
    screenshot(page, f"zh-CN-{screen}-sidebar.png")


# -- the composer stays on screen --------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "screen"), ALL_LOOKS)
def test_composer_on_screen_with_three_images(look_page, upstream, tmp_path, locale, screen):
    page = look_page(locale, screen)
    upstream.script(
        Reply(content="\n\n".join(f"Paragraph {n}: " + "words " * 40 for n in range(8)))
    )
    send(page, "A long answer please")
    wait_for_bot_text(page, "Paragraph 7")
    pictures = [make_png(tmp_path / f"{c}.png", c, (800, 600)) for c in ("red", "green", "blue")]
    page.set_input_files('#composer input[data-testid="file-upload"]', [str(p) for p in pictures])
    wait_until(lambda: page.locator("#composer .thumbnail-item").count() == 3)
    page.fill("#composer textarea", "Compare these three")
    viewport = VIEWPORTS[screen]
    page.evaluate("() => window.scrollTo(0, 0)")
    for part in (
        "#composer",
        "#composer textarea",
        '#composer button[data-testid="submit-button"]',
    ):
        found = box(page.locator(part))
        assert found["y"] >= 0 and found["y"] + found["height"] <= viewport["height"], (part, found)
        assert found["x"] >= 0 and found["x"] + found["width"] <= viewport["width"], (part, found)
    # The page itself does not scroll: the chat scrolls inside it, the composer stays put.
    height = page.evaluate("() => document.scrollingElement.scrollHeight")
    assert height <= viewport["height"] + 1, height
    if screen == "phone":
        screenshot(page, f"{locale}-phone-three-images.png")
