"""Regenerate the README's screenshots (docs/screenshots/): the page in English and Chinese, on a
1366×768 laptop and a 390×844 phone, from a real server answering through the fake upstream;
and the Batch tab with a finished job of receipts (`{en,zh}-batch.png` on the laptop,
`{en,zh}-batch-phone.png` on the phone).

Run: .venv/bin/python docs/make_screenshots.py   (needs scripts/setup.sh --test for chromium)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFont

from app.samples import sample_file
from tests.conftest import start_server
from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS, send, wait_for_bot_text, wait_until
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


# A batch of receipts: what each file is, and what the (fake) model answers for it. One answer
# is not JSON (marked in the table) and one file is not an image at all (a failed row).
RECEIPTS = [
    ("corner-cafe.png", "CORNER CAFE", "2026-11-03", 16.95),
    ("harbour-bakery.png", "HARBOUR BAKERY", "2026-11-04", 8.40),
    ("green-grocer.png", "GREEN GROCER", "2026-11-05", 23.10),
    ("city-books.png", "CITY BOOKS", "2026-11-07", 31.50),
    ("taxi-0193.png", "TAXI 0193", "2026-11-07", 12.00),
]
NOT_JSON = {
    "en": "The photo is too blurry to read the total; please retake it.",
    "zh": "照片太模糊，看不清合计金额，请重新拍摄。",
}


def draw_receipt(path: Path, merchant: str, date: str, total: float) -> Path:
    image = Image.new("RGB", (360, 520), "white")
    draw = ImageDraw.Draw(image)
    draw.text((180, 40), merchant, font=ImageFont.load_default(size=26), fill="black", anchor="mm")
    text = ImageFont.load_default(size=18)
    draw.text((24, 90), date, font=text, fill="black")
    for n in range(4):
        draw.text((24, 140 + 34 * n), f"Item {n + 1}", font=text, fill="black")
        draw.text((336, 140 + 34 * n), f"{total / 4:.2f}", font=text, fill="black", anchor="ra")
    draw.line((24, 290, 336, 290), fill="black", width=2)
    draw.text((24, 310), "TOTAL EUR", font=text, fill="black")
    draw.text((336, 310), f"{total:.2f}", font=text, fill="black", anchor="ra")
    image.save(path)
    return path


def shoot_batch(
    browser, url: str, fake: FakeUpstream, tmp: Path, lang: str, size: str = "desktop"
) -> Path:
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
    page.click("#batch-tab-button")
    folder = tmp / f"receipts-{lang}-{size}"
    folder.mkdir(exist_ok=True)
    files = [
        draw_receipt(folder / name, merchant, day, total) for name, merchant, day, total in RECEIPTS
    ]
    broken = folder / "scan-0007.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    files.append(broken)
    replies = []
    for _name, merchant, day, total in RECEIPTS[:-1]:
        fields = (
            f'"merchant": "{merchant.title()}", "date": "{day}", "currency": "EUR", '
            f'"subtotal": {total / 1.13:.2f}, "tax": {total - total / 1.13:.2f}, "total": {total:.2f}'
        )
        replies.append(Reply(content=f"```json\n{{{fields}}}\n```", delay_s=0.02))
    replies.append(Reply(content=NOT_JSON[lang]))
    fake.script(*replies)  # the server runs one row at a time: answers in the files' order
    page.set_input_files("#batch-files input[type=file]", [str(f) for f in files])
    wait_until(lambda: page.locator("#batch-files tr.file").count() == len(files), 30)
    page.click("#batch-template input")
    page.get_by_role("option", name=TEMPLATE_TITLE[lang], exact=True).click()
    wait_until(lambda: "JSON" in page.input_value("#batch-prompt textarea"))
    page.click("#batch-start")
    wait_until(
        lambda: page.locator("#batch-progress .batch-progress[data-state=done]").count() == 1, 60
    )
    if page.locator("#sidebar.open").count():
        page.click("#sidebar .toggle-button")  # room for the table's columns
    if size == "phone":  # one column: the job's progress and its first results
        page.locator("#batch-progress").scroll_into_view_if_needed()
    else:
        page.evaluate("document.querySelector('#batch-form').scrollTop = 0")
    page.wait_for_timeout(1200)
    output = OUT / (f"{lang}-batch.png" if size == "desktop" else f"{lang}-batch-{size}.png")
    page.screenshot(path=str(output))
    context.close()
    return output


TEMPLATE_TITLE = {"en": "Receipt / invoice → table", "zh": "小票/发票 → 表格"}


def main() -> None:
    only_batch = "--batch" in sys.argv  # just the Batch tab's screenshots
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, FakeUpstream() as fake:
        tmp = Path(folder)
        server = start_server(
            fake, tmp / "data", tmp, WEBUI_LOG_LEVEL="WARNING", WEBUI_BATCH_CONCURRENCY="1"
        )
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
                )
                for lang in [] if only_batch else CHAT:
                    for size in SIZES:
                        written = shoot(browser, server.url, fake, tmp, lang, size)
                        print(f"wrote {written.relative_to(ROOT)}")
                for lang in CHAT:
                    for size in SIZES:
                        written = shoot_batch(browser, server.url, fake, tmp, lang, size)
                        print(f"wrote {written.relative_to(ROOT)}")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
