"""Helpers for driving the page in Debian's Chromium (selectors from Gradio 6's markup)."""

from __future__ import annotations

import shutil
import time

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


def open_page(browser, url: str, context=None):
    """A page on `url` in `context` (default: a fresh one, i.e. another browser's cookies)."""
    context = context or browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    page.wait_for_selector("#composer textarea")
    # The page's load chain has run: it ends by reading the draft kept in the browser, and only
    # then does the page save drafts (see READ_DRAFT_JS in app/ui/assets).
    page.wait_for_function("window.vlmDraftRead === true")
    return page


def wait_until(condition, timeout_s: float = 20, explain=lambda: "condition never became true"):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(explain())
        time.sleep(0.1)


def send(page, text: str, files=()) -> None:
    if files:
        page.set_input_files('#composer input[data-testid="file-upload"]', [str(f) for f in files])
        page.wait_for_selector("#composer .thumbnail-item")
    page.fill("#composer textarea", text)
    page.press("#composer textarea", "Enter")


ANSWERS_JS = """() => {
  const answers = [];
  let previous = null;
  for (const node of document.querySelectorAll(
      '#chatbot [data-testid="user"], #chatbot [data-testid="bot"]')) {
    const bot = node.dataset.testid === 'bot';
    if (bot && previous === 'bot') answers[answers.length - 1] += '\\n' + node.innerText;
    else if (bot) answers.push(node.innerText);
    previous = node.dataset.testid;
  }
  return answers;
}"""


def bot_texts(page) -> list[str]:
    """One text per answer: an answer is shown as consecutive rows (thinking, notes, the
    answer, its details), as ChatInterface does with messages that are not grouped."""
    return page.evaluate(ANSWERS_JS)


def notice_text(page) -> str:
    """The notice above the composer: why a question was not sent."""
    notice = page.locator("#composer-notice")
    return notice.inner_text() if notice.is_visible() else ""


def wait_for_notice(page, needle: str, timeout_s: float = 20) -> None:
    wait_until(
        lambda: needle in notice_text(page),
        timeout_s,
        lambda: f"{needle!r} never appeared; the notice says {notice_text(page)!r}",
    )


def pick_model(page, model_id: str) -> None:
    """Choose a model in the picker as a person does: open it, click the option."""
    page.click("#model input")
    page.get_by_role("option", name=model_id, exact=True).click()
    wait_until(lambda: page.input_value("#model input") == model_id)


def sidebar_titles(page) -> list[str]:
    return page.locator("#conversations .conv-row .conv-title").all_inner_texts()


def wait_for_titles(page, expected: list[str], timeout_s: float = 20) -> None:
    wait_until(
        lambda: sidebar_titles(page) == expected,
        timeout_s,
        lambda: f"sidebar shows {sidebar_titles(page)}, expected {expected}",
    )


def wait_for_bot_text(page, needle: str, timeout_s: float = 20) -> None:
    wait_until(
        lambda: any(needle in text for text in bot_texts(page)),
        timeout_s,
        lambda: f"{needle!r} never appeared; bot messages: {bot_texts(page)}",
    )


def mark_page(page) -> None:
    """Remember this document, to notice later that the page reloaded itself."""
    page.evaluate("window.__test_mark = true")


def wait_for_reload(page, timeout_s: float = 30) -> None:
    """Wait until the marked document is gone and the new one is ready."""

    def reloaded() -> bool:
        try:
            return not page.evaluate("window.__test_mark || false")
        except Exception:  # the document is being replaced right now
            return False

    wait_until(reloaded, timeout_s, lambda: "the page did not reload itself")
    page.wait_for_selector("#composer textarea")
