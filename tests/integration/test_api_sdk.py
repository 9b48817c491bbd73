"""The official openai SDK against /api/v1: sync, streaming, and 20 concurrent async calls."""

from __future__ import annotations

import asyncio
import base64

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.fake_upstream import Reply
from tests.media_factory import make_png


@pytest.fixture
def client(live_server):
    with OpenAI(base_url=f"{live_server.url}/api/v1", api_key="unused", max_retries=0) as c:
        yield c


def test_sync_non_stream(client, upstream):
    upstream.script(
        Reply(content="Fine, thanks.", thinking="be polite", thinking_style="reasoning")
    )
    result = client.chat.completions.create(
        model="Step3-VL-10B", messages=[{"role": "user", "content": "How are you?"}]
    )
    assert result.choices[0].message.content == "Fine, thanks."
    assert result.choices[0].message.model_extra["reasoning_content"] == "be polite"
    assert result.usage.total_tokens == 18


def test_sync_stream_with_image(client, upstream, tmp_path):
    picture = base64.b64encode(make_png(tmp_path / "p.png").read_bytes()).decode()
    upstream.script(Reply(content="A red rectangle.", thinking="<looks>", chunk_size=3))
    stream = client.chat.completions.create(
        model="Step3-VL-10B",
        stream=True,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{picture}", "detail": "high"},
                    },
                    {"type": "text", "text": "What is it?"},
                ],
            }
        ],
    )
    content, thinking, usage = "", "", None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices:
            delta = chunk.choices[0].delta
            content += delta.content or ""
            thinking += (delta.model_extra or {}).get("reasoning_content") or ""
    assert (content, thinking) == ("A red rectangle.", "<looks>")
    assert usage is not None and usage.completion_tokens == 7
    sent = upstream.chat_requests()[-1]["messages"][0]["content"][0]
    assert sent["image_url"]["detail"] == "high"


def test_errors_raise_the_sdk_exceptions(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="step-3.7-flash", messages=[{"role": "user", "content": "x"}]
        )


def test_twenty_concurrent_async_requests(live_server, upstream):
    upstream.default_reply = Reply(content="ok", delay_s=0.05, chunk_size=1)

    async def main():
        semaphore = asyncio.Semaphore(20)
        async with AsyncOpenAI(
            base_url=f"{live_server.url}/api/v1", api_key="x", max_retries=0
        ) as c:

            async def one(n: int) -> str:
                async with semaphore:
                    result = await c.chat.completions.create(
                        model="Step3-VL-10B", messages=[{"role": "user", "content": f"q{n}"}]
                    )
                    return result.choices[0].message.content

            return await asyncio.gather(*(one(n) for n in range(20)))

    assert asyncio.run(main()) == ["ok"] * 20
    asked = sorted(r["messages"][0]["content"] for r in upstream.chat_requests())
    assert asked == sorted(f"q{n}" for n in range(20))
