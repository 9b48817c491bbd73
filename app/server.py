"""The one ASGI app: health, the HTTP API under /api/v1, downloads, and the Gradio UI at /."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app import gradio_adapter
from app.api import ApiError, build_api_router
from app.catalog import Backend
from app.config import Settings
from app.identity import BrowserIdMiddleware, OwnerResolver
from app.media_access import FileAccess, OwnerBoundary, UploadRecorder
from app.request_log import RequestLogMiddleware
from app.services import Services
from app.shutdown import CloseStreams, GracefulServer, StreamCloser
from app.ui import build_ui, launch_options
from app.ui.downloads import build_download_router

log = logging.getLogger(__name__)


def create_app(services: Services) -> tuple[FastAPI, StreamCloser]:
    """The app, and the closer a graceful shutdown uses to end the pages' idle streams."""
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        services.monitor.start()
        services.janitor.start()
        await services.monitor.wait_first_check(timeout=3.0)
        await services.batch.start()
        log.info("serving on http://%s:%d", settings.host, settings.port)
        if settings.host in ("0.0.0.0", "::"):  # what to type in a browser
            log.info("open http://localhost:%d in a browser on this machine", settings.port)
        yield
        await services.batch.stop()
        await services.janitor.stop()
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

    # Who owns a request: the login once Gradio is mounted (it holds the tokens), else the cookie.
    owners = OwnerResolver()
    # Routes of our own must be registered before Gradio is mounted at "/".
    app.include_router(build_api_router(services))
    app.include_router(build_download_router(services, owners))
    gradio_adapter.use_upload_folder(settings.upload_dir)
    gradio_adapter.serve_in_place(settings.media_dir)
    demo = build_ui(services)
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
    if settings.auth:
        owners.login_lookup = gradio_adapter.login_lookup(gradio_adapter.mounted_app(app))

    # Middlewares, innermost first (each add_middleware wraps the ones before it).
    closer = StreamCloser()
    app.add_middleware(UploadRecorder, store=services.store, owners=owners)
    app.add_middleware(BrowserIdMiddleware)
    app.add_middleware(
        OwnerBoundary, access=FileAccess(settings.data_dir, services.store), owners=owners
    )
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(CloseStreams, closer=closer)
    return app, closer


def serve(settings: Settings) -> None:
    services = Services.build(settings)
    app, closer = create_app(services)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Answers in flight get the grace (see shutdown.py); this only bounds what is left after.
        timeout_graceful_shutdown=round(settings.shutdown_grace_s) + 3,
    )
    GracefulServer(config, services, closer).run()
