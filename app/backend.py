"""The OpenAI-protocol client for every backend: streaming, thinking in all its forms, errors.

One `AsyncOpenAI` per backend, built once. The SDK's retry layer is the only one (it retries
connection errors, 429 and 5xx before the stream starts); nothing here loops on top of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import httpx
import openai
from openai import AsyncOpenAI

from app.catalog import Backend, ModelSpec
from app.config import Settings
from app.events import AnswerDelta, AnswerWasThinking, Finished, StreamEvent, ThinkingDelta, Usage

log = logging.getLogger(__name__)

SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
)

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


class BackendError(Exception):
    """A failure talking to a model backend; `message` is written for a person."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        upstream_message: str | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retryable = retryable
        self.upstream_message = upstream_message


class ThinkingSplitter:
    """Splits inline `<think>…</think>` out of content deltas, tags split across chunks included.

    A lone `</think>` (the chat template opened the block in the prompt) means everything
    streamed so far was thinking: that is reported with `AnswerWasThinking`.
    """

    def __init__(self) -> None:
        self._held = ""
        self._thinking = False
        self._seen_tag = False
        self._strip_leading = False

    def _emit(self, text: str) -> list[StreamEvent]:
        if self._strip_leading:
            text = text.lstrip()
            if not text:
                return []
            self._strip_leading = False
        if not text:
            return []
        return [ThinkingDelta(text) if self._thinking else AnswerDelta(text)]

    def feed(self, text: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        buffer = self._held + text
        self._held = ""
        while buffer:
            tag = CLOSE_TAG if self._thinking else None
            candidates = [CLOSE_TAG] if self._thinking else [OPEN_TAG, CLOSE_TAG]
            positions = [(buffer.find(t), t) for t in candidates if buffer.find(t) >= 0]
            if positions:
                index, tag = min(positions)
                events += self._emit(buffer[:index])
                buffer = buffer[index + len(tag) :]
                if tag == OPEN_TAG:
                    self._thinking = True
                    self._seen_tag = True
                    self._strip_leading = True
                elif self._thinking:
                    self._thinking = False
                    self._strip_leading = True
                else:  # a closing tag with no opening one
                    if not self._seen_tag:
                        events.append(AnswerWasThinking())
                    self._seen_tag = True
                    self._strip_leading = True
                continue
            # Hold back a suffix that could be the start of a tag.
            keep = 0
            for t in candidates:
                for size in range(min(len(t) - 1, len(buffer)), 0, -1):
                    if buffer.endswith(t[:size]):
                        keep = max(keep, size)
                        break
            if keep:
                events += self._emit(buffer[:-keep])
                self._held = buffer[-keep:]
            else:
                events += self._emit(buffer)
            buffer = ""
        return events

    def flush(self) -> list[StreamEvent]:
        held, self._held = self._held, ""
        return self._emit(held)


def _clean(text: str | None, limit: int = 300) -> str | None:
    if not text:
        return None
    text = re.sub(r"(sk|Bearer)[-\w.]{8,}", "[redacted]", str(text))
    return text[:limit]


def _upstream_text(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return _clean(error.get("message"))
        return _clean(str(error))
    return _clean(exc.message)


def _host_of(url: str) -> str:
    parsed = urlparse(url)
    return parsed.netloc or url


def map_status_error(exc: openai.APIStatusError, where: str) -> BackendError:
    status = exc.status_code
    upstream = _upstream_text(exc)
    said = f" The service said: {upstream}" if upstream else ""
    if (
        status == 400
        and upstream
        and re.search(r"file.*(not found|expired|not exist)", upstream, re.I)
    ):
        return BackendError(
            "unknown_file",
            "An uploaded file has expired at the model service.",
            status=status,
            upstream_message=upstream,
        )
    table = {
        400: ("bad_request", False, f"The model service rejected the request (400).{said}"),
        401: (
            "auth",
            False,
            f"The API key for {where} was not accepted (401). Check it in .env. / API 密钥无效。",
        ),
        403: ("auth", False, f"The API key for {where} is not allowed to do this (403).{said}"),
        402: (
            "no_balance",
            False,
            "The model service account has no balance left (402). / 账户余额不足。",
        ),
        404: (
            "not_found",
            False,
            f"The model service does not know this model or path (404).{said}",
        ),
        429: (
            "rate_limited",
            True,
            "The model service is rate-limiting requests (429). Wait a few "
            "seconds and retry. / 请求过于频繁，请稍后重试。",
        ),
        451: (
            "moderation",
            False,
            "The model service declined this content (451). / 内容未通过审核。",
        ),
        503: (
            "overloaded",
            True,
            "The model service is overloaded (503). Retry in a moment. / 服务繁忙，请稍后重试。",
        ),
    }
    if status in table:
        kind, retryable, message = table[status]
    elif status >= 500:
        kind, retryable = "server", True
        message = f"The model service had an internal error ({status}). Retry in a moment.{said}"
    else:
        kind, retryable, message = "bad_request", False, f"The request failed ({status}).{said}"
    return BackendError(
        kind, message, status=status, retryable=retryable, upstream_message=upstream
    )


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    data = raw if isinstance(raw, dict) else raw.model_dump()
    prompt_details = data.get("prompt_tokens_details") or {}
    completion_details = data.get("completion_tokens_details") or {}
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
        total_tokens=int(data.get("total_tokens") or 0),
        reasoning_tokens=completion_details.get("reasoning_tokens"),
        cached_tokens=prompt_details.get("cached_tokens"),
    )


def _field(obj: Any, name: str) -> Any:
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None) or {}
        value = extra.get(name)
    return value


class BackendClient:
    def __init__(self, settings: Settings):
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._where = {
            Backend.STEPFUN: f"StepFun ({_host_of(settings.step_base_url)})",
            Backend.LOCAL: f"the self-hosted model server at {_host_of(settings.local_base_url)}",
        }
        self._clients: dict[Backend, AsyncOpenAI] = {
            Backend.LOCAL: AsyncOpenAI(
                base_url=settings.local_base_url,
                api_key=settings.local_api_key,
                timeout=timeout,
                max_retries=settings.max_retries,
            )
        }
        if settings.step_api_key:
            self._clients[Backend.STEPFUN] = AsyncOpenAI(
                base_url=settings.step_base_url,
                api_key=settings.step_api_key,
                timeout=timeout,
                max_retries=settings.max_retries,
            )

    def configured(self, backend: Backend) -> bool:
        return backend in self._clients

    def _client(self, backend: Backend) -> AsyncOpenAI:
        client = self._clients.get(backend)
        if client is None:
            raise BackendError(
                "auth", "StepFun is not configured: put STEP_API_KEY=... in .env.", retryable=False
            )
        return client

    def _translate(self, exc: Exception, backend: Backend) -> BackendError:
        where = self._where[backend]
        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(
                "timeout",
                f"{where} did not answer in time. Retry, or try a "
                "shorter question. / 请求超时，请重试。",
            )
        if isinstance(exc, openai.APIConnectionError):
            return BackendError(
                "connection", f"Cannot reach {where}. Is it running? / 无法连接模型服务。"
            )
        if isinstance(exc, openai.APIStatusError):
            return map_status_error(exc, where)
        if isinstance(exc, (httpx.HTTPError, openai.APIError)):
            return BackendError(
                "dropped",
                f"The connection to {where} broke off mid-answer. "
                "What arrived is kept; retry to get the rest. / 连接中断。",
            )
        raise exc

    @staticmethod
    def request_body(
        spec: ModelSpec, messages: list[dict], effort: str | None, sampling: dict | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": spec.id, "messages": messages}
        level = spec.effort_for(effort) if spec.efforts else None
        if level:
            body["reasoning_effort"] = level
        for key in SAMPLING_KEYS:
            if sampling and sampling.get(key) is not None:
                body[key] = sampling[key]
        return body

    async def stream_chat(
        self,
        spec: ModelSpec,
        messages: list[dict],
        *,
        effort: str | None = None,
        sampling: dict | None = None,
    ) -> AsyncIterator[StreamEvent]:
        client = self._client(spec.backend)
        body = self.request_body(spec, messages, effort, sampling)
        splitter = ThinkingSplitter()
        usage: Usage | None = None
        finish: str | None = None
        stream = None
        try:
            try:
                stream = await client.chat.completions.create(stream=True, **body)
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = _usage(chunk.usage) or usage  # cumulative on StepFun: keep last
                    for choice in chunk.choices or ():
                        delta = choice.delta
                        if delta is not None:
                            thinking = _field(delta, "reasoning_content") or _field(
                                delta, "reasoning"
                            )
                            if thinking:
                                yield ThinkingDelta(thinking)
                            if delta.content:
                                for event in splitter.feed(delta.content):
                                    yield event
                        if choice.finish_reason:  # StepFun sends "" on intermediate chunks
                            finish = choice.finish_reason
            except Exception as exc:
                raise self._translate(exc, spec.backend) from None
            if finish is None:
                raise BackendError(
                    "dropped",
                    f"The connection to {self._where[spec.backend]} ended before the answer was "
                    "complete. What arrived is kept; retry to get the rest. / 回答未完整返回。",
                )
            for event in splitter.flush():
                yield event
            if usage is not None:
                yield usage
            yield Finished(finish)
        finally:
            if stream is not None:
                await stream.close()  # on Stop this is what cancels the upstream request

    async def list_models(self, backend: Backend) -> list[str]:
        client = self._client(backend)
        try:
            # A reachability check: no retries (the SDK logs each one) and a short timeout.
            quick = client.with_options(max_retries=0, timeout=5.0)
            return [model.id async for model in quick.models.list()]
        except Exception as exc:
            raise self._translate(exc, backend) from None

    async def upload_file(self, backend: Backend, data: bytes, filename: str, mime: str) -> str:
        client = self._client(backend)
        try:
            created = await client.files.create(file=(filename, data, mime), purpose="storage")
        except Exception as exc:
            raise self._translate(exc, backend) from None
        return created.id

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
