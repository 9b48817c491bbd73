"""Content-addressed media on disk: each distinct file stored once, derived forms cached.

    <root>/blobs/ab/<sha256><ext>       the original bytes (ext from the detected type, so
                                        browsers and Gradio know how to show it)
    <root>/blobs/ab/<sha256>.json       what was learned when it was checked
    <root>/cache/<sha256>-…             normalized images, video frames, video parts

Everything here is keyed by content, and two people may send the same bytes: nothing stored
under a hash says who sent it or under what name. File names are the caller's, per call (they
appear in error messages); notes are facts (e.g. "animated") that callers put into words.

Writes go to a unique temporary name and are renamed into place, so two users adding the same
file at the same moment cannot corrupt it, and a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.media.detect import EXTENSIONS, HEAD_BYTES, MediaKind, detect
from app.media.errors import MediaError
from app.media.images import NormalizedImage, image_size, validate_image
from app.media.images import normalize_image as _normalize_image
from app.media.video import VideoFrame, probe_video, sample_frames, split_video

CHUNK = 1024 * 1024
PARTIAL_WRITE_GRACE_S = 3600.0
BROWSER_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}


@dataclass(frozen=True)
class StoredMedia:
    sha256: str
    kind: MediaKind
    mime: str
    filename: str  # the name this caller gave it; never read back from disk
    size_bytes: int
    path: Path
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    new: bool = False  # this call stored it (it was not in the library before)


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MediaLibrary:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.cache = self.root / "cache"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)

    # -- paths ------------------------------------------------------------------------------
    def _sidecar(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / f"{sha256}.json"

    def _blob_file(self, sha256: str, mime: str) -> Path:
        return self.blobs / sha256[:2] / f"{sha256}{EXTENSIONS.get(mime, '')}"

    def _normalized_file(self, sha256: str, detail: str, extension: str = ".jpg") -> Path:
        return self.cache / f"{sha256}-{detail}{extension}"

    def blob_path(self, sha256: str) -> Path:
        meta = self._meta(sha256)
        return self._blob_file(sha256, meta["mime"] if meta else "")

    def display_path(self, sha256: str, kind: str, mime: str) -> tuple[Path, str]:
        """A file a browser can show, with its mime type: the original where browsers read it,
        else (HEIC, TIFF) the JPEG made when it was stored. Nothing is read or decoded here
        (kind and mime come from the caller's reference): rendering a history stays cheap."""
        if kind == "image" and mime not in BROWSER_IMAGES:
            return self._normalized_file(sha256, "low"), "image/jpeg"
        return self._blob_file(sha256, mime), mime

    def _meta(self, sha256: str) -> dict | None:
        try:
            return json.loads(self._sidecar(sha256).read_text())
        except (OSError, json.JSONDecodeError):
            return None

    # -- ingest -----------------------------------------------------------------------------
    # `hold`, when given, is called with the hash before the file is written or touched (the
    # janitor's way of keeping a file a request is about to use).
    def ingest_file(
        self,
        path: Path,
        filename: str,
        max_bytes: int | None = None,
        hold: Callable[[str], None] | None = None,
    ) -> StoredMedia:
        path = Path(path)
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise MediaError(
                "media.too_large", name=filename, size=size / 1048576, limit=max_bytes / 1048576
            )
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
        kind, mime = detect(head, filename)
        if kind == "image":
            return self._store_image(path.read_bytes(), filename, mime, hold)
        info = probe_video(path, filename)
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        sha = digest.hexdigest()
        if hold is not None:
            hold(sha)
        meta = {
            "kind": kind,
            "mime": mime,
            "size_bytes": size,
            "width": info.width,
            "height": info.height,
            "duration_s": info.duration_s,
        }
        target = self._blob_file(sha, mime)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            os.close(fd)
            try:
                shutil.copyfile(path, tmp)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return self._finish(sha, meta, target, filename)

    def ingest_bytes(
        self, data: bytes, filename: str, hold: Callable[[str], None] | None = None
    ) -> StoredMedia:
        kind, mime = detect(data[:HEAD_BYTES], filename)
        if kind == "image":
            return self._store_image(data, filename, mime, hold)
        with tempfile.NamedTemporaryFile(dir=self.root, suffix=EXTENSIONS[mime]) as tmp:
            tmp.write(data)
            tmp.flush()
            return self.ingest_file(Path(tmp.name), filename, hold=hold)

    def _store_image(
        self, data: bytes, filename: str, mime: str, hold: Callable[[str], None] | None
    ) -> StoredMedia:
        display = None
        if mime in BROWSER_IMAGES:
            width, height, _format = validate_image(data, filename)
        else:  # HEIC, TIFF: decoded once, for the check and for what the chat will show
            width, height = image_size(data, filename)
            display = _normalize_image(data, "low", filename)
        sha = hashlib.sha256(data).hexdigest()
        if hold is not None:
            hold(sha)
        target = self._blob_file(sha, mime)
        if not target.exists():
            _write_atomic(target, data)
        if display is not None:
            self._remember_normalized(sha, "low", display)
        meta = {
            "kind": "image",
            "mime": mime,
            "size_bytes": len(data),
            "width": width,
            "height": height,
            "duration_s": None,
        }
        return self._finish(sha, meta, target, filename)

    def _finish(self, sha: str, meta: dict, target: Path, filename: str) -> StoredMedia:
        new = not self._sidecar(sha).exists()
        if new:
            _write_atomic(self._sidecar(sha), json.dumps(meta).encode())
        else:
            os.utime(target)  # sent again: a fresh file for the orphan sweep's grace period
        return StoredMedia(sha256=sha, path=target, filename=filename, new=new, **meta)

    def describe(self, sha256: str) -> StoredMedia | None:
        meta = self._meta(sha256)
        if meta is None or not self.blob_path(sha256).exists():
            return None
        fields = {k: meta.get(k) for k in ("kind", "mime", "size_bytes", "width", "height")}
        return StoredMedia(
            sha256=sha256,
            path=self.blob_path(sha256),
            filename="",
            duration_s=meta.get("duration_s"),
            **fields,
        )

    def _require(self, sha256: str) -> StoredMedia:
        stored = self.describe(sha256)
        if stored is None:
            raise MediaError("media.missing")
        return stored

    # -- derived forms, cached ------------------------------------------------------------------
    def normalized_image(
        self, sha256: str, detail: str, filename: str = "image"
    ) -> NormalizedImage:
        """The image as sent at `detail`, cached; `filename` only names it in error messages."""
        info_path = self.cache / f"{sha256}-{detail}.json"
        try:
            info = json.loads(info_path.read_text())
            mime = info.get("mime", "image/jpeg")
            shape = NormalizedImage(b"", info["width"], info["height"], False, mime)
            data = self._normalized_file(sha256, detail, shape.extension).read_bytes()
            animated = bool(info.get("animated", info.get("notes")))  # "notes": older caches
            return NormalizedImage(data, info["width"], info["height"], animated, mime)
        except (OSError, ValueError, KeyError):
            pass
        stored = self._require(sha256)
        image = _normalize_image(stored.path.read_bytes(), detail, filename)  # type: ignore[arg-type]
        self._remember_normalized(sha256, detail, image)
        return image

    def _remember_normalized(self, sha256: str, detail: str, image: NormalizedImage) -> None:
        _write_atomic(self._normalized_file(sha256, detail, image.extension), image.data)
        info = {
            "width": image.width,
            "height": image.height,
            "animated": image.animated,
            "mime": image.mime,
        }
        _write_atomic(self.cache / f"{sha256}-{detail}.json", json.dumps(info).encode())

    def video_frames(
        self,
        sha256: str,
        *,
        interval_s: float,
        max_frames: int,
        detail: str,
        filename: str = "video",
    ) -> list[VideoFrame]:
        folder = self.cache / f"{sha256}-frames-{interval_s:g}-{max_frames}-{detail}"
        index = folder / "index.json"
        if index.exists():
            entries = json.loads(index.read_text())
            return [
                VideoFrame(
                    e["t"],
                    NormalizedImage((folder / e["file"]).read_bytes(), e["width"], e["height"]),
                )
                for e in entries
            ]
        stored = self._require(sha256)
        frames = sample_frames(
            stored.path,
            interval_s=interval_s,
            max_frames=max_frames,
            detail=detail,  # type: ignore[arg-type]
            filename=filename,
        )
        entries = []
        for number, frame in enumerate(frames):
            name = f"{number:03d}.jpg"
            _write_atomic(folder / name, frame.image.data)
            entries.append(
                {
                    "t": frame.timestamp_s,
                    "file": name,
                    "width": frame.image.width,
                    "height": frame.image.height,
                }
            )
        _write_atomic(index, json.dumps(entries).encode())
        return frames

    def video_segments(
        self, sha256: str, *, max_seconds: float, max_bytes: int, filename: str = "video"
    ) -> list[Path]:
        folder = self.cache / f"{sha256}-parts-{max_seconds:g}-{max_bytes}"
        index = folder / "index.json"
        if index.exists():
            return [folder / name for name in json.loads(index.read_text())]
        stored = self._require(sha256)
        work = Path(tempfile.mkdtemp(dir=self.cache, prefix=".parts-"))
        try:
            parts = split_video(
                stored.path,
                max_seconds=max_seconds,
                max_bytes=max_bytes,
                out_dir=work,
                filename=filename,
            )
            if parts == [stored.path]:
                return parts
            _write_atomic(work / "index.json", json.dumps([p.name for p in parts]).encode())
            try:
                os.replace(work, folder)
            except OSError:  # another worker finished first: use theirs
                shutil.rmtree(work, ignore_errors=True)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        return [folder / name for name in json.loads(index.read_text())]

    # -- housekeeping (app/janitor.py) ------------------------------------------------------------
    def stored_hashes(self) -> list[str]:
        return [
            path.name[:64]
            for path in self.blobs.glob("??/*")
            if path.suffix != ".json" and not path.name.startswith(".")
        ]

    def last_used(self, sha256: str) -> float:
        """When the file was last stored or sent again (0 if it is not here)."""
        try:
            return self.blob_path(sha256).stat().st_mtime
        except OSError:
            return 0.0

    def drop_derived_without_blob(self, older_than: float) -> None:
        """Cached forms left behind by a blob that is gone (e.g. deleted by hand), and temporary
        files a crash left mid-write (only after an hour: a live write is still filling them)."""
        for derived in self.cache.iterdir():
            sha = derived.name[:64]
            partial = derived.name.startswith(".tmp-")
            cutoff = min(older_than, time.time() - PARTIAL_WRITE_GRACE_S) if partial else older_than
            try:
                if derived.stat().st_mtime >= cutoff or (
                    not partial and self.blob_path(sha).exists()
                ):
                    continue
            except OSError:
                continue
            if derived.is_dir():
                shutil.rmtree(derived, ignore_errors=True)
            else:
                derived.unlink(missing_ok=True)

    def delete(self, sha256: str) -> None:
        blob = self.blob_path(sha256)
        blob.unlink(missing_ok=True)
        self._sidecar(sha256).unlink(missing_ok=True)
        for derived in self.cache.glob(f"{sha256}-*"):
            if derived.is_dir():
                shutil.rmtree(derived, ignore_errors=True)
            else:
                derived.unlink(missing_ok=True)
