"""Nothing one person does blocks the event loop for everyone else: while one answer streams,
another person's slow disk write or large HEIC photo does not delay it by more than a few ms."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest

from app.engine import Attachment
from app.services import Services
from app.ui import render
from tests.conftest import make_settings
from tests.fake_upstream import Reply
from tests.media_factory import make_photo

pytestmark = pytest.mark.slow
# Over the quiet run's worst gap. A loop blocked by the work shows a gap as long as the work
# itself (hundreds of ms); on a busy machine threads compete for the CPU and the GIL, so the
# allowance grows to a quarter of the work's own duration, still far below a blocked loop.
# The figure itself is measured by bench/bench_loop.py.
ALLOWED_EXTRA_MS = 25


@pytest.fixture
def services(upstream, tmp_path, loop):
    services = Services.build(make_settings(upstream, tmp_path / "data"))
    loop.run_until_complete(services.monitor.check_once())
    yield services
    loop.run_until_complete(services.backend.aclose())


async def stream_gaps(services: Services) -> list[float]:
    """Milliseconds between the events of one streamed answer (about 300 events, 5 ms apart)."""
    turn = await services.engine.prepare_turn(
        owner="anon:reader", conversation_id=None, text="go", model_id="Step3-VL-10B", effort=None
    )
    gaps, last = [], time.perf_counter()
    async for _ in services.engine.stream_answer(turn):
        now = time.perf_counter()
        gaps.append((now - last) * 1000)
        last = now
    return gaps[1:]


async def heic_photo(services: Services, path, took: list[float]) -> None:
    """Another person sends a large HEIC photo and the page shows it, as its handler does."""
    await asyncio.sleep(0.3)
    started = time.perf_counter()
    turn = await services.engine.prepare_turn(
        owner="anon:photographer",
        conversation_id=None,
        text="what is this?",
        attachments=[Attachment(path, "IMG_0001.HEIC")],
        model_id="Step3-VL-10B",
        effort=None,
    )
    render.render_question(turn.user_message, services.library)
    took.append((time.perf_counter() - started) * 1000)


async def slow_disk(services: Services) -> None:
    """The database is busy for 600 ms (a slow disk, a backup) just as answers are saved."""
    await asyncio.sleep(0.8)

    def hold_the_write_lock():
        conn = sqlite3.connect(services.settings.db_path, timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(0.6)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    await asyncio.sleep(0.05)
    await services.engine.prepare_turn(
        owner="anon:writer",
        conversation_id=None,
        text="saved slowly",
        model_id="Step3-VL-10B",
        effort=None,
    )
    await asyncio.to_thread(holder.join)


def test_another_persons_heavy_work_does_not_delay_a_stream(services, upstream, tmp_path, loop):
    # 4096×4096 (16.8 MP): the largest single-image HEIC this machine's x265 and libde265
    # round-trip; a phone's 24 MP HEIC is a grid of tiles, decoded tile by tile.
    heic = tmp_path / "IMG_0001.HEIC"
    make_photo((4096, 4096)).save(heic, "HEIF", quality=60, enc_params={"preset": "ultrafast"})

    def run(make_other=None) -> float:
        upstream.script(Reply(content="x" * 600, chunk_size=2, delay_s=0.005))

        async def both():
            work = [stream_gaps(services)] + ([make_other()] if make_other else [])
            return (await asyncio.gather(*work))[0]

        return max(loop.run_until_complete(both()))

    def best_of_two(make_other=None) -> float:
        return min(run(make_other), run(make_other))

    photo_ms: list[float] = []
    quiet = best_of_two()
    with_photo = best_of_two(lambda: heic_photo(services, heic, photo_ms))
    with_slow_disk = best_of_two(lambda: slow_disk(services))
    print(
        f"\nworst gap: quiet {quiet:.1f} ms, HEIC {with_photo:.1f} ms (its work took "
        f"{min(photo_ms):.0f} ms), slow disk {with_slow_disk:.1f} ms (600 ms held)"
    )
    assert with_photo < quiet + max(ALLOWED_EXTRA_MS, min(photo_ms) / 4)
    assert with_slow_disk < quiet + max(ALLOWED_EXTRA_MS, 600 / 4)
