"""Start-up time, and time to first token in the browser versus straight from the fake upstream.

Run: .venv/bin/python bench/bench_ui_latency.py [turns=10]
Needs Debian's chromium (scripts/setup.sh --test installs it).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_api_latency import first_token_ms
from tests.conftest import start_server
from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS
from tests.fake_upstream import FakeUpstream, Reply


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        fake.default_reply = Reply(content="MARKER answer text.", chunk_size=6)
        started = time.perf_counter()
        server = start_server(fake, Path(tmp) / "data", Path(tmp), WEBUI_LOG_LEVEL="WARNING")
        startup = time.perf_counter() - started
        ui, direct = [], []
        try:
            with sync_playwright() as p, httpx.Client(timeout=30) as client:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
                )
                page = browser.new_page()
                page.goto(server.url)
                page.wait_for_selector("#composer textarea")
                for n in range(turns):
                    direct.append(first_token_ms(client, f"{fake.base_url}/chat/completions"))
                    bots = page.locator('#chatbot [data-testid="bot"]')
                    before = bots.count()
                    page.fill("#composer textarea", f"question {n}")
                    start = time.perf_counter()
                    page.press("#composer textarea", "Enter")
                    page.wait_for_function(
                        "n => [...document.querySelectorAll('#chatbot [data-testid=\"bot\"]')]"
                        ".slice(n).some(e => e.innerText.includes('MARKER'))",
                        arg=before,
                        polling="raf",
                    )
                    ui.append((time.perf_counter() - start) * 1000)
                    time.sleep(0.5)  # let the turn's event chain finish before the next one
                browser.close()
        finally:
            server.stop()
    print(f"start-up: process start to /healthz 200: {startup:.2f} s")
    print(f"{turns} turns; median time to first token:")
    print(f"  fake upstream directly (HTTP):        {statistics.median(direct):7.1f} ms")
    print(f"  in the browser (Enter → text shown):  {statistics.median(ui):7.1f} ms")


if __name__ == "__main__":
    main()
