"""Identify a file by its first bytes, never by its name."""

from __future__ import annotations

from typing import Literal

from app.media.errors import MediaError

MediaKind = Literal["image", "video"]

HEAD_BYTES = 64

_HEIF_BRANDS = {
    b"heic",
    b"heix",
    b"hevc",
    b"hevx",
    b"heim",
    b"heis",
    b"hevm",
    b"hevs",
    b"mif1",
    b"msf1",
    b"avif",
}
_QUICKTIME_BRANDS = {b"qt  "}


def detect(head: bytes, filename: str) -> tuple[MediaKind, str]:
    """(kind, mime) of a file from its first bytes; MediaError for anything else."""
    if not head:
        raise MediaError("media.empty", name=filename)
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head.startswith(b"BM"):
        return "image", "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image", "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "image", "image/avif" if brand == b"avif" else "image/heic"
        if brand in _QUICKTIME_BRANDS:
            return "video", "video/quicktime"
        return "video", "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ("video", "video/webm") if b"webm" in head else ("video", "video/x-matroska")
    raise MediaError("media.unsupported", name=filename)


EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
    "image/heic": ".heic",
    "image/avif": ".avif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
}
