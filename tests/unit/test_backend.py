"""app/backend.py without a server: thinking tags, chunk quirks of real servers, error wording,
redaction, usage and the request body."""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from pathlib import Path

import httpx
import openai
import pytest

from app.api.errors import ApiError
from app.backend import (
    STATUS_ERRORS,
    BackendClient,
    BackendError,
    ChunkReader,
    ThinkingSplitter,
    clean,
    error_for,
    retry_after_of,
    usage_of,
)
from app.catalog import LOCAL_VL_TEMPLATE, STEPFUN_MODELS, Backend, local_spec
from app.config import load_settings
from app.events import (
    AnswerDelta,
    AnswerWasThinking,
    Finished,
    ThinkingDelta,
    TurnResult,
    Usage,
)
from app.i18n import EN, ZH, record, t
from app.strings import STRINGS

BACKEND_SOURCE = Path(__file__).resolve().parents[2] / "app" / "backend.py"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
WHERE = record("backend.where.local", host="127.0.0.1:8000")


def fold(events) -> TurnResult:
    result = TurnResult()
    for event in events:
        result.add(event)
    return result


def split_feed(chunks: list[str]) -> list:
    splitter = ThinkingSplitter()
    events = []
    for chunk in chunks:
        events += splitter.feed(chunk)
    return events + splitter.flush()


def all_splits(text: str):
    """The text in one, two and three chunks, cut at every position (empty chunks included)."""
    yield [text]
    for i in range(len(text) + 1):
        yield [text[:i], text[i:]]
        for j in range(i, len(text) + 1):
            yield [text[:i], text[i:j], text[j:]]


# -- ThinkingSplitter ---------------------------------------------------------------------------


def test_think_block_split_across_chunks_at_every_position():
    text = "<think>\nI reason.\n</think>\n\nThe answer."
    for chunks in all_splits(text):
        events = split_feed(chunks)
        result = fold(events)
        assert (result.thinking, result.answer) == ("I reason.\n", "The answer."), chunks
        assert not any(isinstance(e, AnswerWasThinking) for e in events), chunks
        # Nothing empty is ever emitted, however the tags were cut.
        assert all(e.text for e in events if isinstance(e, ThinkingDelta | AnswerDelta)), chunks


def test_think_block_fed_one_character_at_a_time():
    text = "Sure. <think>a<b</think> done <not a tag>"
    result = fold(split_feed(list(text)))
    assert result.thinking == "a<b"
    assert result.answer == "Sure. done <not a tag>"


def test_lone_closing_tag_means_everything_so_far_was_thinking():
    text = "I reason first.</think>\n The answer."
    for chunks in all_splits(text):
        events = split_feed(chunks)
        assert sum(isinstance(e, AnswerWasThinking) for e in events) == 1, chunks
        result = fold(events)
        assert (result.thinking, result.answer) == ("I reason first.", "The answer."), chunks


def test_lone_closing_tag_as_its_own_chunk():
    splitter = ThinkingSplitter()
    assert splitter.feed("step one") == [AnswerDelta("step one")]
    assert splitter.feed("</think>") == [AnswerWasThinking()]
    assert splitter.feed("  \n") == []  # whitespace after the tag, even in its own chunk
    assert splitter.feed("Answer") == [AnswerDelta("Answer")]
    assert splitter.feed(" goes on") == [AnswerDelta(" goes on")]  # only leading is stripped
    assert splitter.flush() == []


def test_a_second_closing_tag_is_not_another_answer_was_thinking():
    events = split_feed(["<think>x</think>", "y</think>z"])
    assert not any(isinstance(e, AnswerWasThinking) for e in events)
    assert (fold(events).thinking, fold(events).answer) == ("x", "yz")


def test_several_think_blocks_and_an_unclosed_one():
    result = fold(split_feed(["<think>a</think>b<think>c</think>d"]))
    assert (result.thinking, result.answer) == ("ac", "bd")
    result = fold(split_feed(["<think>still ", "thinking when it ended"]))
    assert (result.thinking, result.answer) == ("still thinking when it ended", "")


def test_whitespace_after_an_opening_tag_is_stripped_across_chunks():
    splitter = ThinkingSplitter()
    assert splitter.feed("<think>") == []
    assert splitter.feed("\n") == []
    assert splitter.feed("   ") == []
    assert splitter.feed(" Hmm") == [ThinkingDelta("Hmm")]


def test_text_that_only_looks_like_a_tag_start():
    splitter = ThinkingSplitter()
    assert splitter.feed("a <thin") == [AnswerDelta("a ")]  # "<thin" is held back
    assert splitter.feed("g>") == [AnswerDelta("<thing>")]
    assert splitter.flush() == []
    splitter = ThinkingSplitter()
    assert splitter.feed("1 <") == [AnswerDelta("1 ")]
    assert splitter.feed(" 2") == [AnswerDelta("< 2")]


def test_flush_gives_back_a_held_partial_tag():
    splitter = ThinkingSplitter()
    assert splitter.feed("x </thi") == [AnswerDelta("x ")]
    assert splitter.flush() == [AnswerDelta("</thi")]
    assert splitter.flush() == []  # given back once
    splitter = ThinkingSplitter()
    assert splitter.feed("<think>hmm </thin") == [ThinkingDelta("hmm ")]
    assert splitter.flush() == [ThinkingDelta("</thin")]  # still inside the think block


# -- ChunkReader ----------------------------------------------------------------------------------


def chunk(content=None, finish=None, usage=None, **delta):
    if content is not None:
        delta["content"] = content
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": usage}


def read(chunks: list[dict]) -> tuple[ChunkReader, list]:
    reader = ChunkReader()
    events = [event for c in chunks for event in reader.feed(c)]
    return reader, events


def test_stepfun_empty_finish_reasons_and_cumulative_usage():
    chunks = [
        chunk("", finish="", usage={"prompt_tokens": 9, "completion_tokens": 0}, role="assistant"),
        chunk("Hel", finish="", usage={"prompt_tokens": 9, "completion_tokens": 1}),
        chunk("lo", finish="", usage={"prompt_tokens": 9, "completion_tokens": 2}),
    ]
    reader, events = read(chunks)
    assert reader.finish is None  # "" is not a finish reason
    assert events == [AnswerDelta("Hel"), AnswerDelta("lo")]
    last = {
        "prompt_tokens": 9,
        "completion_tokens": 3,
        "total_tokens": 12,
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    list(reader.feed(chunk("", finish="stop", usage=last)))
    assert reader.finish == "stop"
    assert list(reader.end()) == [
        Usage(9, 3, 12, reasoning_tokens=0, cached_tokens=None),
        Finished("stop"),
    ]


def test_vllm_usage_only_in_a_final_chunk_without_choices():
    reader, events = read(
        [
            chunk("", role="assistant"),
            chunk("Hi"),
            chunk(None, finish="length"),
            {
                "choices": [],
                "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
            },
        ]
    )
    assert events == [AnswerDelta("Hi")]
    assert reader.finish == "length"
    assert reader.usage == Usage(4, 1, 5)
    assert list(reader.end())[-2:] == [Usage(4, 1, 5), Finished("length")]


def test_usage_never_reported_stays_none():
    reader, _ = read([chunk("Hi"), chunk(None, finish="stop")])
    assert reader.usage is None
    assert list(reader.end()) == [Finished("stop")]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_thinking_fields(field):
    reader, events = read([chunk(None, **{field: "Let me see."}), chunk("Blue.", finish="stop")])
    assert events == [ThinkingDelta("Let me see."), AnswerDelta("Blue.")]
    assert reader.received


def test_inline_think_tags_through_the_reader():
    reader, events = read([chunk("<thi"), chunk("nk>why</think>"), chunk("because")])
    assert fold([*events, *reader.end()]).thinking == "why"
    assert fold([*events, *reader.end()]).answer == "because"


def test_no_finish_reason_and_received():
    reader, events = read([chunk("", role="assistant"), {"choices": [{"delta": None}]}])
    assert events == [] and not reader.received and reader.finish is None
    reader, _ = read([{"choices": [], "usage": {"prompt_tokens": 1}}])
    assert not reader.received and reader.finish is None  # usage is not text
    reader, _ = read([chunk("partial")])
    assert reader.received and reader.finish is None  # cut off: the caller must notice


def test_end_flushes_a_held_partial_tag():
    reader, events = read([chunk("2 <"), chunk(None, finish="stop")])
    assert events == [AnswerDelta("2 ")]
    assert list(reader.end()) == [AnswerDelta("<"), Finished("stop")]


# -- error_for ------------------------------------------------------------------------------------

EXPECTED_STATUS = {
    400: ("bad_request", False, 400),
    401: ("auth", False, 502),
    402: ("no_balance", False, 502),
    403: ("auth", False, 502),
    404: ("not_found", False, 502),
    429: ("rate_limited", True, 429),
    451: ("moderation", False, 400),
    503: ("overloaded", True, 503),
}


def test_every_status_in_the_table_is_expected_here():
    assert set(STATUS_ERRORS) == set(EXPECTED_STATUS)


@pytest.mark.parametrize("status", sorted(EXPECTED_STATUS))
def test_error_for_each_status(status):
    kind, retryable, api_status = EXPECTED_STATUS[status]
    error = error_for(status, "nope", WHERE)
    assert (error.kind, error.retryable, error.status) == (kind, retryable, status)
    assert error.key == STATUS_ERRORS[status][1]
    assert error.upstream_message == "nope"
    assert f"({status})" in error.text(EN) and f"（{status}）" in error.text(ZH)
    assert "{" not in error.text(EN) and "{" not in error.text(ZH)
    assert ApiError.of(error).status == api_status
    assert ApiError.of(error).code == kind


def test_error_for_names_the_backend_and_quotes_it():
    assert "127.0.0.1:8000" in error_for(401, None, WHERE).text(EN)
    assert "127.0.0.1:8000" in error_for(401, None, WHERE).text(ZH)
    said = error_for(404, "The model `x` does not exist.", WHERE)
    assert said.text(EN).endswith("(404). The service said: The model `x` does not exist.")
    assert "服务返回：The model `x` does not exist." in said.text(ZH)
    assert error_for(404, None, WHERE).text(EN).endswith("(404).")  # nothing said: no quote


@pytest.mark.parametrize("status", [500, 502, 504, 599])
def test_5xx_is_a_retryable_server_error(status):
    error = error_for(status, "boom", WHERE)
    assert (error.kind, error.key, error.retryable) == ("server", "backend.server_error", True)
    assert f"internal error ({status})" in error.text(EN) and "boom" in error.text(EN)
    assert ApiError.of(error).status == 502


def test_no_status_is_an_in_stream_error():
    error = error_for(None, "something broke", WHERE)
    assert (error.kind, error.key, error.retryable, error.status) == (
        "server",
        "backend.stream_error",
        True,
        None,
    )
    assert error.text(EN) == (
        "The model service reported an error while answering. The service said: something broke"
    )


@pytest.mark.parametrize("status", [405, 409, 413, 418, 422])
def test_other_4xx_is_a_failed_request_not_retried(status):
    error = error_for(status, None, WHERE)
    assert (error.kind, error.key, error.retryable) == ("bad_request", "backend.failed", False)
    assert error.text(EN) == f"The request failed ({status})."


@pytest.mark.parametrize(
    "message",
    [
        "File file-abc123 has expired.",
        "file not found: file-xyz",
        "The file file-1 does not exist",
    ],
)
def test_a_400_about_an_expired_file_is_unknown_file(message):
    error = error_for(400, message, WHERE)
    assert (error.kind, error.key, error.retryable) == ("unknown_file", "backend.file_gone", True)
    # Only a 400 says so: a 404 about a file is a plain not-found.
    assert error_for(404, message, WHERE).kind == "not_found"


CONTEXT_MESSAGES = {
    "llama.cpp": (
        "This model's maximum context length is 512 tokens. However, you requested 731 tokens "
        "(731 in the messages, None in the completion). Please reduce the length of the messages "
        "or completion."
    ),
    "vllm": (
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
        "(4000 in the messages, 1000 in the completion). Please reduce the length of the messages "
        "or completion."
    ),
    "vllm-input-only": (
        "This model's maximum context length is 4096 tokens. However, your request has 5210 input "
        "tokens. Please reduce the length of the input messages."
    ),
    "sglang": "The input (900 tokens) is longer than the model's context length (512 tokens).",
    "sglang-total": (
        "Requested token count exceeds the model's maximum context length of 512 tokens. You "
        "requested a total of 700 tokens: 200 tokens from the input messages and 500 tokens for "
        "the completion."
    ),
}


@pytest.mark.parametrize("server", sorted(CONTEXT_MESSAGES))
@pytest.mark.parametrize("status", [400, None])
def test_context_length_messages(server, status):
    message = CONTEXT_MESSAGES[server]
    error = error_for(status, message, WHERE)
    assert (error.kind, error.key, error.retryable) == (
        "context_length_exceeded",
        "backend.context_too_long",
        False,
    )
    assert error.status == status and error.upstream_message == message
    assert error.text(EN).startswith("This conversation is too long for the model. The service")
    assert "请新建对话" in error.text(ZH)
    api = ApiError.of(error)
    assert (api.status, api.code) == (400, "context_length_exceeded")


def test_vllm_multimodal_prompt_too_long_is_context_length():
    message = (
        "The decoder prompt (length 5951) is longer than the maximum model length of 4096. Make "
        "sure that `max_model_len` is no smaller than the number of text tokens plus multimodal "
        "tokens. For image inputs, the number of image tokens depends on the number of images, "
        "and possibly their aspect ratios as well."
    )
    assert error_for(400, message, WHERE).kind == "context_length_exceeded"


def test_a_rate_limit_about_tokens_stays_a_rate_limit():
    error = error_for(429, "Too many tokens, please wait before trying again.", WHERE)
    assert (error.kind, error.retryable) == ("rate_limited", True)
    assert ApiError.of(error).status == 429


def test_a_plain_bad_request_is_not_context_length():
    error = error_for(400, "temperature must be between 0 and 2", WHERE)
    assert error.kind == "bad_request" and error.key == "backend.rejected"


# -- clean ----------------------------------------------------------------------------------------


def test_clean_redacts_sk_keys_and_caps_length():
    text = clean("Incorrect API key provided: sk-proj-Abc123_def.456XYZ. See docs.")
    assert text == "Incorrect API key provided: [redacted] See docs."
    assert clean("x" * 1000) == "x" * 300
    assert clean("y" * 50, limit=10) == "y" * 10
    assert clean(None) is None and clean("") is None
    assert clean({"detail": "sk-0123456789abcdef"}) == "{'detail': '[redacted]'}"
    assert clean("key sk-short ok") == "key sk-short ok"  # too short to be a key


def test_clean_redacts_bearer_keys_written_together():
    assert clean("got BearerAbCdEf0123456789") == "got [redacted]"
    assert clean("header: Bearer sk-0123456789abcdef") == "header: Bearer [redacted]"


def test_clean_redacts_a_bearer_token_after_a_space():
    text = clean("Invalid header 'Authorization: Bearer 3f9a8b7c6d5e4f3a2b1c'")
    assert "3f9a8b7c6d5e4f3a2b1c" not in text


def test_clean_keeps_ordinary_words_containing_sk():
    assert clean("Unknown parameter 'risk_threshold_value'") == (
        "Unknown parameter 'risk_threshold_value'"
    )


# -- usage_of -------------------------------------------------------------------------------------


def test_usage_without_details_has_none_not_zero():
    usage = usage_of({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
    assert usage == Usage(10, 5, 15, reasoning_tokens=None, cached_tokens=None)
    assert "completion_tokens_details" not in usage.as_openai()
    assert "prompt_tokens_details" not in usage.as_openai()
    usage = usage_of(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": None,
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
    )
    assert usage.cached_tokens is None and usage.reasoning_tokens == 0


def test_usage_with_details_and_odd_inputs():
    usage = usage_of(
        {
            "prompt_tokens": 100,
            "completion_tokens": 50,
            "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 30},
        }
    )
    assert usage == Usage(100, 50, 150, reasoning_tokens=30, cached_tokens=64)
    assert usage.as_openai()["prompt_tokens_details"] == {"cached_tokens": 64}
    assert usage_of({"prompt_tokens": None}) == Usage(0, 0, 0)
    assert usage_of(None) is None and usage_of([1, 2]) is None


# -- request_body ---------------------------------------------------------------------------------

FLASH = next(s for s in STEPFUN_MODELS if s.id == "step-3.7-flash")
FLASH_2603 = next(s for s in STEPFUN_MODELS if s.id == "step-3.5-flash-2603")
TEXT_ONLY = next(s for s in STEPFUN_MODELS if s.id == "step-3.5-flash")
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("spec", "asked", "sent"),
    [
        (FLASH, "low", "low"),
        (FLASH, "high", "high"),
        (FLASH, None, "medium"),  # the model's default
        (FLASH, "extreme", "medium"),
        (FLASH_2603, "medium", "high"),  # not offered: its default instead
        (FLASH_2603, "low", "low"),
        (TEXT_ONLY, "high", None),
        (LOCAL_VL_TEMPLATE, "high", None),
        (local_spec("some/other-model"), "low", None),
    ],
)
def test_request_body_effort(spec, asked, sent):
    body = BackendClient.request_body(spec, MESSAGES, asked, None)
    assert body.get("reasoning_effort") == sent
    assert ("reasoning_effort" in body) == (sent is not None)
    assert body["model"] == spec.id and body["messages"] is MESSAGES


def test_request_body_sampling():
    sampling = {
        "temperature": 0.2,
        "top_p": None,
        "max_tokens": 100,
        "max_completion_tokens": None,
        "stop": ["END"],
        "seed": 0,  # falsy, but set
        "presence_penalty": 0.0,
        "frequency_penalty": None,
        "logit_bias": {"1": 5},  # not a key we pass on
        "stream": True,
    }
    body = BackendClient.request_body(LOCAL_VL_TEMPLATE, MESSAGES, None, sampling)
    assert body == {
        "model": "Step3-VL-10B",
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": 100,
        "stop": ["END"],
        "seed": 0,
        "presence_penalty": 0.0,
    }
    assert BackendClient.request_body(LOCAL_VL_TEMPLATE, MESSAGES, None, {}) == {
        "model": "Step3-VL-10B",
        "messages": MESSAGES,
    }


# -- BackendClient without a request: configuration and exception translation -------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("backend")
    settings = load_settings(
        [],
        environ={
            "WEBUI_DATA_DIR": str(tmp_path / "data"),
            "LOCAL_BASE_URL": "http://127.0.0.1:9/v1",
            "STEP_BASE_URL": "https://api.stepfun.example/v1",
        },
        env_file=tmp_path / "none",
    )
    backend = BackendClient(settings)
    yield backend
    asyncio.run(backend.aclose())


def test_client_without_a_key_has_no_stepfun(client):
    assert client.configured(Backend.LOCAL) and not client.configured(Backend.STEPFUN)
    with pytest.raises(BackendError) as err:
        client._client(Backend.STEPFUN)
    assert (err.value.kind, err.value.key, err.value.retryable) == (
        "auth",
        "backend.stepfun_unconfigured",
        False,
    )


def test_busy_while_in_use(client):
    assert not client.busy(Backend.LOCAL)
    with client._using(Backend.LOCAL), client._using(Backend.LOCAL):
        assert client.busy(Backend.LOCAL) and not client.busy(Backend.STEPFUN)
    assert not client.busy(Backend.LOCAL)


def test_sdk_exceptions_become_backend_errors(client):
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    timeout = client._translate(openai.APITimeoutError(request), Backend.LOCAL)
    assert (timeout.kind, timeout.key) == ("timeout", "backend.timeout")
    assert "127.0.0.1:9" in timeout.text(EN)
    refused = client._translate(openai.APIConnectionError(request=request), Backend.LOCAL)
    assert (refused.kind, refused.key) == ("connection", "backend.unreachable")
    assert (
        refused.text(EN)
        == "Cannot reach the self-hosted model server at 127.0.0.1:9. Is it running?"
    )
    dropped = client._translate(httpx.RemoteProtocolError("cut"), Backend.STEPFUN)
    assert (dropped.kind, dropped.key) == ("dropped", "backend.dropped")
    assert "api.stepfun.example" in dropped.text(EN)
    body = {"error": {"message": "Incorrect API key sk-0123456789abcdef", "type": "auth"}}
    response = httpx.Response(401, request=request, json=body)
    status = client._translate(
        openai.APIStatusError("401", response=response, body=body), Backend.LOCAL
    )
    assert (status.kind, status.status) == ("auth", 401)
    assert status.upstream_message == "Incorrect API key [redacted]"
    with pytest.raises(KeyError):  # anything else is a bug of ours, not the backend's
        client._translate(KeyError("x"), Backend.LOCAL)


# -- every key this module uses is in the string table, in both languages -----------------------


def backend_keys() -> set[str]:
    return set(re.findall(r'"(backend\.[a-z_.]+)"', BACKEND_SOURCE.read_text()))


def test_every_backend_error_key_renders_in_both_languages():
    keys = backend_keys()
    assert {key for _, key, _ in STATUS_ERRORS.values()} <= keys
    assert {"backend.ended_early", "backend.context_too_long", "backend.file_gone"} <= keys
    params = {
        "where": WHERE,
        "said": record("backend.said", text="quoted"),
        "status_code": 500,
        "text": "quoted",
        "host": "127.0.0.1:8000",
    }
    for key in sorted(keys):
        assert key in STRINGS, key
        english, chinese = t(key, EN, **params), t(key, ZH, **params)
        for text in (english, chinese):
            assert text.strip() and "{" not in text and "}" not in text, (key, text)
        assert CJK.search(chinese), (key, chinese)
        assert not CJK.search(english), (key, english)


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_of(headers, seconds):
    assert retry_after_of(headers) == seconds


def test_retry_after_as_an_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_after_of({"retry-after": when}) <= 31
