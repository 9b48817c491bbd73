"""Real images and videos made on the spot by the tests (Pillow, PyAV); nothing committed."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def make_png(path: Path, color: str = "red", size: tuple[int, int] = (64, 48)) -> Path:
    Image.new("RGB", size, color).save(path, "PNG")
    return path


def make_photo(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """A photo-like picture: gradients plus noise, so it compresses like a real one."""
    width, height = size
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    base = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1)
    noise = rng.normal(0, 12, (height, width, 3)).astype(np.float32)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def make_jpeg(
    path: Path,
    size: tuple[int, int] = (640, 480),
    orientation: int | None = None,
    gps: bool = False,
) -> Path:
    image = make_photo(size)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}
    image.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def make_transparent_png(path: Path) -> Path:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # fully transparent black
    for x in range(40, 60):
        for y in range(40, 60):
            image.putpixel((x, y), (0, 0, 255, 255))
    image.save(path, "PNG")
    return path


def make_animated_gif(path: Path) -> Path:
    frames = [Image.new("RGB", (50, 50), c) for c in ("red", "green", "blue")]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def make_heic(path: Path) -> Path:
    import pillow_heif

    pillow_heif.register_heif_opener()
    make_photo((320, 240)).save(path, "HEIF", quality=80)
    return path


def make_decompression_bomb(path: Path, width: int = 50_000, height: int = 50_000) -> Path:
    """A tiny PNG whose header declares width × height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def make_truncated_jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    make_photo((400, 300)).save(buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def make_video(
    path: Path,
    seconds: float = 10,
    fps: int = 5,
    size: tuple[int, int] = (160, 120),
    container: str = "mp4",
    codec: str = "libx264",
    gop: int | None = None,
) -> Path:
    """A real encoded video whose colour changes over time (frame n is distinguishable)."""
    width, height = size
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        if gop:
            stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        total = int(seconds * fps)
        for n in range(total):
            shade = int(255 * n / max(total - 1, 1))
            array = np.full((height, width, 3), (shade, 255 - shade, 128), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def make_mp4(path: Path, seconds: float = 10, **kwargs) -> Path:
    return make_video(path, seconds=seconds, **kwargs)
