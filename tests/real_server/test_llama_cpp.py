"""The app against a real llama.cpp server (llama-cpp-python + SmolLM2-135M), through the page
and the API: chat, multi-turn, Stop, recovery after a failed turn, usage, an over-long prompt,
answers that polling must not cut, and the API's added time to first token."""

from __future__ import annotations

import json
import statistics
import time

import httpx
import pytest

from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS, open_page, send, wait_for_bot_text
from tests.raw_gradio import RawPage

pytestmark = pytest.mark.real_server

TOO_LONG = "Tell me about this: " + "the quick brown fox jumps over the lazy dog " * 120


def post(webui, body: dict, **kwargs) -> httpx.Response:
    return httpx.post(f"{webui.url}/api/v1/chat/completions", json=body, timeout=120, **kwargs)


def events(response: httpx.Response) -> list:
    return [
        line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


def ask(page: RawPage, text: str) -> str:
    """The page's answer to `text` as the person sees it: every message after the question
    (thinking, the answer or its error, the details line), and any notice above the composer."""
    outputs = page.trigger("composer", "submit", composer={"text": text})
    chat = outputs["chatbot"]
    asked = max(i for i, message in enumerate(chat) if message["role"] == "user")
    shown = [*chat[asked + 1 :], outputs.get("composer-notice") or ""]
    return json.dumps(shown, ensure_ascii=False)


def test_the_model_is_discovered_as_served(webui, llama):
    listed = httpx.get(f"{webui.url}/api/v1/models", timeout=10).json()["data"]
    assert [m["id"] for m in listed] == [llama.model]
    assert listed[0]["status"] == "ready"


def test_chat_through_the_api_with_usage_passed_through(webui, llama):
    body = {
        "model": llama.model,
        "max_tokens": 24,
        "messages": [{"role": "user", "content": "Say hello."}],
    }
    whole = post(webui, body)
    assert whole.status_code == 200, whole.text
    answer = whole.json()
    assert answer["choices"][0]["message"]["content"].strip()
    usage = answer["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    streamed = events(
        post(webui, {**body, "stream": True, "stream_options": {"include_usage": True}})
    )
    assert streamed[-1] == "[DONE]"
    text = "".join(
        e["choices"][0]["delta"].get("content", "") for e in streamed[:-1] if e["choices"]
    )
    assert text.strip()
    assert streamed[-2]["choices"] == [] and streamed[-2]["usage"] is None  # llama.cpp streams none
    print(f"\nnon-streamed usage passed through: {usage}")


def test_polling_never_cuts_an_answer(webui, llama):
    """The app checks the server every 0.5 s here; llama.cpp ends a generation whenever
    GET /models arrives, so a check at the wrong moment would cut these answers."""
    body = {
        "model": llama.model,
        "max_tokens": 40,
        "messages": [{"role": "user", "content": "Count to twenty."}],
    }
    for stream in (True, False) * 5:
        response = post(webui, {**body, "stream": stream})
        assert response.status_code == 200, response.text
        finish = (
            events(response)[-2]["choices"][0]["finish_reason"]
            if stream
            else (response.json()["choices"][0]["finish_reason"])
        )
        assert finish in ("stop", "length")


def test_multi_turn_on_the_page_and_recovery_after_a_failed_turn(webui, llama):
    page = RawPage(webui.url)
    page.trigger("page", "load")
    first = ask(page, "My name is Ada. Reply with one short sentence.")
    assert "too long" not in first and "Ada" in first
    failed = ask(page, TOO_LONG)
    assert "too long for the model" in failed and "Start a new chat" in failed
    after = ask(page, "What is my name? Answer in one word.")
    assert "too long" not in after and "error" not in after.lower()
    assert "tokens not reported" in after  # llama.cpp does not stream usage


@pytest.mark.parametrize("stream", [True, False])
def test_an_over_long_prompt_is_a_400_on_the_api(webui, llama, stream):
    response = post(
        webui,
        {
            "model": llama.model,
            "stream": stream,
            "messages": [{"role": "user", "content": TOO_LONG}],
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "context_length_exceeded"


def test_stop_ends_the_generation(webui, llama):
    playwright_api = pytest.importorskip("playwright.sync_api")

    def llama_log() -> str:
        return llama.log_path.read_text(errors="replace")

    disconnects_before = llama_log().count("Disconnected from client")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            page = open_page(browser, webui.url)
            send(page, "Write a very long story about a dragon and a knight.")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#chatbot [data-testid=\"bot\"]')]"
                ".some(e => e.innerText.length > 20)"
            )
            page.click('#composer button[aria-label="Stop"]')
            clicked = time.monotonic()
            wait_for_bot_text(page, "Stopped")
            while llama_log().count("Disconnected from client") == disconnects_before:
                assert time.monotonic() - clicked < 5, "llama.cpp never saw the request end"
                time.sleep(0.05)
            cancelled_in = time.monotonic() - clicked
            stopped_at = len(llama_log())
            bots = page.locator('#chatbot [data-testid="bot"]').count()
            send(page, "Say OK.")
            page.wait_for_function(
                "n => document.querySelectorAll('#chatbot [data-testid=\"bot\"]').length > n",
                arg=bots,
            )
            page.locator('#composer button[aria-label="Stop"]').wait_for(state="detached")
            answered_in = time.monotonic() - clicked
        finally:
            browser.close()
    # The stopped generation never ran to its end (llama.cpp prints its timings only then).
    between = llama_log()[:stopped_at].split("Disconnected from client")[-2]
    assert "eval time" not in between.rsplit("POST /v1/chat/completions", 1)[-1]
    print(
        f"\nStop: llama.cpp ended the generation {cancelled_in:.2f} s after the click; "
        f"the next question was answered {answered_in:.1f} s after it"
    )


def first_token_ms(client: httpx.Client, url: str, model: str) -> float:
    body = {
        "model": model,
        "stream": True,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    start = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body) as response:
        for line in response.iter_lines():
            if first is None and '"content"' in line and '"content": ""' not in line:
                first = (time.perf_counter() - start) * 1000
    return first


def test_time_to_first_token_through_the_api_vs_directly(webui, llama):
    direct, proxied = [], []
    with httpx.Client(timeout=60) as client:
        for _ in range(3):
            first_token_ms(client, f"{llama.base_url}/chat/completions", llama.model)
            first_token_ms(client, f"{webui.url}/api/v1/chat/completions", llama.model)
        for _ in range(15):
            direct.append(first_token_ms(client, f"{llama.base_url}/chat/completions", llama.model))
            proxied.append(
                first_token_ms(client, f"{webui.url}/api/v1/chat/completions", llama.model)
            )
    d, p = statistics.median(direct), statistics.median(proxied)
    print(
        f"\nfirst token, median of 15: directly {d:.1f} ms, through /api/v1 {p:.1f} ms, added {p - d:+.1f} ms"
    )
    assert p - d < 50
