"""The one ASGI app: health, the HTTP API under /api/v1, and the Gradio UI at /."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.api import ApiError, build_api_router
from app.catalog import Backend
from app.config import Settings
from app.identity import BrowserIdMiddleware
from app.media_access import MediaAccessMiddleware, gradio_user_lookup
from app.request_log import RequestLogMiddleware
from app.services import Services
from app.ui import build_ui, launch_options, serve_media_in_place

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

    app = FastAPI(
        title="VLM WebUI API",
        summary="OpenAI-compatible Chat Completions for images and videos",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.add_middleware(BrowserIdMiddleware)
    app.add_middleware(RequestLogMiddleware)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "-")
        log.exception("unexpected error in %s (request %s)", request.url.path, request_id)
        return ApiError(
            500, f"Internal error (request id {request_id}); see the server log.", "internal_error"
        ).response()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {
            "status": "ok",
            "backends": {b.value: services.monitor.status(b).availability.value for b in Backend},
            "models": len(services.catalog),
        }

    # Routes of our own must be registered before Gradio is mounted at "/".
    app.include_router(build_api_router(services))
    demo = build_ui(services)
    serve_media_in_place(settings.media_dir)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.concurrency * 8)
    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=list(settings.auth) or None,
        # Static paths are served anyway; allowing the folder too makes a blob missing from disk
        # show as one broken image instead of failing the whole chat render.
        allowed_paths=[str(settings.media_dir)],
        max_file_size=f"{settings.max_upload_mb}mb",
        enable_monitoring=False,
        run_history=False,
        footer_links=[],
        **launch_options(),
    )
    users = gradio_user_lookup(app) if settings.auth else None
    app.add_middleware(MediaAccessMiddleware, store=services.store, user_lookup=users)
    return app


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


def serve(settings: Settings) -> None:
    services = Services.build(settings)
    config = uvicorn.Config(
        create_app(services),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )
    GracefulServer(config, services).run()
