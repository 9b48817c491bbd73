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


def open_page(browser, url: str, context=None, loaded: bool = True):
    """A page on `url` in `context` (default: a fresh one, i.e. another browser's cookies);
    with `loaded`, once the page's own load chain has run (pages before it had none)."""
    context = context or browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    page.wait_for_selector("#composer textarea")
    # The page's load chain has run: it ends by reading the draft kept in the browser, and only
    # then does the page save drafts (see READ_DRAFT_JS in app/ui/assets).
    if loaded:
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


# -- how a person's browser looks: language and screen --------------------------------------------
VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
LOCALES = ("en-US", "zh-CN")


def open_as(
    browser,
    url: str,
    locale: str = "en-US",
    screen: str = "laptop",
    init_script: str | None = None,
    **context_args,
):
    """A page in a fresh context (its own cookie) that reads `locale` (browser and
    Accept-Language) on a `screen` ("laptop" 1366×768 or "phone" 390×844); `init_script` runs
    in every document before the page's own scripts."""
    context = browser.new_context(
        viewport=VIEWPORTS[screen],
        locale=locale,
        extra_http_headers={"Accept-Language": locale},
        is_mobile=screen == "phone",
        has_touch=screen == "phone",
        **context_args,
    )
    if init_script:
        context.add_init_script(init_script)
    return open_page(browser, url, context)


def open_sidebar(page) -> None:
    """On a phone the sidebar is a drawer: open it (a laptop shows it already)."""
    sidebar = page.locator("#sidebar")
    wait_until(lambda: sidebar.count() > 0)
    if "open" not in (sidebar.get_attribute("class") or ""):
        page.click("#sidebar .toggle-button")
    wait_until(lambda: page.locator("#new-chat").is_visible(), 10, lambda: "sidebar never opened")


def visible_labels(page, selector: str) -> list[str]:
    """The aria-labels of the buttons under `selector` that a person can see (not hidden,
    not zero-sized)."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector + ' button')]
          .filter((b) => { const r = b.getBoundingClientRect();
                           return r.width > 0 && r.height > 0
                                  && getComputedStyle(b).visibility !== 'hidden'; })
          .map((b) => b.getAttribute('aria-label') || '')""",
        selector,
    )


# An init script: what a page copies goes to window.__copied instead of the clipboard.
CLIPBOARD_SPY = """
(() => {
  window.__copied = [];
  const proto = window.Clipboard && Clipboard.prototype;
  if (proto) proto.writeText = async function (text) { window.__copied.push(String(text)); };
  const exec = document.execCommand.bind(document);
  document.execCommand = (command, ...rest) => {
    if (command === 'copy') {
      const selected = document.activeElement && document.activeElement.value;
      window.__copied.push(String(selected ?? window.getSelection()));
      return true;
    }
    return exec(command, ...rest);
  };
})();
"""


def copied(page) -> list[str]:
    return page.evaluate("window.__copied || []")
