"""Keeps disk use bounded: media that no conversation refers to, and old page uploads, go away.

Media reach the library from chats, the HTTP API, imports and batch jobs. Those a stored message
or batch job row refers to stay for as long as it does. Everything else (an image sent once through `/api/v1`, the
blobs of a failed import, media of deleted conversations) is removed once it has not been used
for `WEBUI_MEDIA_ORPHAN_HOURS`. Media in use by a request in flight are held and never removed:
a request holds each file from the moment its hash is known, before the library writes or
touches it, until the message that refers to it is stored or the answer ends (`Janitor.hold`),
under the same lock the sweep deletes with.

Page uploads (Gradio's upload folder under the data directory) are kept for a day, long enough
for a draft to survive a restart, then removed with their ownership records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.media import MediaLibrary
from app.store import Store

log = logging.getLogger(__name__)

UPLOAD_TTL_S = 24 * 3600.0
SWEEP_EVERY_S = 3600.0


class Hold:
    """Hashes a request holds; `add` is given to the library, which calls it before it stores."""

    def __init__(self, janitor: Janitor):
        self._janitor = janitor
        self.shas: list[str] = []

    def add(self, sha: str) -> None:
        with self._janitor._lock:
            self._janitor._pins[sha] += 1
        self.shas.append(sha)


@dataclass(frozen=True)
class SweepReport:
    media_removed: int = 0
    uploads_removed: int = 0


class Janitor:
    def __init__(
        self,
        store: Store,
        library: MediaLibrary,
        upload_dir: Path,
        *,
        orphan_ttl_s: float,
        upload_ttl_s: float = UPLOAD_TTL_S,
        every_s: float = SWEEP_EVERY_S,
    ):
        self.store = store
        self.library = library
        self.upload_dir = Path(upload_dir)
        self.orphan_ttl_s = orphan_ttl_s
        self.upload_ttl_s = upload_ttl_s
        self.every_s = every_s
        self._pins: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._task: asyncio.Task | None = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[Hold]:
        """Media a request is using: each one added is kept until the block ends."""
        held = Hold(self)
        try:
            yield held
        finally:
            with self._lock:
                self._pins.subtract(held.shas)
                self._pins += Counter()  # drop zero counts

    def discard(self, shas: Iterable[str], older_than_s: float | None = None) -> list[str]:
        """Remove these media now if nothing refers to them, none is pinned, and each has been
        unused for `older_than_s` (default: the orphan time). Returns what was removed."""
        age = self.orphan_ttl_s if older_than_s is None else older_than_s
        cutoff = time.time() - age
        removed = []
        with self._lock:
            candidates = [
                sha
                for sha in dict.fromkeys(shas)
                if sha not in self._pins and self.library.last_used(sha) <= cutoff
            ]
            for sha in self.store.media.forget_unreferenced(candidates):
                self.library.delete(sha)
                removed.append(sha)
        return removed

    def sweep(self) -> SweepReport:
        referenced = self.store.media.referenced()
        orphans = [sha for sha in self.library.stored_hashes() if sha not in referenced]
        media = self.discard(orphans)
        self.library.drop_derived_without_blob(older_than=time.time() - self.orphan_ttl_s)
        uploads = self._sweep_uploads(time.time() - self.upload_ttl_s)
        if media or uploads:
            log.info("swept %d unused media and %d old uploads", len(media), uploads)
        return SweepReport(len(media), uploads)

    def _sweep_uploads(self, cutoff: float) -> int:
        removed = 0
        for path in self.store.uploads.expire(cutoff):
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed += 1
        if self.upload_dir.is_dir():  # files that never got a record (no cookie), and empty dirs
            for folder in self.upload_dir.iterdir():
                for entry in folder.iterdir() if folder.is_dir() else [folder]:
                    with contextlib.suppress(OSError):
                        if entry.stat().st_mtime < cutoff:
                            entry.unlink()
                            removed += 1
                with contextlib.suppress(OSError):
                    if folder.is_dir():
                        folder.rmdir()  # only succeeds once it is empty
        return removed

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep)
            except Exception:  # a janitor must never die
                log.exception("media sweep failed")
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
