"""The page's time to first answer text and to the question bubble, beside /api/v1's and the
fake upstream's time to first token in the same run; and start-up beside `import gradio`.

Run: .venv/bin/python bench/bench_ui_latency.py [turns=20]
Needs Debian's chromium (scripts/setup.sh --test installs it). The page's times are taken inside
the browser: performance.now() from the Enter keydown to the first animation frame whose DOM
shows the text (innerText, so hidden text does not count; one check per frame, as the page paints,
so the measuring does not slow the page). Playwright's own round trips are not part of them.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # first: chooses the checkout whose app is measured

# isort: split

import httpx
from playwright.sync_api import sync_playwright

from bench.bench_api_latency import first_token_ms
from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS
from tests.fake_upstream import FakeUpstream, Reply

PAGE_OVER_API_MS = 60  # issue 12: Enter → first answer text ≤ API first token + 60 ms (median)
BUBBLE_MS = 150  # issue 12: the question bubble within 150 ms
WARMUP_TURNS = 2

WATCH_JS = """([usersBefore, botsBefore]) => {
  const t = window.__bench = {start: null, epoch: null, user: null, bot: null};
  const shown = e => e.textContent.includes('MARKER') && e.innerText.includes('MARKER');
  const frame = () => {
    const now = performance.now();
    if (t.user === null && document.querySelectorAll(
        '#chatbot [data-testid="user"]').length > usersBefore) t.user = now - t.start;
    if (t.bot === null && [...document.querySelectorAll('#chatbot [data-testid="bot"]')]
        .slice(botsBefore).some(shown)) t.bot = now - t.start;
    if (t.user === null || t.bot === null) requestAnimationFrame(frame);
  };
  document.addEventListener('keydown', e => {
    if (e.key !== 'Enter' || t.start !== null) return;
    t.start = performance.now();
    t.epoch = performance.timeOrigin + t.start;
    requestAnimationFrame(frame);
  }, {capture: true, once: true});
}"""


def page_turn(page, fake: FakeUpstream, n: int) -> dict[str, float]:
    """One question typed and sent with Enter: ms from the keydown to the question bubble, to
    the first answer text, and to the upstream's receiving the request (browser and fake share
    the machine's clock); also the same as Playwright sees it from Python, for comparison with
    the figures measured before issue 12 (which included its round trips)."""
    users = page.locator('#chatbot [data-testid="user"]').count()
    bots = page.locator('#chatbot [data-testid="bot"]').count()
    question = f"question #{n:03d}"
    page.fill("#composer textarea", question)
    page.evaluate(WATCH_JS, [users, bots])
    started = time.perf_counter()
    page.press("#composer textarea", "Enter")
    page.wait_for_function(
        "() => window.__bench.user !== null && window.__bench.bot !== null", polling="raf"
    )
    from_python = (time.perf_counter() - started) * 1000
    user, bot, epoch = page.evaluate(
        "() => [window.__bench.user, window.__bench.bot, window.__bench.epoch]"
    )
    asked = [
        r.received_at * 1000 - epoch
        for r in fake.requests
        if r.path.endswith("/chat/completions") and question in json.dumps(r.body)
    ]
    return {
        "bubble": user,
        "text": bot,
        "upstream": asked[0] if asked else float("nan"),
        "python": from_python,
    }


def import_gradio_s() -> float:
    """`import gradio` in a fresh interpreter: the floor of any start-up of this app."""
    started = time.perf_counter()
    subprocess.run([harness.app_python(), "-c", "import gradio"], check=True)
    return time.perf_counter() - started


def figures(quick: bool = False, turns: int | None = None) -> dict[str, dict]:
    turns = turns or (4 if quick else 20)
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        fake.default_reply = Reply(content="MARKER answer text.", chunk_size=6)
        gradio_s = import_gradio_s()
        started = time.perf_counter()
        server = harness.start_server(
            fake, Path(tmp) / "data", Path(tmp), WEBUI_LOG_LEVEL="WARNING"
        )
        startup_s = time.perf_counter() - started
        turns_seen, api, direct = [], [], []
        try:
            with sync_playwright() as p, httpx.Client(timeout=30) as client:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
                )
                page = browser.new_page()
                page.set_default_timeout(30_000)
                page.goto(server.url)
                page.wait_for_selector("#composer textarea")
                warmup = 1 if quick else WARMUP_TURNS
                for n in range(warmup + turns):
                    direct_ms = first_token_ms(client, f"{fake.base_url}/chat/completions")
                    api_ms = first_token_ms(client, f"{server.url}/api/v1/chat/completions")
                    seen = page_turn(page, fake, n)
                    if n >= warmup:
                        direct.append(direct_ms)
                        api.append(api_ms)
                        turns_seen.append(seen)
                    time.sleep(0.5)  # let the turn's event chain finish before the next one
                browser.close()
        finally:
            server.stop()
    med = statistics.median

    def of(key: str) -> float:
        return med(seen[key] for seen in turns_seen)

    page_ms = of("text")
    return {
        "page_over_api": harness.figure(
            f"page Enter→first answer text minus API first token ({turns} turns)",
            page_ms - med(api),
            reference=med(api),
            reference_label="API first token",
            target=f"≤ {PAGE_OVER_API_MS} ms (#12)",
            limit=PAGE_OVER_API_MS,
            note=(
                f"page {page_ms:.0f} ms (from Python via Playwright {of('python'):.0f} ms); "
                f"upstream asked {of('upstream'):.0f} ms after Enter; "
                f"fake upstream direct {med(direct):.0f} ms"
            ),
        ),
        "question_bubble": harness.figure(
            f"page Enter→question bubble ({turns} turns)",
            of("bubble"),
            reference=med(direct),
            reference_label="fake upstream first token, the floor",
            target=f"≤ {BUBBLE_MS} ms (#12)",
            limit=BUBBLE_MS,
        ),
        "cold_start": harness.figure(
            "cold start: process start → /healthz 200",
            startup_s,
            unit="s",
            reference=gradio_s,
            reference_label="python -c 'import gradio'",
        ),
    }


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    harness.print_figures(figures(turns=turns))


if __name__ == "__main__":
    main()
