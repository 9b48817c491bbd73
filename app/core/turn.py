"""The one turn core: a context and a model in, events out. No Gradio, no HTTP, no store.

Every caller goes through it: the page (via the conversation layer in engine.py), the HTTP API,
batch jobs, regenerate and edit. It holds the model policy and availability checks, the
capability checks, the text limit, the image-limit rule, media intake and resolution (data
URLs, fetched URLs, the Files API uploaded once, video frames and parts), the one re-upload of
an expired file id, and timing. Effort is mapped per model by the backend client.

Problems before anything is sent raise `TurnRejected`; a failing backend raises `BackendError`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable

from app.backend import BackendClient, BackendError
from app.catalog import Backend, ModelRegistry, ModelSpec
from app.config import Settings
from app.core.context import build_request, can_take
from app.core.media import MediaIntake, MediaResolver
from app.core.problems import TurnRejected, check_text_length
from app.core.remote_media import RemoteMediaFetcher
from app.core.request import MediaInput, TurnMessage, TurnRequest
from app.events import AnswerDelta, Note, StreamEvent, ThinkingDelta, Timing
from app.janitor import Hold
from app.media import MediaError, MediaLibrary
from app.status import Availability, StatusMonitor
from app.store import Store

CoreEvent = StreamEvent | Note | Timing


class TurnCore:
    def __init__(
        self,
        settings: Settings,
        registry: ModelRegistry,
        monitor: StatusMonitor,
        backend: BackendClient,
        library: MediaLibrary,
        store: Store,
    ):
        self.settings = settings
        self.registry = registry
        self.monitor = monitor
        self.backend = backend
        self.resolver = MediaResolver(settings, library, store, backend)
        fetcher = RemoteMediaFetcher(max_bytes=settings.max_upload_mb * 1024 * 1024)
        self.intake = MediaIntake(library, fetcher)

    # -- policy and checks (the page also runs these before it stores a question) ---------------
    def ready(self, spec: ModelSpec) -> bool:
        return self.monitor.model_status(spec.id).availability is Availability.READY

    def default_model(self, preferred: Iterable[str | None] = ()) -> str | None:
        """The model to use when none is picked: the first of `preferred` that exists, else
        the first model that is ready, else the first one."""
        for model_id in preferred:
            if model_id and self.registry.get(model_id):
                return model_id
        specs = list(self.registry)
        return next((s.id for s in specs if self.ready(s)), specs[0].id if specs else None)

    def model(self, model_id: str | None, cloud_allowed: bool = True) -> ModelSpec:
        spec = self.registry.get(model_id)
        if spec is None:
            known = ", ".join(
                m.id for m in self.registry if cloud_allowed or m.backend is Backend.LOCAL
            )
            raise TurnRejected("model.unknown", model=str(model_id), known=known or "—")
        if spec.backend is Backend.STEPFUN and not cloud_allowed:
            raise TurnRejected("model.cloud_needs_key", model=spec.id)
        availability = self.monitor.model_status(spec.id).availability
        if availability is Availability.UNCONFIGURED:
            raise TurnRejected("model.unconfigured", model=spec.id)
        if availability is Availability.STARTING:
            raise TurnRejected("model.starting", model=spec.id)
        if spec.placeholder:
            raise TurnRejected("model.not_served", model=spec.id, url=self.settings.local_base_url)
        return spec

    def able_model(self, needs: Iterable[str]) -> str:
        """A ready model that can take every kind in `needs` ("image", "video"), to suggest;
        empty when none is."""
        needs = tuple(needs)
        return next(
            (
                s.id
                for s in self.registry
                if all(can_take(s, kind) for kind in needs) and self.ready(s)
            ),
            "",
        )

    def _able(self, kind: str) -> str:
        return self.able_model((kind,))

    def check_media(self, spec: ModelSpec, items: Iterable[MediaInput]) -> None:
        """Explain, before anything is sent, why this model cannot take these attachments."""
        for item in items:
            if can_take(spec, item.kind):
                continue
            if not spec.known:
                raise TurnRejected("model.capabilities_unknown", model=spec.id, name=item.name)
            other = self._able(item.kind)
            base = "model.text_only" if item.kind == "image" else "model.no_video"
            raise TurnRejected(
                base + ("_suggest" if other else ""), model=spec.id, name=item.name, other=other
            )

    # -- the turn --------------------------------------------------------------------------------
    async def _take_media(
        self, spec: ModelSpec, messages: tuple[TurnMessage, ...], hold: Hold
    ) -> tuple[TurnMessage, ...]:
        taken = []
        for message in messages:
            media = tuple(
                [
                    await self.intake.take(spec, item, hold) if can_take(spec, item.kind) else item
                    for item in message.media
                ]
            )
            taken.append(TurnMessage(message.role, message.text, media))
        return tuple(taken)

    async def run(self, request: TurnRequest, hold: Hold) -> AsyncIterator[CoreEvent]:
        """Notes on how the turn is sent, then the answer's events, then its timing.

        `hold` keeps the turn's media from the janitor until the caller has stored what
        refers to them.
        """
        spec = self.model(request.model_id, request.cloud_allowed)
        check_text_length(sum(len(m.text) for m in request.messages))
        newest = request.newest_user
        if newest is None:
            newest = len(request.messages) - 1
        self.check_media(spec, request.messages[newest].media if request.messages else ())
        messages = await self._take_media(spec, request.messages, hold)
        started = time.monotonic()
        first_token: float | None = None
        for attempt in (1, 2):
            try:
                built = await build_request(spec, messages, newest, request.detail, self.resolver)
            except MediaError as exc:
                raise TurnRejected(exc.key, **exc.params) from None
            if attempt == 1:
                for note in built.notes:
                    yield note
            try:
                async for event in self.backend.chat(
                    spec,
                    built.messages,
                    effort=request.effort,
                    sampling=dict(request.sampling),
                    stream=request.stream,
                ):
                    if first_token is None and isinstance(event, AnswerDelta | ThinkingDelta):
                        first_token = time.monotonic() - started
                    yield event
                break
            except BackendError as exc:
                if exc.kind == "unknown_file" and attempt == 1 and first_token is None:
                    await self.resolver.forget_uploads(spec.backend, built.file_ids)
                    continue  # the file ids expired upstream: upload again, once
                raise
        yield Timing(first_token, time.monotonic() - started)
