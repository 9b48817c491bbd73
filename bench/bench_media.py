"""Media pipeline figures: normalizing a 24 MP photo, and upstream bytes per turn.

Run: .venv/bin/python bench/bench_media.py
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # first: chooses the checkout whose app is measured

# isort: split

from app.config import load_settings
from app.engine import Attachment
from app.media import MediaLibrary, normalize_image
from app.services import Services
from tests.fake_upstream import FakeUpstream, Reply
from tests.media_factory import make_photo


def median_ms(fn, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def screenshots(tmp: Path) -> list[Path]:
    """The three 3000×2000 JPEGs the 10-turn conversation attaches on its first turn."""
    paths = []
    for n in range(3):
        path = tmp / f"shot-{n}.jpg"
        if not path.exists():
            make_photo((3000, 2000), seed=n).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def fitting_jpeg() -> bytes:
    """A 1600×1200 JPEG that already fits high detail (longest side ≤ 2016). Saved at quality
    70 (about 250 KB), so re-encoding it at quality 85 would make it larger (issue 12's case)."""
    buffer = io.BytesIO()
    make_photo((1600, 1200)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def photo_figures(tmp: Path) -> None:
    buffer = io.BytesIO()
    make_photo((6000, 4000)).save(buffer, "JPEG", quality=92)
    original = buffer.getvalue()
    print(f"24 MP JPEG (6000×4000), {len(original) / 1e6:.1f} MB")
    print(f"{'detail':8} {'median ms':>10} {'output':>12} {'size ratio':>11}")
    for detail in ("low", "high"):
        out = normalize_image(original, detail)
        ms = median_ms(lambda d=detail: normalize_image(original, d))
        print(
            f"{detail:8} {ms:10.0f} {f'{out.width}×{out.height}':>12} "
            f"{len(out.data) / len(original):10.1%}  ({len(out.data) / 1e3:.0f} kB)"
        )
    library = MediaLibrary(tmp / "media")
    (tmp / "photo.jpg").write_bytes(original)
    stored = library.ingest_file(tmp / "photo.jpg", "photo.jpg")
    library.normalized_image(stored.sha256, "low")
    cached = median_ms(lambda: library.normalized_image(stored.sha256, "low"), repeat=20)
    print(f"cached lookup of the normalized image: {cached:.2f} ms")


async def conversation_bytes(
    fake: FakeUpstream, tmp: Path, files_api: bool
) -> tuple[list[int], int, int]:
    """Bytes of each turn's chat request, and of the Files API uploads (bytes, count)."""
    fake.reset()
    env = {
        "WEBUI_DATA_DIR": str(tmp / f"data-{files_api}"),
        "STEP_API_KEY": "bench",
        "STEP_BASE_URL": fake.base_url,
        "LOCAL_BASE_URL": fake.base_url,
        "LOCAL_MODELS": "Step3-VL-10B",
    }
    services = Services.build(load_settings([], environ=env, env_file=Path("/none")))
    # The media resolver lives in the turn core (before issue 12: in the engine).
    owner_of_resolver = getattr(services, "core", None) or services.engine
    owner_of_resolver.resolver.files_api_enabled = files_api
    await services.monitor.check_once()
    pictures = [Attachment(path, path.name) for path in screenshots(tmp)]
    conversation = None
    for turn in range(10):
        fake.script(Reply(content="An answer of moderate length. " * 5))
        prepared = await services.engine.prepare_turn(
            owner="anon:bench",
            conversation_id=conversation,
            text=f"Question {turn} about the screenshots",
            attachments=pictures if turn == 0 else [],
            model_id="step-3.7-flash",
            effort="low",
        )
        conversation = prepared.conversation.id
        async for _ in services.engine.stream_answer(prepared):
            pass
    await services.backend.aclose()
    sizes = [len(json.dumps(body).encode()) for body in fake.chat_requests()]
    upload_bytes = sum(u.size for u in fake.uploads)
    return sizes, upload_bytes, len(fake.uploads)


def figures(quick: bool = False) -> dict[str, dict]:
    repeat = 2 if quick else 5
    results = {}
    original = fitting_jpeg()
    sent = normalize_image(original, "high")
    results["media_fitting_jpeg"] = harness.figure(
        "bytes sent for a 1600×1200 JPEG at high detail",
        len(sent.data) / 1000,
        unit="kB",
        reference=len(original) / 1000,
        reference_label="the original file",
        target="≤ the original (#12)",
        limit=len(original) / 1000,
    )
    buffer = io.BytesIO()
    make_photo((6000, 4000)).save(buffer, "JPEG", quality=92)
    photo = buffer.getvalue()
    results["media_normalize_24mp"] = harness.figure(
        "normalize a 24 MP JPEG, high detail",
        median_ms(lambda: normalize_image(photo, "high"), repeat=repeat),
        reference=median_ms(lambda: normalize_image(photo, "low"), repeat=repeat),
        reference_label="low detail",
        note=f"{len(photo) / 1e6:.1f} MB in",
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        originals = sum(path.stat().st_size for path in screenshots(tmp))
        with FakeUpstream() as fake:
            try:
                inline, _, _ = asyncio.run(conversation_bytes(fake, tmp, files_api=False))
                stepfile, uploaded, uploads = asyncio.run(
                    conversation_bytes(fake, tmp, files_api=True)
                )
            except (AttributeError, TypeError) as exc:  # an engine API this checkout lacks
                reason = f"{type(exc).__name__}: {exc}"
                results["media_turn1_bytes"] = harness.unavailable("turn 1 bytes", reason)
                return results
    results["media_turn1_bytes"] = harness.figure(
        "upstream bytes, turn 1 with 3 photos (data URLs, low detail)",
        inline[0] / 1000,
        unit="kB",
        reference=originals / 1000,
        reference_label="the 3 original files",
    )
    results["media_files_api_total"] = harness.figure(
        "upstream bytes, 10 turns via Files API (chat + uploads)",
        (sum(stepfile) + uploaded) / 1000,
        unit="kB",
        reference=sum(inline) / 1000,
        reference_label="10 turns with data URLs",
        note=f"{uploads} uploads",
    )
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        photo_figures(tmp)
        with FakeUpstream() as fake:
            inline, _, _ = asyncio.run(conversation_bytes(fake, tmp, files_api=False))
            stepfile, uploaded, uploads = asyncio.run(conversation_bytes(fake, tmp, files_api=True))
        print(
            "\n10-turn conversation, 3 images (3000×2000) attached on turn 1, "
            "step-3.7-flash, low detail"
        )
        print(f"{'turn':>4} {'data URLs (bytes)':>18} {'Files API (bytes)':>18}")
        for n, (a, b) in enumerate(zip(inline, stepfile, strict=True), start=1):
            print(f"{n:>4} {a:>18,} {b:>18,}")
        print(
            f"total chat bytes: data URLs {sum(inline):,}; Files API {sum(stepfile):,} "
            f"+ {uploaded:,} uploaded once in {uploads} uploads "
            f"({(sum(stepfile) + uploaded) / sum(inline):.1%} of the data-URL total)"
        )


if __name__ == "__main__":
    main()
