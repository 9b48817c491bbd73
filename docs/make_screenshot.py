"""Regenerate docs/screenshot.png: a real server, the fake upstream, a chart drawn with Pillow.

Run: .venv/bin/python docs/make_screenshot.py   (needs scripts/setup.sh --test for chromium)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import start_server
from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS, send, wait_for_bot_text
from tests.fake_upstream import FakeUpstream, Reply

ROOT = Path(__file__).resolve().parent.parent
SALES = [("Jan", 120), ("Feb", 135), ("Mar", 128), ("Apr", 162), ("May", 171), ("Jun", 208)]

ANSWER = (
    "The chart shows **monthly sales from January to June**, rising from 120 to 208 units.\n\n"
    "| month | units | change |\n| --- | --- | --- |\n"
    "| Jan | 120 | — |\n| Feb | 135 | +12.5% |\n| Mar | 128 | −5.2% |\n"
    "| Apr | 162 | +26.6% |\n| May | 171 | +5.6% |\n| Jun | 208 | +21.6% |\n\n"
    "The only dip is in **March**; June is the strongest month, about 73% above January."
)
THINKING = (
    "Six bars, labelled Jan to Jun. Reading the heights against the axis: 120, 135, 128, "
    "162, 171, 208. March is lower than February, so that is the one decline."
)


def draw_chart(path: Path) -> Path:
    image = Image.new("RGB", (960, 600), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 24), "Monthly sales (units)", fill="black", font_size=32)
    draw.line((80, 540, 920, 540), fill="black", width=2)
    for index, (month, value) in enumerate(SALES):
        left = 110 + index * 135
        draw.rectangle((left, 540 - value * 2, left + 90, 540), fill=(58, 110, 200))
        draw.text((left + 22, 550), month, fill="black", font_size=24)
        draw.text((left + 20, 540 - value * 2 - 32), str(value), fill="black", font_size=24)
    image.save(path)
    return path


def main() -> None:
    output = ROOT / "docs" / "screenshot.png"
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        server = start_server(fake, Path(tmp) / "data", Path(tmp), WEBUI_LOG_LEVEL="WARNING")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
                )
                page = browser.new_page(viewport={"width": 1440, "height": 1100})
                page.goto(server.url)
                page.wait_for_selector("#composer textarea")
                fake.script(Reply(content=ANSWER, thinking=THINKING, chunk_size=40))
                send(page, "What does this chart show?", [draw_chart(Path(tmp) / "sales.png")])
                wait_for_bot_text(page, "strongest month")
                page.wait_for_timeout(1500)
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(output))
                browser.close()
        finally:
            server.stop()
    print(f"wrote {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
