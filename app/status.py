"""Which backends answer right now, checked in the background so pages never wait on it.

A check must never disturb a server that is answering: llama.cpp's Python server, for one,
ends every generation in flight when `GET /models` arrives. So:
- a backend that is answering one of our requests is not checked at all, and an answer that
  arrives whole counts as a successful check;
- the self-hosted server's model list is read once (discovery, and again after it was gone),
  later checks use its cheap health route (`GET /health` on vLLM and SGLang; a 404 from a
  server without one still proves it is up);
- once a backend is up it is checked twelve times less often (once a minute by default), and
  every `WEBUI_MODEL_POLL_INTERVAL` seconds while it is not; StepFun's cloud at most once a
  minute (its limits are per account).
Checks never go through the SDK's retries, and a change of state is logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from enum import Enum

from app.backend import BackendClient, BackendError
from app.catalog import Backend, ModelRegistry
from app.config import Settings

log = logging.getLogger(__name__)

UP_SLOWER = 12  # a backend that is up is checked this many times less often
CLOUD_POLL_S = 60.0
LOADING_STATUSES = (502, 503, 504)


class Availability(str, Enum):
    READY = "ready"
    STARTING = "starting"  # our own model server is loading (MODEL_SERVER_AUTOSTART)
    UNREACHABLE = "unreachable"
    UNCONFIGURED = "unconfigured"  # e.g. no STEP_API_KEY
    UNKNOWN = "checking"


@dataclass(frozen=True)
class BackendStatus:
    availability: Availability
    detail: str = ""


READY = BackendStatus(Availability.READY)


class StatusMonitor:
    """Process-wide view of backend reachability; one poller task, read by every page."""

    def __init__(self, settings: Settings, registry: ModelRegistry, backend: BackendClient):
        self._settings = settings
        self._registry = registry
        self._backend = backend
        self._status: dict[Backend, BackendStatus] = {
            Backend.STEPFUN: BackendStatus(
                Availability.UNKNOWN if settings.stepfun_enabled else Availability.UNCONFIGURED,
                "" if settings.stepfun_enabled else "STEP_API_KEY is not set",
            ),
            Backend.LOCAL: BackendStatus(Availability.UNKNOWN),
        }
        self._discovered = bool(settings.local_models)  # nothing to discover when they are set
        self._next_check = dict.fromkeys(Backend, 0.0)
        self._task: asyncio.Task | None = None
        self._checked = asyncio.Event()
        backend.on_answer = self.answered

    def status(self, backend: Backend) -> BackendStatus:
        return self._status[backend]

    def model_status(self, model_id: str) -> BackendStatus:
        spec = self._registry.get(model_id)
        if spec is None:
            return BackendStatus(Availability.UNREACHABLE, "unknown model")
        return self._status[spec.backend]

    def answered(self, backend: Backend) -> None:
        """An answer arrived whole from this backend: it is up; no need to ask for a while."""
        self._set(backend, READY)
        self._next_check[backend] = time.monotonic() + self._interval(backend)

    def _set(self, backend: Backend, new: BackendStatus) -> None:
        if new != self._status[backend]:
            log.info("backend %s: %s %s", backend.value, new.availability.value, new.detail)
        self._status[backend] = new

    async def check_once(self) -> None:
        await asyncio.gather(*(self._check(b) for b in Backend))
        self._checked.set()

    async def wait_first_check(self, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._checked.wait(), timeout)

    async def _check(self, backend: Backend) -> None:
        if not self._backend.configured(backend) or self._backend.busy(backend):
            return  # an answer in flight proves the server is up; never disturb it
        try:
            if backend is Backend.LOCAL:
                new = await self._check_local()
            else:
                await self._backend.list_models(backend)
                new = READY
        except BackendError as exc:
            if backend is Backend.LOCAL:
                self._discovered = bool(self._settings.local_models)  # ask again once it is back
            new = self._down(backend, exc.kind, str(exc))
        self._set(backend, new)

    async def _check_local(self) -> BackendStatus:
        if not self._discovered:
            ids = await self._backend.list_models(Backend.LOCAL)
            for model_id in self._registry.discovered(ids):
                log.info("discovered self-hosted model %s", model_id)
            self._discovered = True
            return READY
        status = await self._backend.health(Backend.LOCAL)
        if status in LOADING_STATUSES:
            return self._down(Backend.LOCAL, "overloaded", f"GET /health answered {status}")
        return READY

    def _down(self, backend: Backend, kind: str, detail: str) -> BackendStatus:
        loading = kind in ("connection", "overloaded", "timeout")
        if backend is Backend.LOCAL and self._settings.model_server_autostart and loading:
            return BackendStatus(Availability.STARTING, "the model server is still loading")
        return BackendStatus(Availability.UNREACHABLE, detail)

    def _interval(self, backend: Backend) -> float:
        every = self._settings.model_poll_interval
        if self._status[backend].availability is Availability.READY:
            every *= UP_SLOWER
        return max(every, CLOUD_POLL_S) if backend is Backend.STEPFUN else every

    async def _poll(self) -> None:
        tick = min(self._settings.model_poll_interval, 1.0)
        while True:
            now = time.monotonic()
            due = [b for b in Backend if now >= self._next_check[b]]
            try:
                await asyncio.gather(*(self._check(b) for b in due))
                self._checked.set()
            except Exception:  # a poller must never die
                log.exception("backend status check failed")
            for backend in due:
                self._next_check[backend] = time.monotonic() + self._interval(backend)
            await asyncio.sleep(tick)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
