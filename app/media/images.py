"""Validate and normalize images: the same input gives the same JPEG bytes, every time.

Following StepFun's guidance: low detail scales the longest side to 728 px, high detail to a
multiple of 504 px (at most 2016); transparency is flattened onto white (the model sees
transparent areas as black otherwise); EXIF orientation is applied and all metadata dropped.
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
    data: bytes  # JPEG
    width: int
    height: int
    animated: bool = False  # only the first frame of an animation was kept


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


def normalize_image(data: bytes, detail: Detail, filename: str = "image") -> NormalizedImage:
    image = _open(data, filename)
    animated = getattr(image, "is_animated", False) and getattr(image, "n_frames", 1) > 1
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
    return normalize_pil(image, detail, animated)
