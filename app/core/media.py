"""Media of a turn: into the library first (`MediaIntake`), then into the content parts a given
model can take (`MediaResolver`).

Bytes that arrive with a request (a data URL) are validated and stored like a page's uploads;
http(s) URLs go to StepFun as they are (it fetches them itself) and are fetched here, safely,
for the self-hosted server (see remote_media.py); `stepfile://` ids only go to StepFun.

Images are normalized (byte-identical per detail level, so a server's prefix cache can hit).
For StepFun each distinct file is uploaded once through the Files API and referenced as
`stepfile://<id>` on every later turn; the self-hosted backend gets data URLs, so it never
fetches anything itself. Videos go natively where the model takes video (split into segments
over StepFun's limits), otherwise as timestamped frames.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from app.backend import BackendClient, BackendError
from app.catalog import Backend, ModelSpec, VideoMode
from app.config import Settings
from app.core.problems import TurnRejected
from app.core.remote_media import RemoteMediaFetcher, RemoteMediaRefused
from app.core.request import MediaInput
from app.events import Note
from app.i18n import record
from app.janitor import Hold
from app.media import MediaError, MediaLibrary, format_timestamp
from app.store import MediaRef, Store

log = logging.getLogger(__name__)

NATIVE_VIDEO_MAX_SECONDS = 300.0  # StepFun: at most 5 minutes per video
NATIVE_VIDEO_MAX_BYTES = 128 * 1024 * 1024  # StepFun: at most 128 MB per video
INLINE_VIDEO_MAX_BYTES = 20 * 1024 * 1024  # beyond this a base64 data URL is too heavy to send


@dataclass
class ResolvedMedia:
    """Content parts for one attachment; `images` counts toward the model's per-request limit."""

    parts: list[dict[str, Any]] = field(default_factory=list)
    images: int = 0
    note: Note | None = None


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def passthrough(item: MediaInput, detail: str) -> ResolvedMedia:
    """A URL the backend fetches itself (StepFun), as a content part."""
    kind = "image_url" if item.kind == "image" else "video_url"
    body = {"url": item.url, "detail": detail} if item.kind == "image" else {"url": item.url}
    return ResolvedMedia([{"type": kind, kind: body}], images=int(item.kind == "image"))


class MediaIntake:
    """Puts every item of a turn into the library, or keeps it a URL the backend will fetch."""

    def __init__(self, library: MediaLibrary, fetcher: RemoteMediaFetcher):
        self._library = library
        self._fetcher = fetcher

    async def take(self, spec: ModelSpec, item: MediaInput, hold: Hold) -> MediaInput:
        if item.ref is not None:
            return item
        data = item.data
        if item.url is not None:
            if item.url.startswith("stepfile://"):
                if spec.backend is not Backend.STEPFUN:
                    raise TurnRejected("media.stepfile_elsewhere", where=item.name)
                return item
            if not item.url.startswith(("http://", "https://")):
                raise TurnRejected("media.bad_url", where=item.name)
            if spec.backend is Backend.STEPFUN:
                return item
            try:
                data = await self._fetcher.fetch(item.url)
            except RemoteMediaRefused as exc:
                raise TurnRejected("media.remote_refused", where=item.name, why=str(exc)) from None
        try:
            stored = await asyncio.to_thread(
                self._library.ingest_bytes, data or b"", item.name, hold.add
            )
        except MediaError as exc:
            raise TurnRejected(exc.key, **exc.params) from None
        if stored.kind != item.kind:
            raise TurnRejected(f"media.not_{item.kind}", where=item.name)
        return replace(item, ref=MediaRef.from_stored(stored, item.name), data=None, url=None)


class MediaResolver:
    def __init__(
        self, settings: Settings, library: MediaLibrary, store: Store, backend: BackendClient
    ):
        self._settings = settings
        self._library = library
        self._store = store
        self._backend = backend
        self._upload_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.files_api_enabled = True

    async def resolve(self, spec: ModelSpec, item: MediaInput, detail: str) -> ResolvedMedia:
        if item.ref is None:
            return passthrough(item, detail)
        ref = item.ref
        if ref.kind == "image":
            return await self._image(spec, ref, detail)
        if spec.video is VideoMode.NATIVE:
            return await self._native_video(spec, ref, detail)
        return await self._frames(spec, ref, detail)

    async def forget_uploads(self, backend: Backend, file_ids: list[str]) -> None:
        for file_id in file_ids:
            await asyncio.to_thread(self._store.uploads.forget_remote, backend.value, file_id)

    # -- images -----------------------------------------------------------------------------
    async def _image(self, spec: ModelSpec, ref: MediaRef, detail: str) -> ResolvedMedia:
        image = await asyncio.to_thread(
            self._library.normalized_image, ref.sha256, detail, ref.filename
        )
        url = await self._url_for(
            spec,
            ref.sha256,
            f"image-{detail}",
            image.data,
            f"{ref.sha256[:16]}{image.extension}",
            image.mime,
        )
        part = {"type": "image_url", "image_url": {"url": url, "detail": detail}}
        note = Note.of("media.first_frame_only", name=ref.filename) if image.animated else None
        return ResolvedMedia([part], images=1, note=note)

    # -- videos -----------------------------------------------------------------------------
    async def _native_video(self, spec: ModelSpec, ref: MediaRef, detail: str) -> ResolvedMedia:
        duration = ref.duration_s or 0.0
        if duration <= NATIVE_VIDEO_MAX_SECONDS and ref.size_bytes <= NATIVE_VIDEO_MAX_BYTES:
            source = self._library.blob_path(ref.sha256)
            url = await self._video_url(spec, ref.sha256, "video", source, ref.mime)
            if url is not None:
                return ResolvedMedia([{"type": "video_url", "video_url": {"url": url}}])
            return await self._frames(spec, ref, detail, why=record("video.why.too_large_inline"))
        try:
            segments = await asyncio.to_thread(
                self._library.video_segments,
                ref.sha256,
                max_seconds=NATIVE_VIDEO_MAX_SECONDS - 5,
                max_bytes=NATIVE_VIDEO_MAX_BYTES - 1024 * 1024,
                filename=ref.filename,
            )
        except MediaError as exc:
            return await self._frames(spec, ref, detail, why=exc.as_record())
        parts: list[dict[str, Any]] = []
        for index, segment in enumerate(segments):
            url = await self._video_url(spec, ref.sha256, f"segment-{index}", segment, "video/mp4")
            if url is None:
                return await self._frames(
                    spec, ref, detail, why=record("video.why.parts_too_large")
                )
            parts.append({"type": "video_url", "video_url": {"url": url}})
        note = Note.of(
            "video.split", name=ref.filename, length=format_timestamp(duration), parts=len(segments)
        )
        return ResolvedMedia(parts, note=note)

    async def _frames(
        self, spec: ModelSpec, ref: MediaRef, detail: str, why: dict | None = None
    ) -> ResolvedMedia:
        frames = await asyncio.to_thread(
            self._library.video_frames,
            ref.sha256,
            interval_s=self._settings.video_frame_interval,
            max_frames=self._settings.video_max_frames,
            detail=detail,
            filename=ref.filename,
        )
        duration = format_timestamp(ref.duration_s or 0.0)
        parts: list[dict[str, Any]] = [
            {
                "type": "text",
                "text": (
                    f"Video {ref.filename} (length {duration}), shown as {len(frames)} frames; "
                    "each frame is preceded by its timestamp."
                ),
            }
        ]
        for frame in frames:
            variant = f"frame-{detail}-{frame.timestamp_s:.3f}"
            url = await self._url_for(
                spec, ref.sha256, variant, frame.image.data, f"{ref.sha256[:12]}.jpg", "image/jpeg"
            )
            parts.append({"type": "text", "text": f"[{format_timestamp(frame.timestamp_s)}]"})
            parts.append({"type": "image_url", "image_url": {"url": url, "detail": detail}})
        note = Note.of(
            "video.frames",
            name=ref.filename,
            why=why or record("video.why.model", model=spec.id),
            count=len(frames),
            length=duration,
            interval=f"{self._settings.video_frame_interval:g}",
        )
        return ResolvedMedia(parts, images=len(frames), note=note)

    # -- transport --------------------------------------------------------------------------
    def _uses_files_api(self, spec: ModelSpec) -> bool:
        return spec.backend is Backend.STEPFUN and self.files_api_enabled

    async def _url_for(
        self, spec: ModelSpec, sha: str, variant: str, data: bytes, filename: str, mime: str
    ) -> str:
        if self._uses_files_api(spec):
            file_id = await self._upload_once(
                spec.backend, sha, variant, lambda: data, filename, mime
            )
            if file_id:
                return f"stepfile://{file_id}"
        return data_url(data, mime)

    async def _video_url(self, spec: ModelSpec, sha: str, variant: str, path, mime: str):
        if self._uses_files_api(spec):
            file_id = await self._upload_once(
                spec.backend, sha, variant, path.read_bytes, path.name, mime
            )
            if file_id:
                return f"stepfile://{file_id}"
        if (await asyncio.to_thread(path.stat)).st_size > INLINE_VIDEO_MAX_BYTES:
            return None
        return data_url(await asyncio.to_thread(path.read_bytes), mime)

    async def _upload_once(
        self, backend: Backend, sha: str, variant: str, read, filename: str, mime: str
    ) -> str | None:
        """Upload once per (content, backend, variant); None means use an inline data URL."""
        uploads = self._store.uploads
        known = await asyncio.to_thread(uploads.remote_id, sha, backend.value, variant)
        if known:
            return known
        lock = self._upload_locks.setdefault((sha, variant), asyncio.Lock())
        async with lock:
            known = await asyncio.to_thread(uploads.remote_id, sha, backend.value, variant)
            if known:
                return known
            data = await asyncio.to_thread(read)
            try:
                file_id = await self._backend.upload_file(backend, data, filename, mime)
            except BackendError as exc:
                log.warning("Files API upload failed (%s); sending inline instead", exc.kind)
                return None
            await asyncio.to_thread(uploads.set_remote_id, sha, backend.value, variant, file_id)
            return file_id
