"""What real model servers do that our own fake used not to: each defect found against
llama.cpp's server, and the vLLM / SGLang differences, pinned against the fake speaking like
that server (tests/fake_upstream.py flavors). The same flows run against a real llama.cpp
server in tests/real_server/ (scripts/test.sh --real-server).
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from tests.conftest import start_server
from tests.fake_upstream import FakeUpstream, Reply
from tests.media_factory import make_png
from tests.raw_gradio import RawPage

SMOL = "SmolLM2-135M-Instruct"
TOO_LONG = "lorem ipsum dolor " * 600  # about 2,700 tokens: over the fake llama.cpp's 2,048


def post(server, body: dict, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/chat/completions", json=body, timeout=60, **kwargs)


def sse(response: httpx.Response) -> list:
    return [
        line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


def chat_text(outputs: dict) -> str:
    """What the page shows after an event: the chat, and the notice above the composer (where
    a question that was not sent is explained)."""
    shown = [outputs.get("chatbot"), outputs.get("composer-notice")]
    return json.dumps(shown, ensure_ascii=False)


def ask(page: RawPage, text: str, **values) -> str:
    return chat_text(page.trigger("composer", "submit", composer={"text": text}, **values))


def local_server(fake: FakeUpstream, tmp_path_factory, name: str, **extra):
    root = tmp_path_factory.mktemp(name)
    env = {
        "STEP_API_KEY": "",
        "LOCAL_MODELS": "",
        "WEBUI_MODEL_POLL_INTERVAL": "0.2",
        **extra,
    }
    return start_server(fake, root / "data", root, **env)


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    with FakeUpstream(models=(SMOL,)) as fake:
        fake.flavor = "llamacpp"
        server = local_server(fake, tmp_path_factory, "llama")
        yield fake, server
        server.stop()


@pytest.fixture
def llamacpp(llama):
    fake, server = llama
    fake.reset()
    fake.flavor = "llamacpp"
    return fake, server


# -- 1. polling never cuts an answer -------------------------------------------------------------


def test_polling_never_disturbs_a_server_that_is_answering(llamacpp):
    fake, server = llamacpp
    fake.default_reply = Reply(content="word " * 40, chunk_size=5, delay_s=0.02)  # ~0.2 s each
    models_before = fake.count("/v1/models")
    for stream in (True, False) * 6:
        response = post(
            server,
            {"model": SMOL, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.status_code == 200, response.text
        if stream:
            assert sse(response)[-2]["choices"][0]["finish_reason"] == "stop"
        else:
            assert response.json()["choices"][0]["message"]["content"] == "word " * 40
    # The model list was read once, at discovery: later checks use a route that does not take
    # the model (llama.cpp's /models ends any generation in flight).
    time.sleep(3)  # the poller checks a server that is up every 12 × 0.2 s here
    assert fake.count("/health") >= 1
    assert fake.count("/v1/models") == models_before
    assert "discovered self-hosted model SmolLM2-135M-Instruct" in server.log()


# -- 2. text goes as a string; a failed turn poisons nothing --------------------------------------


def test_text_parts_are_sent_as_a_plain_string(llamacpp):
    fake, server = llamacpp
    parts = [{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]
    for stream in (False, True):
        response = post(
            server,
            {"model": SMOL, "stream": stream, "messages": [{"role": "user", "content": parts}]},
        )
        assert response.status_code == 200, response.text
        assert fake.chat_requests()[-1]["messages"] == [{"role": "user", "content": "Hello\nthere"}]


def test_a_failed_turn_does_not_poison_the_conversation(llamacpp):
    fake, server = llamacpp
    page = RawPage(server.url)
    page.trigger("page", "load")
    assert "Hello from the fake model." in ask(page, "First question")
    fake.script(Reply(status=500, error_message="boom"))
    assert "internal error (500)" in ask(page, "Second question")
    assert "Hello from the fake model." in ask(page, "Third question")
    assert fake.chat_requests()[-1]["messages"] == [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "Hello from the fake model."},
        {"role": "user", "content": "Third question"},
    ]


# -- 3. usage: asked for, passed through, never made up --------------------------------------------


def test_usage_from_a_server_that_reports_it_only_without_streaming(llamacpp):
    fake, server = llamacpp
    fake.default_reply = Reply(prompt_tokens=36, completion_tokens=29)
    body = {"model": SMOL, "messages": [{"role": "user", "content": "hi"}]}
    usage = post(server, body).json()["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        36,
        29,
        65,
    )
    events = sse(post(server, {**body, "stream": True, "stream_options": {"include_usage": True}}))
    assert events[-2] == {**events[-2], "choices": [], "usage": None}  # not reported, not zeros
    page = RawPage(server.url)
    page.trigger("page", "load")
    assert "tokens not reported" in ask(page, "hi")


@pytest.fixture(scope="module")
def vllm(tmp_path_factory):
    with FakeUpstream(models=("Step3-VL-10B",)) as fake:
        fake.flavor = "vllm"
        server = local_server(fake, tmp_path_factory, "vllm")
        yield fake, server
        server.stop()


def test_usage_from_vllm_is_asked_for_and_shown(vllm):
    fake, server = vllm
    fake.reset()
    fake.flavor = "vllm"
    page = RawPage(server.url)
    page.trigger("page", "load")
    fake.script(Reply(content="Seen.", thinking="looking", prompt_tokens=40, completion_tokens=9))
    shown = ask(page, "describe")
    assert fake.chat_requests()[-1]["stream_options"] == {"include_usage": True}
    assert "40 tokens in · 9 out" in shown and "looking" in shown  # thinking from `reasoning`
    fake.script(Reply(content="Seen.", prompt_tokens=40, completion_tokens=9))
    body = {"model": "Step3-VL-10B", "stream": True, "stream_options": {"include_usage": True}}
    events = sse(post(server, {**body, "messages": [{"role": "user", "content": "hi"}]}))
    assert events[-2]["choices"] == [] and events[-2]["usage"]["completion_tokens"] == 9


# -- 4. a prompt longer than the context gets the right advice ------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_an_over_long_prompt_is_explained_on_the_api(llamacpp, stream):
    _, server = llamacpp
    response = post(
        server,
        {"model": SMOL, "stream": stream, "messages": [{"role": "user", "content": TOO_LONG}]},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert "too long for the model" in error["message"] and "New chat" not in error["message"]


def test_an_over_long_prompt_is_explained_on_the_page(llamacpp):
    _, server = llamacpp
    page = RawPage(server.url)
    page.trigger("page", "load")
    shown = ask(page, TOO_LONG)
    assert "too long for the model" in shown and "Start a new chat" in shown
    assert "retry to get the rest" not in shown


def test_over_long_prompts_on_vllm_and_sglang(vllm, tmp_path_factory):
    fake, server = vllm
    fake.reset()
    fake.flavor = "vllm"
    body = {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": TOO_LONG * 3}]}
    response = post(server, {**body, "stream": True})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    fake.flavor = "sglang"  # streamed: a 200 whose only event is an error
    response = post(server, {**body, "stream": True})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"


# -- 5, 6. only models the server lists; unknown capabilities are said plainly --------------------


def test_only_what_the_server_lists_is_offered(llamacpp):
    _, server = llamacpp
    listed = httpx.get(f"{server.url}/api/v1/models", timeout=10).json()["data"]
    assert [m["id"] for m in listed] == [SMOL]  # no phantom Step3-VL-10B
    assert listed[0]["capabilities"]["capabilities_known"] is False
    assert listed[0]["capabilities"]["max_images"] is None
    page = RawPage(server.url)
    loaded = page.trigger("page", "load")
    assert loaded["model"] == SMOL


def test_an_image_for_a_model_of_unknown_capabilities(llamacpp, tmp_path):
    fake, server = llamacpp
    before = len(fake.chat_requests())
    png = base64.b64encode(make_png(tmp_path / "a.png").read_bytes()).decode()
    part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}
    response = post(server, {"model": SMOL, "messages": [{"role": "user", "content": [part]}]})
    assert response.status_code == 400
    assert "WEBUI_MODELS_FILE" in response.json()["error"]["message"]
    page = RawPage(server.url)
    page.trigger("page", "load")
    entry = page.upload(tmp_path / "a.png")
    shown = chat_text(page.trigger("composer", "submit", composer={"text": "?", "files": [entry]}))
    assert "may not read images" in shown and "WEBUI_MODELS_FILE" in shown
    assert len(fake.chat_requests()) == before


def test_before_the_server_is_reached_nothing_pretends_to_answer(fake_upstream, tmp_path_factory):
    server = local_server(
        fake_upstream, tmp_path_factory, "nowhere", LOCAL_BASE_URL="http://127.0.0.1:9/v1"
    )
    try:
        listed = httpx.get(f"{server.url}/api/v1/models", timeout=10).json()["data"]
        assert [(m["id"], m["status"]) for m in listed] == [("Step3-VL-10B", "unreachable")]
        response = post(
            server, {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert (
            response.status_code == 503 and response.json()["error"]["code"] == "model_not_served"
        )
    finally:
        server.stop()


# -- 7. an answer cut at the token limit says so --------------------------------------------------


def test_an_answer_cut_at_the_token_limit_says_so(llamacpp):
    fake, server = llamacpp
    fake.script(Reply(content="It was a dark and", finish_reason="length"))
    page = RawPage(server.url)
    page.trigger("page", "load")
    assert "cut off at the token limit" in ask(page, "Tell me a story")
    assert "cut off at the token limit" in chat_text(page.trigger("page", "load"))  # stored
