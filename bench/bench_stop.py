"""How long SIGTERM takes with idle pages open, and with an answer streaming.

Run: .venv/bin/python bench/bench_stop.py
Needs Debian's chromium (scripts/setup.sh --test installs it). The grace for answers in flight is
WEBUI_SHUTDOWN_GRACE (set to 5 s here); idle pages should not wait for it.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import start_server
from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS, open_page, send
from tests.fake_upstream import FakeUpstream, Reply

GRACE_S = 5


def stop_time(fake, browser, root: Path, tabs: int, streaming: bool) -> tuple[float, bool]:
    root.mkdir(parents=True, exist_ok=True)
    server = start_server(fake, root / "data", root, WEBUI_SHUTDOWN_GRACE=str(GRACE_S))
    pages = [open_page(browser, server.url) for _ in range(tabs)]
    try:
        if streaming:
            fake.script(Reply(content="slow " * 2000, chunk_size=5, delay_s=0.02))
            send(pages[0], "a long answer")
            pages[0].wait_for_selector('#chatbot [data-testid="bot"]')
        time.sleep(1)
        started = time.perf_counter()
        server.stop(signal.SIGTERM, timeout=60)
        took = time.perf_counter() - started
    finally:
        for page in pages:
            page.context.close()
    return took, "Traceback" in server.log()


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        for tabs, streaming in ((0, False), (1, False), (3, False), (1, True)):
            took, traceback = stop_time(
                fake, browser, Path(tmp) / f"{tabs}{streaming}", tabs, streaming
            )
            rows.append((tabs, streaming, took, traceback))
        browser.close()
    print(f"SIGTERM to exit, WEBUI_SHUTDOWN_GRACE={GRACE_S} s")
    print(f"{'open pages':>10}  {'answer streaming':>16}  {'stop took':>9}  traceback in log")
    for tabs, streaming, took, traceback in rows:
        print(
            f"{tabs:>10}  {'yes' if streaming else 'no':>16}  {took:>7.2f} s  {'yes' if traceback else 'no'}"
        )


if __name__ == "__main__":
    main()
