"""The fake upstream itself, pinned on the wire with plain httpx: each flavor speaks like its
real server (llama-cpp-python's shapes were captured from a running `llama_cpp.server`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fake_upstream import FakeUpstream, Reply

LIST_CONTENT = [{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}]
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeUpstream) -> Iterator[FakeUpstream]:
    server.reset()
    yield server
    server.reset()


def chat(fake: FakeUpstream, messages=HI, model="Step3-VL-10B", **extra) -> httpx.Response:
    body = {"model": model, "messages": messages, **extra}
    return httpx.post(f"{fake.base_url}/chat/completions", json=body, timeout=5)


def data_lines(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]


def chunks(text: str) -> list[dict]:
    lines = data_lines(text)
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def root(fake: FakeUpstream) -> str:
    return f"http://127.0.0.1:{fake.port}"


# -- stepfun (the default) -------------------------------------------------------------------


def test_stepfun_default_keeps_its_quirks_and_has_no_health_route(fake: FakeUpstream) -> None:
    assert fake.flavor == "stepfun"
    body = chunks(chat(fake, stream=True).text)
    assert body[0]["created"] == 0 and body[0]["choices"][0]["delta"]["role"] == "assistant"
    assert body[1]["choices"][0]["delta"]["role"] == ""
    assert all(c["choices"][0]["finish_reason"] == "" for c in body[:-1])
    assert all("usage" in c for c in body)
    assert body[-1]["choices"][0]["finish_reason"] == "stop"
    assert httpx.get(f"{root(fake)}/health").status_code == 404
    assert httpx.get(f"http://127.0.0.1:{fake.port}/step_plan/v1/models").status_code == 200
    assert fake.count("/health") == 1 and fake.count("/models") == 1
    assert fake.count("/chat/completions", "POST") == 1


# -- llamacpp ----------------------------------------------------------------------------------


def test_llamacpp_stream_role_first_logprobs_null_and_never_usage(fake: FakeUpstream) -> None:
    fake.flavor = "llamacpp"
    fake.script(Reply(content="Hi there", thinking="hmm", prompt_tokens=5))
    response = chat(fake, stream=True, stream_options={"include_usage": True})
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    lines = data_lines(response.text)
    assert lines[0].startswith('{"id": "chatcmpl-')  # json.dumps defaults, as the real one
    body = chunks(response.text)
    assert [list(c) for c in body] == [["id", "model", "created", "object", "choices"]] * len(body)
    assert body[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert all(c["choices"][0]["logprobs"] is None for c in body)
    assert all(c["choices"][0]["finish_reason"] is None for c in body[:-1])
    assert body[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in body)
    assert text == "<think>hmm</think>\n\nHi there"  # no reasoning parser: raw tags
    assert body[0]["model"] == "Step3-VL-10B"


def test_llamacpp_non_streamed_shape(fake: FakeUpstream) -> None:
    fake.flavor = "llamacpp"
    fake.script(Reply(content="Small", prompt_tokens=36, completion_tokens=5))
    body = chat(fake).json()
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"content": "Small", "role": "assistant"},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 36, "completion_tokens": 5, "total_tokens": 41}


def test_llamacpp_text_only_template_rejects_list_content(fake: FakeUpstream) -> None:
    fake.flavor = "llamacpp"
    fake.script(Reply(content="kept for the next request"))
    response = chat(fake, LIST_CONTENT)
    assert response.status_code == 500
    assert response.content == (
        b'{"error":{"message":"can only concatenate str (not \\"list\\") to str",'
        b'"type":"internal_server_error","param":null,"code":null}}'
    )
    streamed = chat(fake, LIST_CONTENT, stream=True)
    assert streamed.status_code == 200 and streamed.content == b""  # the real empty stream
    fake.text_only_template = False  # e.g. a llava chat handler
    assert chat(fake, LIST_CONTENT).json()["choices"][0]["message"]["content"] == (
        "kept for the next request"
    )


def test_llamacpp_over_long_prompt(fake: FakeUpstream) -> None:
    fake.flavor = "llamacpp"
    fake.context_tokens = 100
    long = [{"role": "user", "content": "word " * 80}]  # 400 characters: 100 tokens
    assert fake.prompt_tokens_of(long) == 100
    streamed = chat(fake, long, stream=True)
    assert streamed.status_code == 200 and streamed.content == b""
    response = chat(fake, long)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "This model's maximum context length is 100 tokens. However, you "
            "requested 100 tokens (100 in the messages, None in the completion). Please reduce "
            "the length of the messages or completion.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    }
    with_max = chat(fake, long, max_tokens=20).json()["error"]["message"]
    assert "requested 120 tokens (100 in the messages, 20 in the completion)" in with_max
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
    fake.text_only_template = False
    assert fake.prompt_tokens_of(image) == fake.image_tokens
    assert chat(fake, image).status_code == 400  # 256 image tokens >= 100


def test_llamacpp_models_poll_cuts_the_stream_in_flight(fake: FakeUpstream) -> None:
    fake.flavor = "llamacpp"
    fake.script(Reply(content="a fairly long answer " * 3, chunk_size=4, delay_s=0.02))
    disconnects = fake.disconnects
    lines: list[str] = []
    models: list[httpx.Response] = []
    body = {"model": "Step3-VL-10B", "messages": HI, "stream": True}
    url = f"{fake.base_url}/chat/completions"
    with (
        httpx.stream("POST", url, json=body) as response,
        pytest.raises(httpx.RemoteProtocolError),  # [DONE], then no final zero-length chunk
    ):
        for line in response.iter_lines():
            lines.append(line)
            if len(data_lines("\n".join(lines))) == 3:
                poll = threading.Thread(
                    target=lambda: models.append(httpx.get(f"{fake.base_url}/models"))
                )
                poll.start()
    poll.join()
    events = data_lines("\n".join(lines))
    assert events[-1] == "[DONE]"
    assert 3 <= len(events) < 10
    assert all(json.loads(e)["choices"][0]["finish_reason"] is None for e in events[:-1])
    assert models[0].status_code == 200
    assert models[0].json()["data"][0] == {
        "id": "Step3-VL-10B",
        "object": "model",
        "owned_by": "me",
        "permissions": [],
    }
    assert fake.disconnects == disconnects  # the server cut it: not a client going away


def test_llamacpp_models_waits_for_a_non_streamed_generation(fake: FakeUpstream) -> None:
    fake.flavor = "llamacpp"
    fake.script(Reply(content="x" * 8, chunk_size=4, delay_s=0.15))  # 2 chunks: 0.3 s
    done: list[float] = []
    generation = threading.Thread(target=lambda: done.append(chat(fake).status_code))
    generation.start()
    time.sleep(0.05)
    started = time.monotonic()
    assert httpx.get(f"{fake.base_url}/models").status_code == 200
    assert time.monotonic() - started > 0.15
    generation.join()
    assert done == [200]


def test_llamacpp_has_no_health_route_and_no_step_plan(fake: FakeUpstream) -> None:
    fake.flavor = "llamacpp"
    for path in ("/health", "/v1/health", "/"):
        response = httpx.get(root(fake) + path)
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
    assert httpx.get(f"{root(fake)}/step_plan/v1/models").status_code == 404
    assert fake.count("/health") == 2 and len(fake.requests) == 4


# -- vllm --------------------------------------------------------------------------------------


def test_vllm_usage_only_with_include_usage_in_a_choiceless_chunk(fake: FakeUpstream) -> None:
    fake.flavor = "vllm"
    fake.script(Reply(content="Hello", thinking="hmm", prompt_tokens=9, completion_tokens=4))
    plain = chunks(chat(fake, stream=True).text)
    assert all("usage" not in c for c in plain)
    assert plain[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["choices"][0]["finish_reason"] is None for c in plain[:-1])
    assert plain[-1]["choices"][0]["finish_reason"] == "stop"
    deltas = [c["choices"][0]["delta"] for c in plain]
    assert "".join(d.get("reasoning", "") for d in deltas) == "hmm"
    assert "".join(d.get("content", "") for d in deltas) == "Hello"
    fake.script(Reply(content="Hello", thinking="hmm", prompt_tokens=9, completion_tokens=4))
    counted = chunks(chat(fake, stream=True, stream_options={"include_usage": True}).text)
    assert counted[-1]["choices"] == []
    assert counted[-1]["usage"] == {"prompt_tokens": 9, "total_tokens": 13, "completion_tokens": 4}
    assert all("usage" not in c for c in counted[:-1])
    deltas = [c["choices"][0]["delta"] for c in counted[:-1]]
    assert "".join(d.get("reasoning", "") for d in deltas) == "hmm"
    assert all("reasoning_content" not in d for d in deltas)


def test_vllm_reasoning_field_is_configurable(fake: FakeUpstream) -> None:
    fake.flavor = "vllm"
    fake.reasoning_field = "reasoning_content"  # vLLM before the rename
    fake.script(Reply(thinking="deep", content="ok"), Reply(thinking="deep", content="ok"))
    deltas = [c["choices"][0]["delta"] for c in chunks(chat(fake, stream=True).text)]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "deep"
    message = chat(fake).json()["choices"][0]["message"]
    assert (message["reasoning_content"], message["content"]) == ("deep", "ok")


def test_vllm_over_long_prompt_is_a_400_before_streaming(fake: FakeUpstream) -> None:
    fake.flavor = "vllm"
    fake.context_tokens = 50
    long = [{"role": "user", "content": "x" * 200}]
    for stream in (True, False):
        response = chat(fake, long, stream=stream)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "error": {
                "message": "This model's maximum context length is 50 tokens. However, you "
                "requested 50 tokens in the messages, Please reduce the length of the messages.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        }
    message = chat(fake, [{"role": "user", "content": "x" * 100}], max_tokens=40).json()
    assert "requested 65 tokens (25 in the messages, 40 in the completion)" in str(message)
    fake.legacy_error_body = True
    legacy = chat(fake, long).json()
    assert legacy["object"] == "error" and legacy["code"] == 400 and "error" not in legacy
    assert chat(fake, model="nope").status_code == 404


def test_vllm_and_sglang_health_at_the_root(fake: FakeUpstream) -> None:
    for flavor in ("vllm", "sglang"):
        fake.flavor = flavor
        response = httpx.get(f"{root(fake)}/health")
        assert (response.status_code, response.content) == (200, b"")
        assert httpx.get(f"{fake.base_url}/health").status_code == 404  # not under /v1
        fake.set_health_status(503)
        assert httpx.get(f"{root(fake)}/health").status_code == 503
        fake.set_health_status(200)
    assert fake.count("/health") == 6


# -- sglang ------------------------------------------------------------------------------------


def test_sglang_stream_shapes(fake: FakeUpstream) -> None:
    fake.flavor = "sglang"
    fake.script(Reply(content="Hi", thinking="hmm"), Reply(content="Hi"))
    plain = chunks(chat(fake, stream=True).text)
    assert all(c["usage"] is None for c in plain)
    assert plain[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "",
        "reasoning_content": None,
        "tool_calls": None,
    }
    deltas = [c["choices"][0]["delta"] for c in plain]
    assert "".join(d["reasoning_content"] or "" for d in deltas) == "hmm"
    assert [c["choices"][0]["finish_reason"] for c in plain[-2:]] == ["stop", "stop"]
    counted = chunks(chat(fake, stream=True, stream_options={"include_usage": True}).text)
    assert counted[-1]["choices"] == [] and counted[-1]["usage"]["completion_tokens"] == 7
    assert [c["choices"][0]["finish_reason"] for c in counted[:-1]].count("stop") == 1


def test_sglang_over_long_prompt_streamed_is_an_error_event(fake: FakeUpstream) -> None:
    fake.flavor = "sglang"
    fake.context_tokens = 10
    long = [{"role": "user", "content": "x" * 80}]
    streamed = chat(fake, long, stream=True)
    assert streamed.status_code == 200
    error, done = data_lines(streamed.text)
    assert done == "[DONE]"
    assert json.loads(error)["error"]["message"] == (
        "The input (20 tokens) is longer than the model's context length (10 tokens)."
    )
    response = chat(fake, long)
    assert response.status_code == 400 and response.json()["object"] == "error"


# -- across flavors ----------------------------------------------------------------------------


def test_a_reply_can_pick_its_flavor_and_reset_restores_stepfun(fake: FakeUpstream) -> None:
    fake.script(Reply(content="ok", flavor="vllm"))
    body = chunks(chat(fake, stream=True).text)
    assert body[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all("usage" not in c for c in body)
    fake.flavor = "llamacpp"
    fake.context_tokens = 1
    fake.reset()
    assert (fake.flavor, fake.context_tokens, fake.text_only_template) == ("stepfun", None, False)
    assert fake.count("/chat/completions") == 0
    with pytest.raises(ValueError):
        fake.flavor = "ollama"


def test_a_fault_marker_fails_that_question_once(fake):
    marked = [{"role": "user", "content": [{"type": "text", "text": "row 3 FAULT:500"}]}]
    assert chat(fake, HI).status_code == 200
    assert chat(fake, marked).status_code == 500
    assert chat(fake, marked).status_code == 200  # asked again (a retry): answered
    fake.reset()
    assert chat(fake, [{"role": "user", "content": "FAULT:429"}]).status_code == 429


@pytest.mark.parametrize("flavor", ["stepfun", "vllm"])
def test_rate_limit_next_answers_429_with_retry_after_then_serves(fake, flavor):
    fake.flavor = flavor
    fake.rate_limit_next(2, retry_after_s=3)
    for _ in range(2):
        limited = chat(fake)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "3"
        error = limited.json()["error"]
        assert "rate limit" in error["message"].lower()
        assert error["type"] == ("RateLimitError" if flavor == "vllm" else "api_error")
    assert chat(fake).status_code == 200
    assert len(fake.chat_requests()) == 3  # the limited requests were recorded too


def test_rate_limit_without_retry_after_and_reset(fake):
    fake.rate_limit_next(1, retry_after_s=None)
    limited = chat(fake)
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    fake.rate_limit_next(5, retry_after_s=1.5)
    assert chat(fake).headers["retry-after"] == "1.5"
    fake.reset()
    assert chat(fake).status_code == 200
