"""The one ASGI app: health, the HTTP API under /api/v1, and the Gradio UI at /."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import gradio as gr
import uvicorn
from fastapi import FastAPI

from app.catalog import Backend
from app.config import Settings
from app.identity import BrowserIdMiddleware
from app.services import Services
from app.ui import build_ui, launch_options

log = logging.getLogger(__name__)


def create_app(services: Services) -> FastAPI:
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        services.monitor.start()
        await services.monitor.wait_first_check(timeout=3.0)
        log.info("serving on http://%s:%d", settings.host, settings.port)
        yield
        await services.monitor.stop()
        await services.backend.aclose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BrowserIdMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {
            "status": "ok",
            "backends": {b.value: services.monitor.status(b).availability.value for b in Backend},
            "models": len(services.catalog),
        }

    # Routes of our own must be registered before Gradio is mounted at "/".
    demo = build_ui(services)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.concurrency * 8)
    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=list(settings.auth) or None,
        allowed_paths=[str(settings.media_dir)],
        max_file_size=f"{settings.max_upload_mb}mb",
        enable_monitoring=False,
        run_history=False,
        footer_links=[],
        **launch_options(),
    )


class GracefulServer(uvicorn.Server):
    """On SIGTERM/SIGINT: stop taking turns and save answers in flight, then shut down."""

    def __init__(self, config: uvicorn.Config, services: Services):
        super().__init__(config)
        self._services = services

    def handle_exit(self, sig: int, frame) -> None:
        if not self.should_exit:
            saved = self._services.engine.begin_shutdown()
            log.info("shutting down; saved %d answer(s) in flight", saved)
        super().handle_exit(sig, frame)


def serve(settings: Settings, graceful_shutdown_s: int) -> None:
    services = Services.build(settings)
    config = uvicorn.Config(
        create_app(services),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    GracefulServer(config, services).run()
