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
ALLOWED_EXTRA_MS = 25  # over the quiet run's worst gap; a blocked loop shows hundreds


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


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


async def heic_photo(services: Services, path) -> None:
    """Another person sends a large HEIC photo and the page shows it, as its handler does."""
    await asyncio.sleep(0.3)
    turn = await services.engine.prepare_turn(
        owner="anon:photographer",
        conversation_id=None,
        text="what is this?",
        attachments=[Attachment(path, "IMG_0001.HEIC")],
        model_id="Step3-VL-10B",
        effort=None,
    )
    render.render_question(turn.user_message, services.library)


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

    def run(other=None) -> float:
        upstream.script(Reply(content="x" * 600, chunk_size=2, delay_s=0.005))

        async def both():
            work = [stream_gaps(services)] + ([other] if other is not None else [])
            return (await asyncio.gather(*work))[0]

        return max(loop.run_until_complete(both()))

    quiet = run()
    with_photo = run(heic_photo(services, heic))
    with_slow_disk = run(slow_disk(services))
    print(
        f"\nworst gap: quiet {quiet:.1f} ms, HEIC {with_photo:.1f} ms, slow disk {with_slow_disk:.1f} ms"
    )
    assert with_photo < quiet + ALLOWED_EXTRA_MS
    assert with_slow_disk < quiet + ALLOWED_EXTRA_MS
