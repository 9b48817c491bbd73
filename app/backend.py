"""The OpenAI-protocol client for every backend: streaming, thinking in all its forms, errors.

One `AsyncOpenAI` per backend, built once. The SDK's retry layer is the only one (it retries
connection errors, 429 and 5xx before a response starts); nothing here loops on top of it.
Streams are read as raw server-sent events and parsed with `json.loads`, not turned into a
pydantic object per chunk: this is the hot path of every answer.

Real servers differ, and each difference is handled here once:
- StepFun sends usage on every chunk; vLLM and SGLang only when asked
  (`stream_options.include_usage`, asked of self-hosted servers); llama.cpp's server never
  streams usage, but reports it without streaming. Usage that was not reported stays `None`.
- Thinking arrives as `reasoning_content`, `reasoning`, or `<think>` tags in the content.
- A stream that ends before any text without a finish reason (llama.cpp does this for a
  prompt longer than its context, and for a request its chat template cannot render) is asked
  once more without streaming and with `max_tokens: 1`, to learn and report the real reason.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import openai
from openai import AsyncOpenAI

from app.catalog import Backend, ModelSpec
from app.config import Settings
from app.events import AnswerDelta, AnswerWasThinking, Finished, StreamEvent, ThinkingDelta, Usage
from app.i18n import Problem, record

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
CONTEXT_TOO_LONG = re.compile(
    r"context[ _]length|maximum context|context window|too many tokens|prompt is too long"
    r"|longer than the model|maximum model length|exceeds the available context",
    re.I,
)
# Statuses a "too long for the context" message can come with (None: an error inside a stream).
CONTEXT_STATUSES = (None, 400, 413, 422)
SECRETS = re.compile(r"(?<![\w-])sk-[\w.-]{6,}|(?<=Bearer )[\w.~+/-]{8,}=*|\bBearer[\w.-]{8,}")
FILE_GONE = re.compile(r"file.*(not found|expired|not exist)", re.I)
POLL_TIMEOUT_S = 5.0


class BackendError(Problem):
    """A failure talking to a model backend, worded for a person (a string-table key).

    `kind` is stable for programs (the HTTP API's error code), `retryable` says whether the
    same request may succeed later, `status` is the upstream HTTP status if there was one,
    `retry_after` the seconds a 429/503 asked to wait (its `Retry-After` header), if it said.
    """

    def __init__(
        self,
        kind: str,
        key: str,
        /,
        *,
        status: int | None = None,
        retryable: bool = True,
        upstream_message: str | None = None,
        retry_after: float | None = None,
        **params: Any,
    ):
        super().__init__(key, **params)
        self.kind = kind
        self.status = status
        self.retryable = retryable
        self.upstream_message = upstream_message
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self)


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
            candidates = [CLOSE_TAG] if self._thinking else [OPEN_TAG, CLOSE_TAG]
            positions = [(buffer.find(t), t) for t in candidates if buffer.find(t) >= 0]
            if positions:
                index, tag = min(positions)
                events += self._emit(buffer[:index])
                buffer = buffer[index + len(tag) :]
                if tag == OPEN_TAG:
                    self._thinking = True
                    self._seen_tag = True
                elif self._thinking:
                    self._thinking = False
                elif not self._seen_tag:  # a closing tag with no opening one
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


def clean(text: Any, limit: int = 300) -> str | None:
    """An upstream message fit to show: keys redacted, length capped."""
    if not text:
        return None
    return SECRETS.sub("[redacted]", str(text))[:limit]


def _error_text(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return clean(error.get("message") or error.get("detail"))
        return clean(error)
    return clean(body)


def retry_after_of(headers: Any) -> float | None:
    """Seconds from a `Retry-After` header (a number, or an HTTP date), or `retry-after-ms`."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    with contextlib.suppress(TypeError, ValueError):
        if millis is not None:
            return max(0.0, float(millis) / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, float(raw))
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(raw)
        return max(0.0, when.timestamp() - time.time())
    return None


def host_of(url: str) -> str:
    return urlparse(url).netloc or url


# status → (kind, string key, retryable)
STATUS_ERRORS: dict[int, tuple[str, str, bool]] = {
    400: ("bad_request", "backend.rejected", False),
    401: ("auth", "backend.key_refused", False),
    402: ("no_balance", "backend.no_balance", False),
    403: ("auth", "backend.forbidden", False),
    404: ("not_found", "backend.not_found", False),
    429: ("rate_limited", "backend.rate_limited", True),
    451: ("moderation", "backend.moderation", False),
    503: ("overloaded", "backend.overloaded", True),
}


def error_for(status: int | None, upstream: str | None, where: dict) -> BackendError:
    """The person-facing error for an upstream failure (HTTP status and message)."""
    said = record("backend.said", text=upstream) if upstream else ""
    if status in CONTEXT_STATUSES and upstream and CONTEXT_TOO_LONG.search(upstream):
        return BackendError(
            "context_length_exceeded",
            "backend.context_too_long",
            status=status,
            retryable=False,
            upstream_message=upstream,
            said=said,
        )
    if status == 400 and upstream and FILE_GONE.search(upstream):
        return BackendError(
            "unknown_file", "backend.file_gone", status=status, upstream_message=upstream
        )
    if status in STATUS_ERRORS:
        kind, key, retryable = STATUS_ERRORS[status]
    elif status is not None and status >= 500:
        kind, key, retryable = "server", "backend.server_error", True
    elif status is None:
        kind, key, retryable = "server", "backend.stream_error", True
    else:
        kind, key, retryable = "bad_request", "backend.failed", False
    return BackendError(
        kind,
        key,
        status=status,
        retryable=retryable,
        upstream_message=upstream,
        where=where,
        status_code=status or "",
        said=said,
    )


def usage_of(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    prompt_details = data.get("prompt_tokens_details") or {}
    completion_details = data.get("completion_tokens_details") or {}
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
        total_tokens=int(data.get("total_tokens") or 0),
        reasoning_tokens=completion_details.get("reasoning_tokens"),
        cached_tokens=prompt_details.get("cached_tokens"),
    )


def _thinking_of(fields: dict) -> str | None:
    return fields.get("reasoning_content") or fields.get("reasoning")


class ChunkReader:
    """One streamed answer's chunks (dicts) → events; remembers the finish reason and usage."""

    def __init__(self) -> None:
        self.splitter = ThinkingSplitter()
        self.usage: Usage | None = None
        self.finish: str | None = None
        self.received = False  # any text (thinking or answer) arrived

    def feed(self, chunk: dict) -> Iterator[StreamEvent]:
        if chunk.get("usage"):
            self.usage = usage_of(chunk["usage"]) or self.usage  # cumulative on StepFun
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            thinking = _thinking_of(delta)
            if thinking:
                self.received = True
                yield ThinkingDelta(thinking)
            content = delta.get("content")
            if content:
                self.received = True
                yield from self.splitter.feed(content)
            if choice.get("finish_reason"):  # StepFun sends "" on intermediate chunks
                self.finish = choice["finish_reason"]

    def end(self) -> Iterator[StreamEvent]:
        yield from self.splitter.flush()
        if self.usage is not None:
            yield self.usage
        yield Finished(self.finish or "stop")


class BackendClient:
    def __init__(self, settings: Settings):
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._where = {  # how an error names the backend, in the reader's language
            Backend.STEPFUN: record("backend.where.stepfun", host=host_of(settings.step_base_url)),
            Backend.LOCAL: record("backend.where.local", host=host_of(settings.local_base_url)),
        }
        self._health_url = {
            Backend.LOCAL: re.sub(r"/v1/?$", "", settings.local_base_url) + "/health",
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
        self._http = httpx.AsyncClient(timeout=POLL_TIMEOUT_S)
        self._in_use: Counter[Backend] = Counter()
        # Told about every answer that arrived whole: proof the backend is up (status.py).
        self.on_answer: Callable[[Backend], None] = lambda backend: None

    def configured(self, backend: Backend) -> bool:
        return backend in self._clients

    def busy(self, backend: Backend) -> bool:
        """Something of ours is being answered by this backend right now."""
        return self._in_use[backend] > 0

    def _client(self, backend: Backend) -> AsyncOpenAI:
        client = self._clients.get(backend)
        if client is None:
            raise BackendError("auth", "backend.stepfun_unconfigured", retryable=False)
        return client

    def _translate(self, exc: Exception, backend: Backend) -> BackendError:
        where = self._where[backend]
        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return BackendError("timeout", "backend.timeout", where=where)
        if isinstance(exc, openai.APIConnectionError):
            return BackendError("connection", "backend.unreachable", where=where)
        if isinstance(exc, openai.APIStatusError):
            error = error_for(exc.status_code, _error_text(exc.body) or clean(exc.message), where)
            error.retry_after = retry_after_of(getattr(exc.response, "headers", None))
            return error
        if isinstance(exc, (httpx.HTTPError, openai.APIError, ValueError)):
            return BackendError("dropped", "backend.dropped", where=where)
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

    @contextlib.contextmanager
    def _using(self, backend: Backend) -> Iterator[None]:
        self._in_use[backend] += 1
        try:
            yield
        finally:
            self._in_use[backend] -= 1

    async def chat(
        self,
        spec: ModelSpec,
        messages: list[dict],
        *,
        effort: str | None = None,
        sampling: dict | None = None,
        stream: bool = True,
    ) -> AsyncIterator[StreamEvent]:
        """One answer as events, streamed from the backend or (stream=False) in one piece."""
        client = self._client(spec.backend)
        body = self.request_body(spec, messages, effort, sampling)
        with self._using(spec.backend):
            try:
                if stream:
                    async for event in self._stream(client, spec, body):
                        yield event
                else:
                    for event in await self._complete(client, body):
                        yield event
            except Exception as exc:
                raise self._translate(exc, spec.backend) from None
        self.on_answer(spec.backend)

    async def _stream(
        self, client: AsyncOpenAI, spec: ModelSpec, body: dict
    ) -> AsyncIterator[StreamEvent]:
        if spec.backend is Backend.LOCAL:  # StepFun sends usage anyway; this is not documented
            body = {**body, "stream_options": {"include_usage": True}}
        reader = ChunkReader()
        # Leaving this block closes the response: on Stop that is what cancels the request.
        async with client.chat.completions.with_streaming_response.create(
            stream=True, **body
        ) as response:
            async for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk and not chunk.get("choices"):  # SGLang, in-stream errors
                    raise error_for(None, _error_text(chunk), self._where[spec.backend])
                for event in reader.feed(chunk):
                    yield event
        if reader.finish is None:
            if not reader.received:
                await self._explain_empty_stream(client, spec, body)
            raise BackendError("dropped", "backend.ended_early", where=self._where[spec.backend])
        for event in reader.end():
            yield event

    async def _explain_empty_stream(self, client: AsyncOpenAI, spec: ModelSpec, body: dict):
        """The stream ended before anything arrived: ask once without streaming (one token) to
        learn why; raises what that answer says. Returns if it succeeds (the stream was cut)."""
        probe = {
            k: v for k, v in body.items() if k not in ("stream_options", "max_completion_tokens")
        }
        log.info("empty stream from %s; asking once without streaming why", spec.id)
        try:  # one retry: a server that sent an empty stream may have closed the connection
            await client.with_options(max_retries=1).chat.completions.with_raw_response.create(
                **{**probe, "max_tokens": 1}
            )
        except openai.APIStatusError as exc:
            raise self._translate(exc, spec.backend) from None

    async def _complete(self, client: AsyncOpenAI, body: dict) -> list[StreamEvent]:
        raw = await client.chat.completions.with_raw_response.create(**body)
        data = json.loads(raw.text)
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        events: list[StreamEvent] = []
        thinking = _thinking_of(message)
        if thinking:
            events.append(ThinkingDelta(thinking))
        splitter = ThinkingSplitter()
        events += splitter.feed(message.get("content") or "")
        events += splitter.flush()
        usage = usage_of(data.get("usage"))
        if usage is not None:
            events.append(usage)
        events.append(Finished(choice.get("finish_reason") or "stop"))
        return events

    # -- what the status poller asks ---------------------------------------------------------------
    async def list_models(self, backend: Backend) -> list[str]:
        """The ids a backend serves: one quick request, no retries (the SDK logs each retry)."""
        client = self._client(backend).with_options(max_retries=0, timeout=POLL_TIMEOUT_S)
        try:
            return [model.id async for model in client.models.list()]
        except Exception as exc:
            raise self._translate(exc, backend) from None

    async def health(self, backend: Backend) -> int:
        """The status of the server's health route (vLLM, SGLang); raises when unreachable.

        A server without one (llama.cpp's Python server) answers 404: it is up all the same.
        """
        try:
            response = await self._http.get(self._health_url[backend])
        except httpx.TimeoutException:
            raise BackendError("timeout", "backend.timeout", where=self._where[backend]) from None
        except httpx.HTTPError:
            raise BackendError(
                "connection", "backend.unreachable", where=self._where[backend]
            ) from None
        return response.status_code

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
        await self._http.aclose()
