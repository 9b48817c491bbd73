"""The process-wide objects, built once at start and passed to the UI and the API."""

from __future__ import annotations

from dataclasses import dataclass

from app.backend import BackendClient
from app.batch.service import BatchService
from app.catalog import ModelRegistry
from app.config import Settings
from app.core import TurnCore
from app.engine import ChatEngine
from app.janitor import Janitor
from app.media import MediaLibrary
from app.status import StatusMonitor
from app.store import Store


@dataclass
class Services:
    settings: Settings
    catalog: ModelRegistry
    backend: BackendClient
    monitor: StatusMonitor
    store: Store
    library: MediaLibrary
    janitor: Janitor
    core: TurnCore
    engine: ChatEngine
    batch: BatchService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        catalog = ModelRegistry(settings)
        backend = BackendClient(settings)
        monitor = StatusMonitor(settings, catalog, backend)
        store = Store(settings.db_path)
        store.messages.recover_interrupted()
        library = MediaLibrary(settings.media_dir)
        janitor = Janitor(
            store, library, settings.upload_dir, orphan_ttl_s=settings.media_orphan_hours * 3600
        )
        core = TurnCore(settings, catalog, monitor, backend, library, store)
        engine = ChatEngine(settings, core, store, library, janitor)
        batch = BatchService(settings, core, store, library, janitor)
        return cls(
            settings, catalog, backend, monitor, store, library, janitor, core, engine, batch
        )
