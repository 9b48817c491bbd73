"""`/api/v1`: Chat Completions (JSON or SSE) and the model list: OpenAI JSON in, the turn core's
events out as OpenAI JSON or server-sent events. No turn logic lives here."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from app.api.auth import authorized
from app.api.batches import add_batch_routes
from app.api.errors import ApiError
from app.api.schema import parse_chat_request, parse_json
from app.api.translate import turn_request
from app.backend import BackendError
from app.catalog import Backend, ModelSpec
from app.core import CoreEvent, TurnRejected
from app.events import AnswerDelta, Finished, Note, ThinkingDelta, TurnResult, Usage
from app.services import Services

log = logging.getLogger(__name__)


async def read_body(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object body, refusing more than `limit` bytes while reading (not trusting
    headers); anything malformed is a 400 (`schema.parse_json`)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"The request body is larger than {limit // 1048576} MB.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"The request body is larger than {limit // 1048576} MB.")
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


class ChunkWriter:
    """OpenAI `chat.completion.chunk` lines for one answer; the fixed part is encoded once."""

    def __init__(self, model: str):
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        head = {"id": self.id, "object": "chat.completion.chunk", "created": self.created}
        self._head = json.dumps({**head, "model": model})[:-1]  # without the closing brace

    def line(self, delta: dict, finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        tail = json.dumps({"choices": [choice], **extra}, ensure_ascii=False)[1:]
        return f"data: {self._head}, {tail}\n\n"

    def usage_line(self, usage: Usage | None) -> str:
        body = json.dumps({"choices": [], "usage": usage.as_openai() if usage else None})[1:]
        return f"data: {self._head}, {body}\n\n"


def _delta(event: CoreEvent) -> dict | None:
    if isinstance(event, ThinkingDelta):
        return {"reasoning_content": event.text, "reasoning": event.text}
    if isinstance(event, AnswerDelta):
        return {"content": event.text}
    return None  # notes, usage, timing, the end; AnswerWasThinking cannot be taken back


class ChatCompletions:
    def __init__(self, services: Services):
        self.services = services
        self.body_limit = (services.settings.max_upload_mb + 8) * 1024 * 1024

    def visible_models(self, has_key: bool) -> list[ModelSpec]:
        return [m for m in self.services.catalog if has_key or m.backend is Backend.LOCAL]

    async def create(self, request: Request):
        has_key = authorized(self.services.settings, request)
        chat = parse_chat_request(await read_body(request, self.body_limit))
        request.state.model = chat.model
        turn = turn_request(chat, cloud_allowed=has_key)
        hold = self.services.janitor.hold()  # released when the answer has ended
        events = self.services.core.run(turn, hold.__enter__())
        head: list[CoreEvent] = []
        try:
            # Notes, then the first answer event: anything that fails before then gets a real
            # status code instead of a 200 with an error inside.
            async for event in events:
                head.append(event)
                if not isinstance(event, Note):
                    break
        except BaseException as exc:
            hold.__exit__(None, None, None)
            if isinstance(exc, BackendError | TurnRejected):
                raise ApiError.of(exc) from None
            raise
        if chat.stream:
            return StreamingResponse(
                self._sse(chat.model, head, events, hold, chat.include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        result = TurnResult()
        try:
            for event in head:
                result.add(event)
            async for event in events:
                result.add(event)
        except (BackendError, TurnRejected) as exc:
            raise ApiError.of(exc) from None
        finally:
            hold.__exit__(None, None, None)
        return JSONResponse(self._completion(chat.model, result))

    @staticmethod
    def _completion(model: str, result: TurnResult) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": result.answer}
        if result.thinking:
            message["reasoning_content"] = result.thinking
            message["reasoning"] = result.thinking
        body = {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": result.finish_reason or "stop"}
            ],
            # Not reported by the backend: null, never made-up zeros.
            "usage": result.usage.as_openai() if result.usage else None,
        }
        if result.notes:
            body["notes"] = [Note(n).text() for n in result.notes]
        return body

    async def _sse(
        self,
        model: str,
        head: list[CoreEvent],
        events: AsyncIterator[CoreEvent],
        hold: AbstractContextManager,
        include_usage: bool,
    ) -> AsyncIterator[str]:
        writer = ChunkWriter(model)
        notes = [e.text() for e in head if isinstance(e, Note)]
        first, finish, usage = True, "stop", None

        async def all_events():
            for event in head:
                yield event
            async for event in events:
                yield event

        try:
            async for event in all_events():
                if isinstance(event, Usage):
                    usage = event
                elif isinstance(event, Finished):
                    finish = event.finish_reason
                delta = _delta(event)
                if delta is None:
                    continue
                if first:
                    first = False
                    extra = {"notes": notes} if notes else {}
                    yield writer.line({"role": "assistant", **delta}, **extra)
                else:
                    yield writer.line(delta)
            if include_usage:
                yield writer.line({}, finish)
                yield writer.usage_line(usage)
            else:
                extra = {"usage": usage.as_openai()} if usage else {}
                yield writer.line({}, finish, **extra)
        except (BackendError, TurnRejected) as exc:
            error = ApiError.of(exc)
            log.warning("stream for %s failed: %s", model, error.code)
            yield f"data: {json.dumps(error.body(), ensure_ascii=False)}\n\n"
        finally:
            hold.__exit__(None, None, None)
        yield "data: [DONE]\n\n"


def build_api_router(services: Services) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["OpenAI-compatible API"])
    chat = ChatCompletions(services)

    @router.post("/chat/completions", summary="Chat Completions (OpenAI protocol, JSON or SSE)")
    async def chat_completions(request: Request):
        return await chat.create(request)

    add_batch_routes(router, services)  # /files and /batches: the OpenAI Batch API

    @router.get("/models", summary="Models with their capabilities")
    async def models(request: Request):
        has_key = authorized(services.settings, request)
        return {
            "object": "list",
            "data": [
                {
                    "id": spec.id,
                    "object": "model",
                    "created": 0,
                    "owned_by": spec.backend.value,
                    "capabilities": spec.as_public_dict(),
                    "status": services.monitor.model_status(spec.id).availability.value,
                }
                for spec in chat.visible_models(has_key)
            ],
        }

    return router
