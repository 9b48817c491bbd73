"""Regenerate the README's screenshots (docs/screenshots/): the page in English and Chinese, on a
1366×768 laptop and a 390×844 phone, from a real server answering through the fake upstream.

Run: .venv/bin/python docs/make_screenshots.py   (needs scripts/setup.sh --test for chromium)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.samples import sample_file
from tests.conftest import start_server
from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS, send, wait_for_bot_text
from tests.fake_upstream import FakeUpstream, Reply

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}

# What each locale asks and what the (fake) model answers: a receipt read into a table.
CHAT = {
    "en": {
        "locale": "en-US",
        "earlier": ("Which month had the most sales?", "June, with 208 units."),
        "question": "What did I buy, and what was the total?",
        "thinking": "Four lines on the receipt; the total is printed at the bottom.",
        "answer": (
            "| item | qty | amount |\n| --- | ---: | ---: |\n| Flat white | 2 | 6.40 |\n"
            "| Croissant | 1 | 2.50 |\n| Orange juice | 1 | 3.80 |\n| Sandwich | 1 | 4.25 |\n\n"
            "**Total: 16.95 EUR** (VAT included). Nothing on the receipt was hard to read."
        ),
        "done": "Total: 16.95",
    },
    "zh": {
        "locale": "zh-CN",
        "earlier": ("哪个月销量最高？", "六月，共 208 件。"),
        "question": "我买了什么？一共多少钱？",
        "thinking": "小票上有四行商品，合计印在最下方。",
        "answer": (
            "| 商品 | 数量 | 金额 |\n| --- | ---: | ---: |\n| 馥芮白 | 2 | 6.40 |\n"
            "| 可颂 | 1 | 2.50 |\n| 橙汁 | 1 | 3.80 |\n| 三明治 | 1 | 4.25 |\n\n"
            "**合计：16.95 欧元**（含税）。小票上的内容都清晰可读。"
        ),
        "done": "16.95",
    },
}


def shoot(browser, url: str, fake: FakeUpstream, tmp: Path, lang: str, size: str) -> Path:
    words = CHAT[lang]
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale=words["locale"],
        timezone_id="Asia/Shanghai",
        device_scale_factor=1,
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#composer textarea")
    earlier_question, earlier_answer = words["earlier"]
    fake.script(
        Reply(content=earlier_answer),
        Reply(content=words["answer"], thinking=words["thinking"], chunk_size=40),
    )
    send(page, earlier_question)
    wait_for_bot_text(page, earlier_answer)
    if size == "phone":  # the sidebar is a drawer there, opened from its button
        page.click("#sidebar .toggle-button")
    page.click("#new-chat")
    page.locator("#composer textarea").fill("")
    send(page, words["question"], [sample_file("receipt", tmp)])
    wait_for_bot_text(page, words["done"])
    page.wait_for_timeout(1200)
    # The question in the middle: the bottom of its photo above, the answer's start below.
    page.locator('#chatbot [data-testid="user"]').last.evaluate(
        "node => node.closest('.message-row').scrollIntoView({block: 'center'})"
    )
    page.wait_for_timeout(300)
    output = OUT / f"{lang}-{size}.png"
    page.screenshot(path=str(output))
    context.close()
    return output


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, FakeUpstream() as fake:
        tmp = Path(folder)
        server = start_server(fake, tmp / "data", tmp, WEBUI_LOG_LEVEL="WARNING")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
                )
                for lang in CHAT:
                    for size in SIZES:
                        written = shoot(browser, server.url, fake, tmp, lang, size)
                        print(f"wrote {written.relative_to(ROOT)}")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
