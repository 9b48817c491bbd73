"""`/api/v1`: Chat Completions (JSON or SSE) and the model list, over the shared engine pieces."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from app.api.auth import authorized
from app.api.errors import ApiError
from app.api.remote_media import RemoteMediaFetcher
from app.api.schema import ApiMessage, parse_chat_request, parse_json
from app.api.translate import MessageTranslator, Translated
from app.backend import BackendError
from app.catalog import Backend, ModelSpec
from app.events import AnswerDelta, Finished, ThinkingDelta, TurnResult, Usage
from app.services import Services
from app.status import Availability

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


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None) -> str:
    payload = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


class ChatCompletions:
    def __init__(self, services: Services):
        self.services = services
        settings = services.settings
        self.body_limit = (settings.max_upload_mb + 8) * 1024 * 1024
        fetcher = RemoteMediaFetcher(max_bytes=settings.max_upload_mb * 1024 * 1024)
        self.translator = MessageTranslator(services.library, services.engine.resolver, fetcher)

    def _model(self, model_id: str, has_key: bool) -> ModelSpec:
        spec = self.services.catalog.get(model_id)
        if spec is None:
            known = ", ".join(m.id for m in self.visible_models(has_key)) or "none"
            raise ApiError(
                404, f"Unknown model {model_id!r}. Available: {known}.", code="model_not_found"
            )
        if spec.backend is Backend.STEPFUN and not has_key:
            raise ApiError(
                401,
                f"{model_id} is a paid cloud model: it is served over this API only to clients "
                "with a key. Set WEBUI_API_KEYS on the server and send 'Authorization: Bearer <key>'.",
                code="cloud_model_needs_key",
            )
        availability = self.services.monitor.model_status(spec.id).availability
        if availability is Availability.STARTING:
            raise ApiError(503, f"{model_id} is still loading; retry in a minute.", code="starting")
        return spec

    def visible_models(self, has_key: bool) -> list[ModelSpec]:
        return [m for m in self.services.catalog if has_key or m.backend is Backend.LOCAL]

    async def create(self, request: Request):
        has_key = authorized(self.services.settings, request)
        chat = parse_chat_request(await read_body(request, self.body_limit))
        spec = self._model(chat.model, has_key)
        request.state.model = spec.id
        pin = self.services.janitor.hold()
        hold = pin.__enter__()  # released when the answer ends (below, or when the stream closes)
        try:
            translated = await self.translator.translate(spec, chat.messages, hold)
            events = self._events(spec, chat.messages, translated, chat.effort, chat.sampling, hold)
            # Wait for the first event here, so a failure before anything streamed gets a real
            # status code instead of a 200 with an error inside.
            first = await anext(events, None)
        except BaseException:
            pin.__exit__(None, None, None)
            raise
        if chat.stream:
            return StreamingResponse(
                self._sse(spec, first, events, pin),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        result = TurnResult()
        try:
            if first is not None:
                result.add(first)
            async for event in events:
                result.add(event)
        finally:
            pin.__exit__(None, None, None)
        message: dict[str, Any] = {"role": "assistant", "content": result.answer}
        if result.thinking:
            message["reasoning_content"] = result.thinking
            message["reasoning"] = result.thinking
        return JSONResponse(
            {
                "id": f"chatcmpl-{secrets.token_hex(12)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": spec.id,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": result.finish_reason or "stop",
                    }
                ],
                "usage": (result.usage or Usage()).as_openai(),
            }
        )

    async def _events(
        self,
        spec: ModelSpec,
        raw: tuple[ApiMessage, ...],
        translated: Translated,
        effort,
        sampling,
        hold,
    ) -> AsyncIterator:
        """Backend events; an expired StepFun file id is uploaded again once, before streaming."""
        for attempt in (1, 2):
            started = False
            try:
                async for event in self.services.backend.stream_chat(
                    spec, translated.messages, effort=effort, sampling=sampling
                ):
                    started = True
                    yield event
                return
            except BackendError as exc:
                if exc.kind == "unknown_file" and attempt == 1 and not started:
                    ids = [
                        url.removeprefix("stepfile://")
                        for url in _urls(translated.messages)
                        if url.startswith("stepfile://")
                    ]
                    self.services.engine.resolver.forget_uploads(spec.backend, ids)
                    translated = await self.translator.translate(spec, raw, hold)
                    continue
                raise ApiError.from_backend(exc) from None

    async def _sse(self, spec: ModelSpec, head, events: AsyncIterator, pin) -> AsyncIterator[str]:
        cid, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
        first, finish, usage = True, "stop", None

        async def all_events():
            if head is not None:
                yield head
            async for event in events:
                yield event

        try:
            async for event in all_events():
                if isinstance(event, ThinkingDelta):
                    delta = {"reasoning_content": event.text, "reasoning": event.text}
                elif isinstance(event, AnswerDelta):
                    delta = {"content": event.text}
                elif isinstance(event, Usage):
                    usage = event
                    continue
                elif isinstance(event, Finished):
                    finish = event.finish_reason
                    continue
                else:  # AnswerWasThinking: what was sent as content cannot be taken back
                    continue
                if first:
                    delta = {"role": "assistant", **delta}
                    first = False
                yield _chunk(cid, created, spec.id, delta)
            final = json.loads(_chunk(cid, created, spec.id, {}, finish)[6:])
            if usage is not None:
                final["usage"] = usage.as_openai()
            yield f"data: {json.dumps(final)}\n\n"
        except ApiError as exc:
            log.warning("stream for %s failed: %s", spec.id, exc.code)
            yield f"data: {json.dumps(exc.body(), ensure_ascii=False)}\n\n"
        finally:
            pin.__exit__(None, None, None)
        yield "data: [DONE]\n\n"


def _urls(messages: list[dict]) -> list[str]:
    urls = []
    for message in messages:
        if isinstance(message.get("content"), list):
            for part in message["content"]:
                for key in ("image_url", "video_url"):
                    if key in part:
                        urls.append(part[key]["url"])
    return urls


def build_api_router(services: Services) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["OpenAI-compatible API"])
    chat = ChatCompletions(services)

    @router.post("/chat/completions", summary="Chat Completions (OpenAI protocol, JSON or SSE)")
    async def chat_completions(request: Request):
        return await chat.create(request)

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
