"""A fake OpenAI-compatible model server on 127.0.0.1: the one test double of this project.

It streams like StepFun (quirks included) or vLLM, records every request so tests can assert
what the app really sent, injects errors and dropped connections, implements enough of the
Files API, and counts streams whose client went away before the end.

    with FakeUpstream() as fake:
        fake.script(Reply(content="Hi", thinking="hmm"), Reply(status=429))
        ...  # point STEP_BASE_URL / LOCAL_BASE_URL at fake.base_url
        fake.chat_requests()[-1]["messages"]
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


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
    delay_s: float = 0.0
    status: int = 200
    error_message: str = ""
    drop_after_chunks: int | None = None
    stepfun_quirks: bool = True
    prompt_tokens: int = 11
    completion_tokens: int = 7
    reasoning_tokens: int = 3


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


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] if text else []


class FakeUpstream:
    def __init__(self, models: tuple[str, ...] = ("Step3-VL-10B", "step-3.7-flash")):
        self.models = list(models)
        self.default_reply = Reply()
        self._state = _State()
        self._ids = itertools.count(1)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- test-facing API ----------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._state.lock:
            self._state.replies.extend(replies)

    def reset(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.replies.clear()
            self._state.uploads.clear()
            self._state.expired.clear()
            self._state.models_status = 200
        self.default_reply = Reply()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def chat_requests(self) -> list[dict]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

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

    def set_models_status(self, status: int) -> None:
        """Make GET /models answer with this status (e.g. 503 while 'loading')."""
        with self._state.lock:
            self._state.models_status = status

    # -- server -------------------------------------------------------------------------------
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

    def _next_reply(self) -> Reply:
        with self._state.lock:
            return self._state.replies.popleft() if self._state.replies else self.default_reply

    async def _models(self, request: Request) -> Response:
        self._record(request, None)
        if self._state.models_status != 200:
            return _error(self._state.models_status, "model is loading")
        return JSONResponse(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
        )

    async def _files(self, request: Request) -> Response:
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
        text = json.dumps(body)
        with self._state.lock:
            expired = [f for f in self._state.expired if f"stepfile://{f}" in text]
        if expired:
            return _error(400, f"file not found: {expired[0]}", "invalid_request_error")
        reply = self._next_reply()
        if reply.status != 200:
            return _error(reply.status, reply.error_message or f"error {reply.status}")
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

    def _app(self) -> Starlette:
        routes = []
        for prefix in ("/v1", "/step_plan/v1"):
            routes += [
                Route(f"{prefix}/models", self._models, methods=["GET"]),
                Route(f"{prefix}/files", self._files, methods=["POST"]),
                Route(f"{prefix}/chat/completions", self._chat, methods=["POST"]),
            ]
        return Starlette(routes=routes)

    def start(self) -> FakeUpstream:
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


def _error(status: int, message: str, kind: str = "api_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)
