"""Which backends answer right now, polled in the background so pages never wait on it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from enum import Enum

from app.backend import BackendClient, BackendError
from app.catalog import Backend, Catalog
from app.config import Settings

log = logging.getLogger(__name__)

CLOUD_POLL_S = 60.0


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


class StatusMonitor:
    """Process-wide view of backend reachability; one poller task, read by every page."""

    def __init__(self, settings: Settings, catalog: Catalog, backend: BackendClient):
        self._settings = settings
        self._catalog = catalog
        self._backend = backend
        self._status: dict[Backend, BackendStatus] = {
            Backend.STEPFUN: BackendStatus(
                Availability.UNKNOWN if settings.stepfun_enabled else Availability.UNCONFIGURED,
                "" if settings.stepfun_enabled else "STEP_API_KEY is not set",
            ),
            Backend.LOCAL: BackendStatus(Availability.UNKNOWN),
        }
        self._task: asyncio.Task | None = None
        self._checked = asyncio.Event()

    def status(self, backend: Backend) -> BackendStatus:
        return self._status[backend]

    def model_status(self, model_id: str) -> BackendStatus:
        spec = self._catalog.get(model_id)
        if spec is None:
            return BackendStatus(Availability.UNREACHABLE, "unknown model")
        return self._status[spec.backend]

    async def check_once(self) -> None:
        await asyncio.gather(self._check(Backend.LOCAL), self._check(Backend.STEPFUN))
        self._checked.set()

    async def wait_first_check(self, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._checked.wait(), timeout)

    async def _check(self, backend: Backend) -> None:
        if not self._backend.configured(backend):
            return
        try:
            ids = await self._backend.list_models(backend)
        except BackendError as exc:
            if (
                backend is Backend.LOCAL
                and self._settings.model_server_autostart
                and exc.kind in ("connection", "overloaded", "timeout")
            ):
                new = BackendStatus(Availability.STARTING, "the model server is still loading")
            else:
                new = BackendStatus(Availability.UNREACHABLE, exc.message)
        else:
            if backend is Backend.LOCAL and not self._settings.local_models:
                for spec in self._catalog.add_local(ids):
                    log.info("discovered self-hosted model %s", spec.id)
            new = BackendStatus(Availability.READY)
        if new != self._status[backend]:
            log.info("backend %s: %s %s", backend.value, new.availability.value, new.detail)
        self._status[backend] = new

    async def _poll(self) -> None:
        """The local server is checked every poll interval; the cloud at most once a minute
        (its rate limits are per account), and sooner while it is not ready."""
        interval = self._settings.model_poll_interval
        cloud_every = max(1, round(CLOUD_POLL_S / interval))
        for tick in itertools.count():
            backends = [Backend.LOCAL]
            cloud_ready = self._status[Backend.STEPFUN].availability is Availability.READY
            if tick % cloud_every == 0 or not cloud_ready:
                backends.append(Backend.STEPFUN)
            try:
                await asyncio.gather(*(self._check(b) for b in backends))
                self._checked.set()
            except Exception:  # a poller must never die
                log.exception("backend status check failed")
            await asyncio.sleep(interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
