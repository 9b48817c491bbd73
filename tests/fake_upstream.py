"""A fake OpenAI-compatible model server on 127.0.0.1: the one test double of this project.

It records every request so tests can assert what the app really sent (and count polls),
injects errors and dropped connections, implements enough of the Files API, and counts
streams whose client went away before the end. It speaks like one of four real servers,
chosen per fake (`fake.flavor = "vllm"`, back to "stepfun" on `reset()`) or per `Reply`:

* "stepfun" (default): StepFun's cloud, quirks included: `finish_reason: ""` and `role: ""` on
  intermediate chunks, `created: 0` on the first, cumulative `usage` on every chunk; the Files
  API; routes under /v1 and /step_plan/v1; no /health (404).
* "llamacpp": `python -m llama_cpp.server` (llama-cpp-python 0.3.x), as captured from a real
  one: a role-only first chunk, `logprobs: null`, never any usage in a stream (even with
  `stream_options.include_usage`), thinking only as raw `<think>` text in the content. A
  text-only chat template (`text_only_template`) turns list content into a 500 (non-streamed)
  or an empty 200 stream; a prompt of `context_tokens` or more is a 400
  `context_length_exceeded` (non-streamed) or, again, an empty 200 stream. One generation at a
  time: any request that needs the model (chat or GET /v1/models) waits for it, and a stream
  in flight when one arrives is cut with `data: [DONE]` and no finish_reason, after which the
  connection closes without the chunked body's terminator (`interrupt_requests`).
  No health route.
* "vllm": vLLM's OpenAI server (>= 0.11): usage only with `stream_options.include_usage`, in an
  extra chunk with `choices: []`; thinking in `reasoning` (`reasoning_field`, older vLLM:
  "reasoning_content"); `finish_reason: null` on intermediate chunks; an over-long prompt or an
  unknown model is a 400/404 before any streaming; GET /health answers 200, empty.
* "sglang": SGLang: `reasoning_content`, every field present (`usage: null` etc.), usage only
  with include_usage; an over-long prompt is a 400 non-streamed but, streamed, a 200 whose only
  event is `data: {"error": ...}` then `[DONE]`; GET /health answers 200, empty.

Any question whose text holds `FAULT:<status>` (e.g. FAULT:500) fails once with that status,
then is answered normally when asked again. `fake.rate_limit_next(n, retry_after_s)` answers
the next n chat requests 429 with a `Retry-After` header.

    with FakeUpstream() as fake:
        fake.script(Reply(content="Hi", thinking="hmm"), Reply(status=429))
        ...  # point STEP_BASE_URL / LOCAL_BASE_URL at fake.base_url
        fake.chat_requests()[-1]["messages"]
        fake.flavor = "llamacpp"  # also sets context_tokens, text_only_template, ... defaults
        fake.count("/models")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

Flavor = Literal["stepfun", "llamacpp", "vllm", "sglang"]
FLAVORS: tuple[str, ...] = ("stepfun", "llamacpp", "vllm", "sglang")
FAULT = re.compile(r"FAULT:(\d{3})")


@dataclass(frozen=True)
class FlavorDefaults:
    """What setting `fake.flavor` resets the flavor-dependent knobs to."""

    context_tokens: int | None  # None: no context limit
    text_only_template: bool  # list (multimodal) content breaks the chat template
    reasoning_field: str  # the delta/message field thinking is streamed in
    interrupt_requests: bool  # a waiting request cuts the stream in flight


FLAVOR_DEFAULTS: dict[str, FlavorDefaults] = {
    "stepfun": FlavorDefaults(None, False, "reasoning_content", False),
    "llamacpp": FlavorDefaults(2048, True, "content", True),  # llama_cpp.server's own defaults
    "vllm": FlavorDefaults(4096, False, "reasoning", False),
    "sglang": FlavorDefaults(4096, False, "reasoning_content", False),
}

DONE = "data: [DONE]\n\n"
_SGLANG_EOS = 151645  # the token id SGLang reports as matched_stop on a natural stop
_ABORT = object()  # yielded by a stream: end the connection without finishing the body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    content: str = "Hello from the fake model."
    thinking: str = ""
    thinking_style: Literal[
        "reasoning_content", "reasoning", "both", "think_tags", "close_tag_only"
    ] = "reasoning_content"
    chunk_size: int = 4
    delay_s: float = 0.0  # between chunks; llamacpp non-streamed: per chunk, holding the model
    status: int = 200
    error_message: str = ""
    drop_after_chunks: int | None = None
    stepfun_quirks: bool = True
    prompt_tokens: int = 11
    completion_tokens: int = 7
    reasoning_tokens: int = 3
    flavor: str | None = None  # speak like this server for this reply only (None: fake.flavor)
    finish_reason: str = "stop"  # e.g. "length" (not used by the stepfun flavor)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float


@dataclass
class Upload:
    file_id: str
    filename: str
    size: int
    purpose: str


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[RecordedRequest] = field(default_factory=list)
    replies: deque = field(default_factory=deque)
    uploads: list[Upload] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    disconnects: int = 0
    models_status: int = 200
    health_status: int = 200
    waiting: int = 0  # llamacpp: requests queued for the model
    faulted: set[str] = field(default_factory=set)  # FAULT:<status> questions already failed
    rate_limited: int = 0  # chat requests still to answer 429 (`rate_limit_next`)
    retry_after_s: float | None = None


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] if text else []


def _compact(obj: Any) -> str:
    """JSON as pydantic's model_dump_json / Starlette's JSONResponse write it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _SSEResponse(StreamingResponse):
    """A StreamingResponse whose body may stop short: when the iterator yields `_ABORT` the app
    returns without the final empty body message, so uvicorn closes the connection and the client
    sees an incomplete chunked body (as llama_cpp.server does when it interrupts a stream). The
    iterator is always closed here, so its `finally` runs at once even if the client went away."""

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self.body_iterator:
                if chunk is _ABORT:
                    return
                if not isinstance(chunk, bytes):
                    chunk = chunk.encode(self.charset)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


_LLAMACPP_SSE_HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


class FakeUpstream:
    def __init__(self, models: tuple[str, ...] = ("Step3-VL-10B", "step-3.7-flash")):
        self.models = list(models)
        self.default_reply = Reply()
        self.image_tokens = 256  # what one non-text content part costs in the context window
        self.legacy_error_body = False  # vllm < 0.10: flat {"object": "error", ...} bodies
        self.flavor = "stepfun"
        self._state = _State()
        self._ids = itertools.count(1)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._model_lock: asyncio.Lock | None = None

    # -- test-facing API ----------------------------------------------------------------------
    @property
    def flavor(self) -> str:
        return self._flavor

    @flavor.setter
    def flavor(self, name: str) -> None:
        """Speak like this server; resets context_tokens, text_only_template, reasoning_field and
        interrupt_requests to its defaults (set those after the flavor to override them)."""
        if name not in FLAVORS:
            raise ValueError(f"unknown flavor {name!r}; one of {FLAVORS}")
        self._flavor = name
        defaults = FLAVOR_DEFAULTS[name]
        self.context_tokens: int | None = defaults.context_tokens
        self.text_only_template: bool = defaults.text_only_template
        self.reasoning_field: str = defaults.reasoning_field
        self.interrupt_requests: bool = defaults.interrupt_requests

    def script(self, *replies: Reply) -> None:
        with self._state.lock:
            self._state.replies.extend(replies)

    def reset(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.replies.clear()
            self._state.uploads.clear()
            self._state.expired.clear()
            self._state.faulted.clear()
            self._state.rate_limited = 0
            self._state.retry_after_s = None
            self._state.models_status = 200
            self._state.health_status = 200
        self.default_reply = Reply()
        self.image_tokens = 256
        self.legacy_error_body = False
        self.flavor = "stepfun"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def chat_requests(self) -> list[dict]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def count(self, path_suffix: str, method: str | None = None) -> int:
        """How many requests (any path, answered or 404) ended with this, e.g. "/models"."""
        return sum(
            1
            for r in self.requests
            if r.path.endswith(path_suffix) and (method is None or r.method == method.upper())
        )

    @property
    def uploads(self) -> list[Upload]:
        with self._state.lock:
            return list(self._state.uploads)

    @property
    def disconnects(self) -> int:
        with self._state.lock:
            return self._state.disconnects

    def expire_file(self, file_id: str) -> None:
        with self._state.lock:
            self._state.expired.add(file_id)

    def rate_limit_next(self, n: int, retry_after_s: float | None = 1.0) -> None:
        """Answer the next `n` chat requests with 429 and `Retry-After: <retry_after_s>` (no
        header when None), in the flavor's error body, as a rate-limited StepFun or vLLM does."""
        with self._state.lock:
            self._state.rate_limited = n
            self._state.retry_after_s = retry_after_s

    def _rate_limit(self) -> float | bool | None:
        """The Retry-After of a request that is to be rate limited; False when it is not."""
        with self._state.lock:
            if self._state.rate_limited <= 0:
                return False
            self._state.rate_limited -= 1
            return self._state.retry_after_s

    def set_models_status(self, status: int) -> None:
        """Make GET /models answer with this status (e.g. 503 while 'loading')."""
        with self._state.lock:
            self._state.models_status = status

    def set_health_status(self, status: int) -> None:
        """Make GET /health (vllm, sglang) answer with this status (e.g. 503: engine dead)."""
        with self._state.lock:
            self._state.health_status = status

    def knobs(self, flavor: str | None = None) -> FlavorDefaults:
        """The knobs a reply of this flavor is served with: the fake's own for its flavor, that
        flavor's defaults for a `Reply(flavor=...)` that differs from it."""
        if flavor is None or flavor == self.flavor:
            return FlavorDefaults(
                self.context_tokens,
                self.text_only_template,
                self.reasoning_field,
                self.interrupt_requests,
            )
        return FLAVOR_DEFAULTS[flavor]

    def prompt_tokens_of(self, messages: list[dict]) -> int:
        """The fake's token count for a prompt: text characters / 4 (rounded up) plus
        `image_tokens` per non-text content part. This is what `context_tokens` is checked
        against."""
        chars = parts = 0
        for message in messages or ():
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                chars += len(content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and part.get("type") == "text":
                        chars += len(str(part.get("text") or ""))
                    else:
                        parts += 1
        return math.ceil(chars / 4) + parts * self.image_tokens

    # -- server: common -----------------------------------------------------------------------
    def _record(self, request: Request, body: Any) -> None:
        with self._state.lock:
            self._state.requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    time.time(),
                )
            )

    def _peek_reply(self) -> Reply:
        with self._state.lock:
            return self._state.replies[0] if self._state.replies else self.default_reply

    def _take(self, reply: Reply) -> None:
        """Consume `reply` if it is the scripted one at the head (it was peeked)."""
        with self._state.lock:
            if self._state.replies and self._state.replies[0] is reply:
                self._state.replies.popleft()

    def _fault(self, body: dict) -> int | None:
        """`FAULT:<status>` in the newest user message's text fails that question once with
        that status (a page's Retry, a batch row's retry, then succeeds): faults that tests
        can aim at one question among many sent at once, without scripting an order."""
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        content = users[-1].get("content") if users else None
        if isinstance(content, list):
            content = " ".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
        match = FAULT.search(content) if isinstance(content, str) else None
        if match is None:
            return None
        with self._state.lock:
            if content in self._state.faulted:
                return None
            self._state.faulted.add(content)
        return int(match.group(1))

    def _serves(self, path: str, flavor: str) -> bool:
        return flavor == "stepfun" or path.startswith("/v1/")

    def _not_found(self) -> Response:
        if self.flavor == "stepfun":
            return PlainTextResponse("Not Found", status_code=404)  # Starlette's, as before
        return JSONResponse({"detail": "Not Found"}, status_code=404)  # FastAPI's

    def _flavor_error(self, flavor: str, status: int, message: str, kind: str = "") -> Response:
        if flavor == "llamacpp":
            info = {"message": message, "type": kind or "internal_server_error"}
            return JSONResponse({"error": {**info, "param": None, "code": None}}, status)
        if flavor in ("vllm", "sglang"):
            info = {"message": message, "type": kind or _error_type(status), "param": None}
            if flavor == "sglang" or self.legacy_error_body:
                return JSONResponse({"object": "error", **info, "code": status}, status)
            return JSONResponse({"error": {**info, "code": status}}, status)
        return _error(status, message, kind or "api_error")

    @contextlib.asynccontextmanager
    async def _model(self):
        """llama_cpp.server's model lock: one generation at a time; `waiting` is what an
        interruptible stream polls (its `llama_outer_lock.locked()`)."""
        with self._state.lock:
            self._state.waiting += 1
        try:
            await self._model_lock.acquire()
        finally:
            with self._state.lock:
                self._state.waiting -= 1
        try:
            yield
        finally:
            self._model_lock.release()

    def _queued(self) -> bool:
        with self._state.lock:
            return self._state.waiting > 0

    async def _catch_all(self, request: Request) -> Response:
        self._record(request, None)
        return self._not_found()

    async def _unknown(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (await self._catch_all(Request(scope, receive)))(scope, receive, send)

    async def _health(self, request: Request) -> Response:
        self._record(request, None)
        if self.flavor not in ("vllm", "sglang"):
            return self._not_found()
        return Response(status_code=self._state.health_status)

    async def _models(self, request: Request) -> Response:
        self._record(request, None)
        flavor = self.flavor
        if not self._serves(request.url.path, flavor):
            return self._not_found()
        if flavor == "llamacpp":
            async with self._model():
                pass
        if self._state.models_status != 200:
            return self._flavor_error(flavor, self._state.models_status, "model is loading")
        return JSONResponse({"object": "list", "data": [self._model_card(m) for m in self.models]})

    def _model_card(self, model: str) -> dict:
        created = int(time.time())
        if self.flavor == "llamacpp":
            return {"id": model, "object": "model", "owned_by": "me", "permissions": []}
        if self.flavor == "vllm":
            permission = {
                "id": f"modelperm-{uuid.uuid4().hex}",
                "object": "model_permission",
                "created": created,
                "allow_create_engine": False,
                "allow_sampling": True,
                "allow_logprobs": True,
                "allow_search_indices": False,
                "allow_view": True,
                "allow_fine_tuning": False,
                "organization": "*",
                "group": None,
                "is_blocking": False,
            }
            return {
                "id": model,
                "object": "model",
                "created": created,
                "owned_by": "vllm",
                "root": model,
                "parent": None,
                "max_model_len": self.context_tokens,
                "permission": [permission],
            }
        if self.flavor == "sglang":
            return {
                "id": model,
                "object": "model",
                "created": created,
                "owned_by": "sglang",
                "root": model,
                "max_model_len": self.context_tokens,
            }
        return {"id": model, "object": "model"}

    async def _files(self, request: Request) -> Response:
        if self.flavor != "stepfun":  # only StepFun's cloud has a Files API
            return await self._catch_all(request)
        form = await request.form()
        upload = form["file"]
        data = await upload.read()
        file_id = f"file-{next(self._ids):05d}"
        record = Upload(file_id, upload.filename, len(data), str(form.get("purpose")))
        self._record(request, {"filename": upload.filename, "purpose": record.purpose})
        with self._state.lock:
            self._state.uploads.append(record)
        return JSONResponse(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": int(time.time()),
                "filename": upload.filename,
                "purpose": record.purpose,
                "status": "processed",
            }
        )

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self._record(request, body)
        reply = self._peek_reply()
        flavor = reply.flavor or self.flavor
        if not self._serves(request.url.path, flavor):
            return self._not_found()
        text = json.dumps(body)
        with self._state.lock:
            expired = [f for f in self._state.expired if f"stepfile://{f}" in text]
        if expired:
            return _error(400, f"file not found: {expired[0]}", "invalid_request_error")
        retry_after = self._rate_limit()
        if retry_after is not False:
            response = self._flavor_error(
                flavor, 429, "Rate limit reached for requests; please retry later.", ""
            )
            if retry_after is not None:
                seconds = float(retry_after)
                response.headers["Retry-After"] = (
                    str(int(seconds)) if seconds.is_integer() else str(seconds)
                )
            return response
        fault = self._fault(body)
        if fault:
            return self._flavor_error(flavor, fault, f"injected fault {fault}")
        if reply.status != 200:
            self._take(reply)
            return self._flavor_error(
                flavor, reply.status, reply.error_message or f"error {reply.status}"
            )
        if flavor == "llamacpp":
            return await self._llamacpp_chat(body, reply)
        if flavor in ("vllm", "sglang"):
            return self._openai_server_chat(flavor, body, reply)
        self._take(reply)
        if body.get("stream"):
            return StreamingResponse(self._stream(body, reply), media_type="text/event-stream")
        return JSONResponse(self._completion(body, reply))

    def _content_pieces(self, reply: Reply) -> tuple[list[str], list[str]]:
        """(reasoning-field pieces, content pieces) for the reply's thinking style."""
        style, thinking = reply.thinking_style, reply.thinking
        if thinking and style == "think_tags":
            return [], _chunks(f"<think>{thinking}</think>\n\n{reply.content}", reply.chunk_size)
        if thinking and style == "close_tag_only":
            return [], _chunks(f"{thinking}</think>\n\n{reply.content}", reply.chunk_size)
        return _chunks(thinking, reply.chunk_size), _chunks(reply.content, reply.chunk_size)

    def _usage(self, reply: Reply, fraction: float = 1.0) -> dict:
        completion = int(reply.completion_tokens * fraction)
        return {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": reply.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
        }

    # -- stepfun ------------------------------------------------------------------------------
    async def _stream(self, body: dict, reply: Reply):
        reasoning, content = self._content_pieces(reply)
        deltas: list[dict] = []
        for piece in reasoning:
            delta: dict[str, Any] = {}
            if reply.thinking_style in ("reasoning_content", "both"):
                delta["reasoning_content"] = piece
            if reply.thinking_style in ("reasoning", "both"):
                delta["reasoning"] = piece
            deltas.append(delta)
        deltas += [{"content": piece} for piece in content]
        created = int(time.time())
        completed = False
        try:
            for index, delta in enumerate(deltas):
                if reply.drop_after_chunks is not None and index >= reply.drop_after_chunks:
                    return  # the connection just ends: no finish_reason, no [DONE]
                first = index == 0
                if reply.stepfun_quirks:
                    delta = {"role": "assistant" if first else "", **delta}
                elif first:
                    delta = {"role": "assistant", **delta}
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 0 if (reply.stepfun_quirks and first) else created,
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "delta": delta,
                            "finish_reason": "" if reply.stepfun_quirks else None,
                        }
                    ],
                }
                if reply.stepfun_quirks:
                    chunk["usage"] = self._usage(reply, (index + 1) / max(len(deltas), 1))
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
                if reply.delay_s:
                    await asyncio.sleep(reply.delay_s)
            final = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model"),
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": self._usage(reply),
            }
            yield f"data: {json.dumps(final)}\n\n"
            yield "data: [DONE]\n\n"
            completed = True
        finally:
            if not completed and reply.drop_after_chunks is None:
                with self._state.lock:
                    self._state.disconnects += 1

    def _completion(self, body: dict, reply: Reply) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.thinking and reply.thinking_style == "think_tags":
            message["content"] = f"<think>{reply.thinking}</think>\n\n{reply.content}"
        elif reply.thinking:
            message["reasoning_content"] = reply.thinking
            message["reasoning"] = reply.thinking
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": self._usage(reply),
        }

    # -- llamacpp -----------------------------------------------------------------------------
    def _tagged_text(self, reply: Reply) -> str:
        """llama-cpp-python parses no reasoning: thinking is just text in the content."""
        if not reply.thinking:
            return reply.content
        if reply.thinking_style == "close_tag_only":
            return f"{reply.thinking}</think>\n\n{reply.content}"
        return f"<think>{reply.thinking}</think>\n\n{reply.content}"

    async def _llamacpp_chat(self, body: dict, reply: Reply) -> Response:
        stream = bool(body.get("stream"))
        messages = body.get("messages") or []
        knobs = self.knobs(reply.flavor)
        failure: Response | None = None
        if knobs.text_only_template:
            # The GGUF's Jinja template does `'...' + message['content'] + '...'`.
            bad = [m.get("content") for m in messages if not isinstance(m.get("content"), str)]
            if bad:
                kind = type(bad[0]).__name__
                message = f'can only concatenate str (not "{kind}") to str'
                failure = self._flavor_error("llamacpp", 500, message)
        if failure is None and knobs.context_tokens is not None:
            prompt = self.prompt_tokens_of(messages)
            if prompt >= knobs.context_tokens:
                max_tokens = body.get("max_tokens")  # max_completion_tokens: not read
                message = (
                    f"This model's maximum context length is {knobs.context_tokens} tokens. "
                    f"However, you requested {(max_tokens or 0) + prompt} tokens "
                    f"({prompt} in the messages, {max_tokens} in the completion). "
                    "Please reduce the length of the messages or completion."
                )
                failure = JSONResponse(
                    {
                        "error": {
                            "message": message,
                            "type": "invalid_request_error",
                            "param": "messages",
                            "code": "context_length_exceeded",
                        }
                    },
                    status_code=400,
                )
        if failure is not None:
            if stream:  # the error is raised after the 200 went out: an empty event stream
                return _SSEResponse(
                    _nothing(), media_type="text/event-stream", headers=_LLAMACPP_SSE_HEADERS
                )
            return failure
        self._take(reply)
        model = body.get("model") or self.models[0]
        pieces = _chunks(self._tagged_text(reply), reply.chunk_size)
        if stream:
            return _SSEResponse(
                self._llamacpp_stream(model, pieces, reply, knobs.interrupt_requests),
                media_type="text/event-stream",
                headers=_LLAMACPP_SSE_HEADERS,
            )
        async with self._model():
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s * max(len(pieces), 1))
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"content": "".join(pieces), "role": "assistant"},
                        "logprobs": None,
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                    "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                },
            }
        )

    async def _llamacpp_stream(self, model: str, pieces: list[str], reply: Reply, interrupt: bool):
        cid, created = f"chatcmpl-{uuid.uuid4()}", int(time.time())

        def event(delta: dict, finish: str | None = None) -> str:
            chunk = {
                "id": cid,
                "model": model,
                "created": created,
                "object": "chat.completion.chunk",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            return f"data: {json.dumps(chunk)}\n\n"  # json.dumps defaults: ", ", ": ", \u escapes

        deltas = [{"role": "assistant"}] + [{"content": piece} for piece in pieces]
        ended = False
        try:
            async with self._model():
                for index, delta in enumerate(deltas):
                    if reply.drop_after_chunks is not None and index >= reply.drop_after_chunks:
                        ended = True
                        yield _ABORT
                        return
                    yield event(delta)
                    if interrupt and self._queued():  # someone waits for the model: give way
                        ended = True
                        yield DONE
                        yield _ABORT
                        return
                    if reply.delay_s:
                        await asyncio.sleep(reply.delay_s)
                yield event({}, reply.finish_reason)
                yield DONE
                ended = True
        finally:
            if not ended:
                with self._state.lock:
                    self._state.disconnects += 1

    # -- vllm / sglang ------------------------------------------------------------------------
    def _context_error(self, flavor: str, body: dict, limit: int | None) -> str | None:
        if limit is None:
            return None
        prompt = self.prompt_tokens_of(body.get("messages") or [])
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if flavor == "sglang":
            if prompt >= limit:
                return (
                    f"The input ({prompt} tokens) is longer than the model's context length "
                    f"({limit} tokens)."
                )
            if max_tokens is not None and prompt + max_tokens > limit:
                return (
                    f"Requested token count exceeds the model's maximum context length of {limit} "
                    f"tokens. You requested a total of {prompt + max_tokens} tokens: {prompt} tokens "
                    f"from the input messages and {max_tokens} tokens for the completion. Please "
                    "reduce the number of tokens in the input messages or the completion to fit "
                    "within the limit."
                )
            return None
        if max_tokens is None:
            if prompt >= limit:
                return (
                    f"This model's maximum context length is {limit} tokens. However, you "
                    f"requested {prompt} tokens in the messages, Please reduce the length of the "
                    "messages."
                )
        elif prompt + max_tokens > limit:
            return (
                f"This model's maximum context length is {limit} tokens. However, you requested "
                f"{max_tokens + prompt} tokens ({prompt} in the messages, {max_tokens} in the "
                "completion). Please reduce the length of the messages or completion."
            )
        return None

    def _openai_server_chat(self, flavor: str, body: dict, reply: Reply) -> Response:
        stream = bool(body.get("stream"))
        if flavor == "vllm" and body.get("model") not in self.models:
            message = f"The model `{body.get('model')}` does not exist."
            info = {"message": message, "type": "NotFoundError"}
            if self.legacy_error_body:
                return JSONResponse({"object": "error", **info, "param": None, "code": 404}, 404)
            return JSONResponse({"error": {**info, "param": "model", "code": 404}}, 404)
        knobs = self.knobs(reply.flavor)
        problem = self._context_error(flavor, body, knobs.context_tokens)
        if problem is not None:
            if flavor == "sglang" and stream:  # found by the tokenizer, inside the stream
                error = {
                    "object": "error",
                    "message": problem,
                    "type": "BadRequestError",
                    "param": None,
                    "code": 400,
                }
                return _SSEResponse(
                    _events(f"data: {json.dumps({'error': error})}\n\n", DONE),
                    media_type="text/event-stream",
                )
            return self._flavor_error(flavor, 400, problem, "BadRequestError")
        self._take(reply)
        options = body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))
        if stream:
            if flavor == "sglang":
                generator = self._sglang_stream(body, reply, include_usage)
            else:
                continuous = include_usage and bool(options.get("continuous_usage_stats"))
                field = knobs.reasoning_field
                generator = self._vllm_stream(body, reply, field, include_usage, continuous)
            return _SSEResponse(generator, media_type="text/event-stream")
        return JSONResponse(
            self._openai_server_completion(flavor, body, reply, knobs.reasoning_field)
        )

    def _reasoning_pieces(self, reply: Reply) -> tuple[list[str], list[str]]:
        """(thinking pieces for the reasoning field, content pieces): tag styles stay in the
        content (a server started without a reasoning parser)."""
        if reply.thinking and reply.thinking_style in ("think_tags", "close_tag_only"):
            return self._content_pieces(reply)
        return _chunks(reply.thinking, reply.chunk_size), _chunks(reply.content, reply.chunk_size)

    def _server_usage(self, flavor: str, reply: Reply, completion: int | None = None) -> dict:
        done = reply.completion_tokens if completion is None else completion
        usage = {
            "prompt_tokens": reply.prompt_tokens,
            "total_tokens": reply.prompt_tokens + done,
            "completion_tokens": done,
        }
        if flavor == "sglang":
            usage.update(prompt_tokens_details=None, reasoning_tokens=0)
        return usage

    async def _vllm_stream(
        self, body: dict, reply: Reply, field: str, include_usage: bool, continuous: bool
    ):
        cid, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), body.get("model")
        reasoning, content = self._reasoning_pieces(reply)
        total = len(reasoning) + len(content)

        def event(choices: list[dict], sent: int, **extra: Any) -> str:
            chunk = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
            }
            chunk.update(choices=choices, **extra)
            if continuous:
                chunk["usage"] = self._server_usage(
                    "vllm", reply, round(reply.completion_tokens * sent / max(total, 1))
                )
            return f"data: {_compact(chunk)}\n\n"

        def choice(delta: dict, finish: str | None = None, last: bool = False) -> dict:
            out: dict[str, Any] = {
                "index": 0,
                "delta": delta,
                "logprobs": None,
                "finish_reason": finish,
            }
            if last:
                out["stop_reason"] = None
            out["token_ids"] = None
            return out

        deltas = [{field: p} for p in reasoning] + [{"content": p} for p in content]
        ended = False
        try:
            first = {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
            yield event([first], 0, prompt_token_ids=None)
            for index, delta in enumerate(deltas):
                if reply.drop_after_chunks is not None and index >= reply.drop_after_chunks:
                    ended = True
                    yield _ABORT
                    return
                if reply.delay_s:
                    await asyncio.sleep(reply.delay_s)
                yield event([choice(delta)], index + 1)
            yield event([choice({"content": ""}, reply.finish_reason, last=True)], total)
            if include_usage:
                usage = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                }
                usage.update(choices=[], usage=self._server_usage("vllm", reply))
                yield f"data: {_compact(usage)}\n\n"
            yield DONE
            ended = True
        finally:
            if not ended:
                with self._state.lock:
                    self._state.disconnects += 1

    async def _sglang_stream(self, body: dict, reply: Reply, include_usage: bool):
        cid, model = f"chatcmpl-{uuid.uuid4().hex}", body.get("model")
        reasoning, content = self._reasoning_pieces(reply)

        def event(delta: dict, finish: str | None = None, usage: dict | None = None) -> str:
            full = {"role": None, "content": None, "reasoning_content": None, "tool_calls": None}
            full.update(delta)
            chunk = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "delta": full,
                        "logprobs": None,
                        "finish_reason": finish,
                        "matched_stop": _SGLANG_EOS if finish == "stop" else None,
                    }
                ],
                "usage": usage,
            }
            return f"data: {_compact(chunk)}\n\n"

        deltas = [{"reasoning_content": p} for p in reasoning] + [{"content": p} for p in content]
        ended = False
        try:
            yield event({"role": "assistant", "content": ""})
            for index, delta in enumerate(deltas):
                if reply.drop_after_chunks is not None and index >= reply.drop_after_chunks:
                    ended = True
                    yield _ABORT
                    return
                if reply.delay_s:
                    await asyncio.sleep(reply.delay_s)
                yield event(delta)
            if not include_usage:  # the end-of-sequence output: no text, the finish reason
                yield event({}, reply.finish_reason)
            yield event({}, reply.finish_reason)  # the final finish_reason chunk
            if include_usage:
                chunk = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time())}
                chunk.update(model=model, choices=[], usage=self._server_usage("sglang", reply))
                yield f"data: {_compact(chunk)}\n\n"
            yield DONE
            ended = True
        finally:
            if not ended:
                with self._state.lock:
                    self._state.disconnects += 1

    def _openai_server_completion(self, flavor: str, body: dict, reply: Reply, field: str) -> dict:
        reasoning, content = self._reasoning_pieces(reply)
        thinking = "".join(reasoning) or None
        created, model = int(time.time()), body.get("model")
        if flavor == "sglang":
            message = {
                "role": "assistant",
                "content": "".join(content) or None,
                "reasoning_content": thinking,
                "tool_calls": None,
            }
            return {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": reply.finish_reason,
                        "matched_stop": _SGLANG_EOS if reply.finish_reason == "stop" else None,
                    }
                ],
                "usage": self._server_usage(flavor, reply),
            }
        message = {
            "role": "assistant",
            "content": "".join(content),
            "refusal": None,
            "annotations": None,
            "audio": None,
            "function_call": None,
            "tool_calls": [],
            field: thinking,
        }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                    "stop_reason": None,
                }
            ],
            "service_tier": None,
            "system_fingerprint": None,
            "usage": {**self._server_usage(flavor, reply), "prompt_tokens_details": None},
            "prompt_logprobs": None,
            "kv_transfer_params": None,
        }

    def _app(self) -> Starlette:
        routes = []
        for prefix in ("/v1", "/step_plan/v1"):
            routes += [
                Route(f"{prefix}/models", self._models, methods=["GET"]),
                Route(f"{prefix}/files", self._files, methods=["POST"]),
                Route(f"{prefix}/chat/completions", self._chat, methods=["POST"]),
            ]
        routes.append(Route("/health", self._health, methods=["GET"]))
        app = Starlette(routes=routes)
        app.router.default = self._unknown  # recorded 404s; a known path's wrong method: 405
        return app

    def start(self) -> FakeUpstream:
        self._model_lock = asyncio.Lock()  # bound to the server's loop on first use
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


async def _nothing():
    return
    yield  # pragma: no cover - makes this an (empty) async generator


async def _events(*events: str):
    for item in events:
        yield item


def _error_type(status: int) -> str:
    return {400: "BadRequestError", 404: "NotFoundError", 429: "RateLimitError"}.get(
        status, "InternalServerError" if status >= 500 else "BadRequestError"
    )


def _error(status: int, message: str, kind: str = "api_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)
