"""Validate and normalize images: the same input gives the same JPEG bytes, every time.

Following StepFun's guidance: low detail scales the longest side to 728 px, high detail to a
multiple of 504 px (at most 2016); transparency is flattened onto white (the model sees
transparent areas as black otherwise); EXIF orientation is applied and all metadata dropped.

A JPEG, PNG or WebP that is already within the detail's largest size and needs no turning or
flattening is also offered as it is, only its metadata removed (`as_sent_original`): whichever
of the two is smaller is sent, so nothing goes up larger than the file the person gave.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from app.media.errors import MediaError

pillow_heif.register_heif_opener()

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF")
# Pillow warns about decompression bombs above this many pixels; we refuse them (a 64 MP
# phone photo passes) and check the declared size ourselves too.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
LOW_LONGEST_SIDE = 728
HIGH_STEP = 504
HIGH_MAX_SIDE = 2016
JPEG_QUALITY = 85

Detail = Literal["low", "high"]


@dataclass(frozen=True)
class NormalizedImage:
    data: bytes
    width: int
    height: int
    animated: bool = False  # only the first frame of an animation was kept
    mime: str = "image/jpeg"

    @property
    def extension(self) -> str:
        return {"image/png": ".png", "image/webp": ".webp"}.get(self.mime, ".jpg")


def _open(data: bytes, filename: str) -> Image.Image:
    if not data:
        raise MediaError("media.empty", name=filename)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(
            "media.too_many_pixels", name=filename, limit=MAX_PIXELS // 1_000_000
        ) from None
    except UnidentifiedImageError:
        raise MediaError("media.not_an_image", name=filename) from None
    except (OSError, ValueError, SyntaxError):
        raise MediaError("media.damaged", name=filename) from None
    width, height = image.size
    if width * height > MAX_PIXELS or width <= 0 or height <= 0:
        raise MediaError(
            "media.too_many_pixels_declared",
            name=filename,
            width=width,
            height=height,
            limit=MAX_PIXELS // 1_000_000,
        )
    return image


def image_size(data: bytes, filename: str) -> tuple[int, int]:
    """Width and height from the header (the limits checked), without decoding the pixels."""
    return _open(data, filename).size


def validate_image(data: bytes, filename: str) -> tuple[int, int, str]:
    """(width, height, format) after a header check and a full decode of the pixel data."""
    image = _open(data, filename)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.draft("RGB", (256, 256))  # JPEG: decode at reduced scale, still reads it all
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning):
        raise MediaError("media.incomplete", name=filename) from None
    return image.size[0], image.size[1], image.format or "unknown"


def target_size(width: int, height: int, detail: Detail) -> tuple[int, int]:
    longest = max(width, height)
    if detail == "low":
        goal = min(longest, LOW_LONGEST_SIDE)
    else:
        capped = min(longest, HIGH_MAX_SIDE)
        goal = max(HIGH_STEP, (capped // HIGH_STEP) * HIGH_STEP) if capped >= HIGH_STEP else capped
    scale = goal / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def normalize_pil(image: Image.Image, detail: Detail, animated: bool = False) -> NormalizedImage:
    image = _flatten(image)
    size = target_size(image.width, image.height, detail)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False, subsampling=2)
    return NormalizedImage(out.getvalue(), image.width, image.height, animated)


# Formats every backend takes as they are, and the metadata chunks/segments that can go.
SENDABLE = {"JPEG": "image/jpeg", "PNG": "image/png"}
PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


def strip_jpeg_metadata(data: bytes) -> bytes | None:
    """The JPEG without EXIF/XMP/IPTC/comments (APP1, APP3–APP13, APP15, COM); the ICC profile
    (APP2) and Adobe colour info (APP14) stay. None if the file does not parse as expected."""
    if not data.startswith(b"\xff\xd8"):
        return None
    out, i = bytearray(b"\xff\xd8"), 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is the image itself
            return bytes(out + data[i:])
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return None
        segment = data[i : i + 2 + length]
        metadata = (0xE1 <= marker <= 0xEF and marker not in (0xE2, 0xEE)) or marker == 0xFE
        if not metadata:
            out += segment
        i += 2 + length
    return None


def strip_png_metadata(data: bytes) -> bytes | None:
    """The PNG without text, EXIF and time chunks. None if it does not parse as expected."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    out, i = bytearray(data[:8]), 8
    while i + 12 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            return None
        if kind not in PNG_METADATA:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            return bytes(out)
    return None


def as_sent_original(
    data: bytes, image: Image.Image, detail: Detail, animated: bool
) -> NormalizedImage | None:
    """The original, metadata removed, if it can go as it is at this detail: a format every
    backend reads, within the detail's largest size, upright, opaque, plain RGB or grey."""
    mime = SENDABLE.get(image.format or "")
    largest = LOW_LONGEST_SIDE if detail == "low" else HIGH_MAX_SIDE
    orientation = image.getexif().get(0x0112, 1)
    if (
        mime is None
        or animated
        or max(image.size) > largest
        or orientation not in (0, 1)
        or image.mode not in ("RGB", "L")
        or "transparency" in image.info
    ):
        return None
    stripped = strip_jpeg_metadata(data) if mime == "image/jpeg" else strip_png_metadata(data)
    if stripped is None:
        return None
    return NormalizedImage(stripped, image.width, image.height, False, mime)


def normalize_image(data: bytes, detail: Detail, filename: str = "image") -> NormalizedImage:
    image = _open(data, filename)
    animated = getattr(image, "is_animated", False) and getattr(image, "n_frames", 1) > 1
    original = as_sent_original(data, image, detail, animated)
    if animated:
        image.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if image.format == "JPEG":
                # Decode a 24 MP photo at a reduced scale: far faster, same result after resize.
                goal = max(target_size(image.width, image.height, detail))
                image.draft("RGB", (goal, goal))
            image.load()
            image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning):
        raise MediaError("media.incomplete", name=filename) from None
    encoded = normalize_pil(image, detail, animated)
    return original if original is not None and len(original.data) <= len(encoded.data) else encoded
