"""app/api/schema.py and app/api/translate.py: any body a client sends is either a request for the
turn core or a 400 in the OpenAI error shape, never a 500."""

from __future__ import annotations

import base64
import json
import math

import pytest

from app.api.errors import ApiError
from app.api.schema import (
    MAX_STOP_SEQUENCES,
    ApiMessage,
    MediaPart,
    TextPart,
    parse_chat_request,
    parse_json,
)
from app.api.translate import decode_data_url, turn_request
from app.core import MediaInput, TurnMessage

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()


def body(**fields) -> dict:
    base = {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": "hi"}]}
    return {**base, **fields}


def with_content(content, role: str = "user") -> dict:
    return body(messages=[{"role": role, "content": content}])


def assert_400(
    error: ApiError, param: str | None = ..., says: str = "", code: str | None = "invalid_request"
) -> None:
    assert isinstance(error, ApiError)
    assert error.status == 400 and error.code == code
    if param is not ...:
        assert error.param == param
    assert says in error.message
    shape = error.body()
    assert list(shape) == ["error"]
    assert shape["error"] == {
        "message": error.message,
        "type": "invalid_request_error",
        "param": error.param,
        "code": error.code,
    }
    response = error.response()  # the error itself can always be sent
    assert response.status_code == 400 and json.loads(response.body) == shape


def rejected(raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as err:
        parse_chat_request(parse_json(raw))
    return err.value


def refused(fields: dict) -> ApiError:
    with pytest.raises(ApiError) as err:
        parse_chat_request(fields)
    return err.value


# -- the body as JSON -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
        (b'{"messages": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested too deeply"),
        (b'{"max_tokens": ' + b"7" * 5_000 + b"}", "digits"),
        (b'{"temperature": NaN}', "NaN is not valid JSON"),
        (b'{"temperature": Infinity}', "Infinity is not valid JSON"),
        (b'{"temperature": -Infinity}', "-Infinity is not valid JSON"),
        (b'{"model": "\xc3\x28"}', "not valid JSON"),  # invalid UTF-8
        (b'{"model": "\xff"}', "not valid JSON"),
        (b'{"model": "x",', "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'"a string"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"", "must be a JSON object"),
    ],
)
def test_bodies_that_are_not_a_json_object(raw, says):
    with pytest.raises(ApiError) as err:
        parse_json(raw)
    assert_400(err.value, None, says)
    assert err.value.code == "invalid_request"


def test_a_good_body_parses():
    assert parse_json(json.dumps(body()).encode()) == body()
    assert parse_json(json.dumps({"x": "é"}, ensure_ascii=False).encode()) == {"x": "é"}


# -- malformed fields --------------------------------------------------------------------------


def test_a_lone_surrogate_in_a_text_is_refused():
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "a\\ud800b"}]}'
    assert_400(rejected(raw), "messages[0].content", "lone surrogate")
    raw = b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "\\udfff"}]}]}'
    assert_400(rejected(raw), "messages[0].content[0].text", "lone surrogate")
    assert_400(refused(body(model="m\ud800")), "model", "lone surrogate")
    assert_400(refused(body(stop=["ok", "\ud800"])), "stop[1]", "lone surrogate")
    image = {"type": "image_url", "image_url": {"url": "https://x.test/\ud800.png"}}
    assert_400(refused(with_content([image])), "messages[0].content[0].image_url.url")
    # Quoted back in the error, a surrogate is escaped: the error response can still be encoded.
    assert_400(refused(with_content([{"type": "\ud800"}])), "messages[0].content[0]", "\\ud800")
    error = refused(body(messages=[{"role": "\ud800", "content": "x"}]))
    assert_400(error, "messages[0].role", "\\ud800")


def test_a_surrogate_pair_written_as_escapes_is_fine():
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "\\ud83d\\ude00"}]}'
    assert parse_chat_request(parse_json(raw)).messages[0].text == "😀"


@pytest.mark.parametrize(
    ("fields", "param", "says"),
    [
        ({"model": None}, "model", "model is required"),
        ({"model": ""}, "model", "model is required"),
        ({"model": 5}, "model", "model is required"),
        ({"messages": None}, "messages", "must be a list"),
        ({"messages": {"role": "user"}}, "messages", "must be a list"),
        ({"messages": []}, "messages", "must not be empty"),
        ({"messages": ["hi"]}, "messages[0]", "must be an object"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role", "not supported"),
        ({"messages": [{"content": "x"}]}, "messages[0].role", "not supported"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", "string or a list"),
        ({"stream": "yes"}, "stream", "true or false"),
        ({"stream": 1}, "stream", "true or false"),
        ({"stream_options": "usage"}, "stream_options", "must be an object"),
        ({"reasoning_effort": 3}, "reasoning_effort", "must be a string"),
        ({"temperature": True}, "temperature", "must be a number"),
        ({"top_p": "0.9"}, "top_p", "must be a number"),
        ({"temperature": math.nan}, "temperature", "finite"),
        ({"presence_penalty": math.inf}, "presence_penalty", "finite"),
        ({"frequency_penalty": -math.inf}, "frequency_penalty", "finite"),
        ({"max_tokens": 0}, "max_tokens", "at least 1"),
        ({"max_tokens": -5}, "max_tokens", "at least 1"),
        ({"max_completion_tokens": 0}, "max_completion_tokens", "at least 1"),
        ({"max_tokens": 1.5}, "max_tokens", "must be an integer"),
        ({"max_tokens": "10"}, "max_tokens", "must be an integer"),
        ({"max_tokens": True}, "max_tokens", "must be an integer"),
        ({"seed": False}, "seed", "must be an integer"),
        ({"stop": ["x"] * (MAX_STOP_SEQUENCES + 1)}, "stop", "at most 16"),
        ({"stop": 5}, "stop", "at most 16"),
        ({"stop": {"a": 1}}, "stop", "at most 16"),
        ({"stop": ["ok", 5]}, "stop[1]", "must be a string"),
        ({"stop": [None]}, "stop[0]", "must be a string"),
    ],
)
def test_malformed_fields(fields, param, says):
    assert_400(refused(body(**fields)), param, says)


def test_a_number_too_large_for_a_float_is_not_finite():
    raw = json.dumps(body()).encode()[:-1] + b', "temperature": 1e999}'
    assert_400(rejected(raw), "temperature", "finite")


@pytest.mark.parametrize("name", ["temperature", "top_p", "presence_penalty", "frequency_penalty"])
def test_an_integer_too_large_for_a_float_is_a_400(name):
    raw = json.dumps(body()).encode()[:-1] + f', "{name}": 1{"0" * 400}}}'.encode()
    assert_400(rejected(raw), name)


@pytest.mark.parametrize(
    ("content", "role", "param", "says"),
    [
        ([{"type": "text", "text": 5}], "user", "messages[0].content[0].text", "must be a string"),
        ([{"type": "text", "text": {"a": 1}}], "user", "messages[0].content[0].text", "string"),
        ([{"type": "text"}], "user", "messages[0].content[0].text", "must be a string"),
        (["hello"], "user", "messages[0].content[0]", "must be an object"),
        ([{"type": "audio", "audio": {}}], "user", "messages[0].content[0]", "'audio'"),
        ([{"text": "no type"}], "user", "messages[0].content[0]", "unsupported part type"),
        (
            [{"type": "text", "text": "ok"}, {"type": "image_url", "image_url": {"url": PNG_URL}}],
            "assistant",
            "messages[0].content[1]",
            "can only hold text parts",
        ),
        (
            [{"type": "refusal", "refusal": 3}],
            "assistant",
            "messages[0].content[0].refusal",
            "must be a string",
        ),
        ([{"type": "image_url", "image_url": 5}], "user", "messages[0].content[0]", "with a url"),
        (
            [{"type": "image_url", "image_url": {}}],
            "user",
            "messages[0].content[0].image_url.url",
            "",
        ),
        (
            [{"type": "image_url", "image_url": {"url": ""}}],
            "user",
            "messages[0].content[0]",
            "missing",
        ),
        (
            [{"type": "image_url", "image_url": {"url": PNG_URL, "detail": "medium"}}],
            "user",
            "messages[0].content[0]",
            "low, high, auto",
        ),
        (
            [{"type": "video_url", "video_url": {"url": "https://x.test/v.mp4", "detail": "HIGH"}}],
            "user",
            "messages[0].content[0]",
            "detail must be one of",
        ),
    ],
)
def test_malformed_parts(content, role, param, says):
    assert_400(refused(with_content(content, role)), param, says)


def test_the_part_type_is_quoted_short():
    error = refused(with_content([{"type": "x" * 500}]))
    assert "x" * 40 in error.message and "x" * 41 not in error.message


# -- good requests ----------------------------------------------------------------------------


def test_string_content_and_defaults():
    chat = parse_chat_request(body())
    assert chat.model == "Step3-VL-10B"
    assert chat.messages == (ApiMessage("user", (TextPart("hi"),)),)
    assert (chat.stream, chat.include_usage, chat.effort, chat.sampling) == (False, False, None, {})


def test_parts_in_order():
    chat = parse_chat_request(
        with_content(
            [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "auto"}},
                {"type": "image_url", "image_url": "https://x.test/a.png"},  # the short form
                {"type": "video_url", "video_url": {"url": "stepfile://file-1"}},
                {"type": "text", "text": "What changed?"},
            ]
        )
    )
    message = chat.messages[0]
    assert message.text == "Look:\nWhat changed?"
    assert message.media == (
        MediaPart("image_url", PNG_URL, "auto", "messages[0].content[1]"),
        MediaPart("image_url", "https://x.test/a.png", None, "messages[0].content[2]"),
        MediaPart("video_url", "stepfile://file-1", None, "messages[0].content[3]"),
    )


def test_assistant_text_and_refusal_parts_and_no_content():
    chat = parse_chat_request(
        body(
            messages=[
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "a"},
                        {"type": "refusal", "refusal": "no"},
                    ],
                },
                {"role": "assistant", "content": None},
                {"role": "user", "content": "q2"},
            ]
        )
    )
    assert chat.messages[1] == ApiMessage("assistant", (TextPart("a"), TextPart("no")))
    assert chat.messages[2] == ApiMessage("assistant", ())


def test_stream_usage_effort_and_sampling():
    chat = parse_chat_request(
        body(
            stream=True,
            stream_options={"include_usage": True},
            reasoning_effort="high",
            temperature=0,
            top_p=None,
            max_tokens=64,
            seed=-3,  # any integer: it is not a count
            stop="END",
            presence_penalty=0.5,
            logit_bias={"1": 2},  # not taken
        )
    )
    assert chat.stream and chat.include_usage and chat.effort == "high"
    assert chat.sampling == {
        "temperature": 0,
        "max_tokens": 64,
        "seed": -3,
        "stop": "END",
        "presence_penalty": 0.5,
    }
    assert parse_chat_request(body(stream=None)).stream is False
    assert parse_chat_request(body(stream_options={"include_usage": "yes"})).include_usage is False
    assert parse_chat_request(body(stop=["a", "b"])).sampling == {"stop": ["a", "b"]}
    assert parse_chat_request(body(stop=["x"] * MAX_STOP_SEQUENCES)).sampling["stop"]


def test_turn_request_translation():
    chat = parse_chat_request(
        body(
            messages=[
                {"role": "developer", "content": "Be brief."},
                {"role": "system", "content": "Answer in English."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Compare"},
                        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://x.test/b.png", "detail": "auto"},
                        },
                        {"type": "video_url", "video_url": {"url": "https://x.test/v.mp4"}},
                    ],
                },
            ],
            stream=True,
            reasoning_effort="low",
            temperature=0.3,
        )
    )
    request = turn_request(chat, cloud_allowed=False)
    assert request.model_id == "Step3-VL-10B"
    assert [m.role for m in request.messages] == ["system", "system", "user"]
    assert request.messages[0] == TurnMessage("system", "Be brief.")
    assert request.messages[2].text == "Compare"
    assert request.messages[2].media == (
        MediaInput("image", "messages[2].content[1]", data=PNG_BYTES, detail="high"),
        MediaInput("image", "messages[2].content[2]", url="https://x.test/b.png", detail=None),
        MediaInput("video", "messages[2].content[3]", url="https://x.test/v.mp4"),
    )
    assert request.newest_user == 2
    assert (request.effort, request.stream, request.cloud_allowed) == ("low", True, False)
    assert request.sampling == {"temperature": 0.3}
    assert turn_request(chat, cloud_allowed=True).cloud_allowed


# -- data URLs --------------------------------------------------------------------------------


def test_data_urls_decode_into_bytes():
    assert decode_data_url(PNG_URL, "w") == PNG_BYTES
    with_params = "data:image/png;name=cat.png;base64," + base64.b64encode(b"abc").decode()
    assert decode_data_url(with_params, "w") == b"abc"
    assert decode_data_url("data:;base64,YWJj", "w") == b"abc"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("data:image/png,rawbytes", "only base64 data URLs"),
        ("data:image/png;charset=utf-8,abc", "only base64 data URLs"),
        ("data:image/png;base64", "only base64 data URLs"),
        ("data:image/png;base64,@@@@", "base64 data is not valid"),
        ("data:image/png;base64,YWJ", "base64 data is not valid"),  # cut short
        ("data:image/png;base64,YW Jj", "base64 data is not valid"),
    ],
)
def test_bad_data_urls(url, says):
    with pytest.raises(ApiError) as err:
        decode_data_url(url, "messages[0].content[1]")
    assert_400(err.value, "messages[0].content[1]", says, code=None)
    assert err.value.message.startswith("messages[0].content[1]: ")


def test_a_bad_data_url_in_a_request_is_a_400():
    chat = parse_chat_request(
        with_content([{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}])
    )
    with pytest.raises(ApiError) as err:
        turn_request(chat, cloud_allowed=True)
    assert_400(err.value, "messages[0].content[0]", "not valid", code=None)
