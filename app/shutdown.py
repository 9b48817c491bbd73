"""A stop that waits for answers, not for idle pages.

Every open page holds a heartbeat stream to Gradio, which never ends by itself, so a plain
uvicorn shutdown waits its whole graceful timeout whenever anyone has the page open. Here the
signal handler only sets uvicorn's flag; the shutdown then refuses new turns, gives answers in
flight up to `WEBUI_SHUTDOWN_GRACE` seconds, saves what is still streaming as interrupted, and
closes the long-lived streams as if their pages had gone away, so the process exits at once.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.gradio_adapter import LONG_LIVED_STREAMS
from app.services import Services

log = logging.getLogger(__name__)


class StreamCloser:
    """Ends the pages' long-lived streams when `close()` is called (see `CloseStreams`)."""

    def __init__(self) -> None:
        self.closing = asyncio.Event()

    def close(self) -> None:
        self.closing.set()


class CloseStreams:
    """ASGI middleware: a long-lived stream ends, as if its page had left, once closing starts."""

    def __init__(self, app: ASGIApp, closer: StreamCloser):
        self.app = app
        self.closer = closer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(LONG_LIVED_STREAMS):
            await self.app(scope, receive, send)
            return
        closing = self.closer.closing

        async def receive_until_closing() -> Message:
            if closing.is_set():
                return {"type": "http.disconnect"}
            message = asyncio.ensure_future(receive())
            stop = asyncio.ensure_future(closing.wait())
            done, _ = await asyncio.wait({message, stop}, return_when=asyncio.FIRST_COMPLETED)
            if message in done:
                stop.cancel()
                return message.result()
            message.cancel()
            return {"type": "http.disconnect"}  # the response ends as if the page had left

        await self.app(scope, receive_until_closing, send)


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, services: Services, streams: StreamCloser):
        super().__init__(config)
        self._services = services
        self._streams = streams
        self._drain: asyncio.Task | None = None

    async def shutdown(self, sockets=None) -> None:
        self._services.engine.stop_accepting()
        self._drain = asyncio.create_task(self._finish_answers())
        await super().shutdown(sockets)

    async def _finish_answers(self) -> None:
        engine, grace = self._services.engine, self._services.settings.shutdown_grace_s
        if not await engine.wait_idle(grace):
            saved = await asyncio.to_thread(engine.save_interrupted)
            log.info("shutting down; saved %d answer(s) in flight as interrupted", saved)
        self._streams.close()
