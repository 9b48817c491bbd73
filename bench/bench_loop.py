"""Does one person's heavy work delay another person's stream? The worst gap between the events
of one streamed answer (300 events, 5 ms apart) while someone else sends a large HEIC photo (its
question rendered as the page does) or saves while the database is held for 600 ms (a slow disk),
beside the worst gap of the same stream with nothing else going on, in the same run.

Run: .venv/bin/python bench/bench_loop.py [repeats=5]
The same scenario as tests/integration/test_event_loop.py (which asserts a generous bound);
here the figures, each the median over `repeats` runs of the worst gap.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # first: chooses the checkout whose app is measured

# isort: split

from app.engine import Attachment
from app.services import Services
from app.ui import render
from tests.conftest import make_settings
from tests.fake_upstream import FakeUpstream, Reply
from tests.media_factory import make_photo

EXTRA_MS = 10  # issue 12: "not by more than a few ms"; read here as ≤ 10 ms over a quiet run
MODEL = "Step3-VL-10B"


def render_question(message, library) -> None:
    """Show the question as the page does (before issue 12: render_user)."""
    if hasattr(render, "render_question"):
        render.render_question(message, library)
    else:
        render.render_user(message, library)


async def stream_gaps(services: Services) -> list[float]:
    """Milliseconds between the events of one streamed answer."""
    turn = await services.engine.prepare_turn(
        owner="anon:reader", conversation_id=None, text="go", model_id=MODEL, effort=None
    )
    gaps, last = [], time.perf_counter()
    async for _ in services.engine.stream_answer(turn):
        now = time.perf_counter()
        gaps.append((now - last) * 1000)
        last = now
    return gaps[1:]


async def heic_photo(services: Services, path: Path) -> None:
    """Another person sends a large HEIC photo and the page shows it, as its handler does."""
    await asyncio.sleep(0.3)
    turn = await services.engine.prepare_turn(
        owner="anon:photographer",
        conversation_id=None,
        text="what is this?",
        attachments=[Attachment(path, "IMG_0001.HEIC")],
        model_id=MODEL,
        effort=None,
    )
    render_question(turn.user_message, services.library)


async def slow_disk(services: Services) -> None:
    """The database is busy for 600 ms (a slow disk, a backup) just as a question is saved."""
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
        owner="anon:writer", conversation_id=None, text="saved slowly", model_id=MODEL, effort=None
    )
    await asyncio.to_thread(holder.join)


def worst_gaps(repeats: int, side: int = 4096) -> dict[str, float]:
    """Median over `repeats` of the worst gap: quiet, with the HEIC, with the slow disk."""
    with tempfile.TemporaryDirectory() as tmp_name, FakeUpstream() as fake:
        tmp = Path(tmp_name)
        # 4096×4096 (16.8 MP): the largest single-image HEIC this machine's x265 and libde265
        # round-trip; a phone's 24 MP HEIC is a grid of tiles, decoded tile by tile.
        heic = tmp / "IMG_0001.HEIC"
        make_photo((side, side)).save(heic, "HEIF", quality=60, enc_params={"preset": "ultrafast"})
        loop = asyncio.new_event_loop()
        services = Services.build(make_settings(fake, tmp / "data"))
        loop.run_until_complete(services.monitor.check_once())

        def run(other=None) -> float:
            fake.script(Reply(content="x" * 600, chunk_size=2, delay_s=0.005))

            async def both():
                work = [stream_gaps(services)] + ([other] if other is not None else [])
                return (await asyncio.gather(*work))[0]

            return max(loop.run_until_complete(both()))

        samples: dict[str, list[float]] = {"quiet": [], "heic": [], "slow_disk": []}
        try:
            run()  # warm up (first connection, first conversation)
            for _ in range(repeats):
                samples["quiet"].append(run())
                samples["heic"].append(run(heic_photo(services, heic)))
                samples["slow_disk"].append(run(slow_disk(services)))
        finally:
            loop.run_until_complete(services.backend.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def figures(quick: bool = False, repeats: int | None = None) -> dict[str, dict]:
    repeats = repeats or (1 if quick else 5)
    side = 2048 if quick else 4096  # quick: a smaller HEIC, encoded for the bench in 1/4 the time
    gaps = worst_gaps(repeats, side)
    target = {"target": f"≤ {EXTRA_MS} ms (#12: a few ms)", "limit": EXTRA_MS}
    common = {
        "reference": gaps["quiet"],
        "reference_label": "worst gap, nothing else running",
        "note": f"median of {repeats} runs",
    }
    return {
        "loop_heic": harness.figure(
            f"another user's stream delayed by a {side * side / 1e6:.1f} MP HEIC sent and shown",
            gaps["heic"] - gaps["quiet"],
            **common,
            **target,
        ),
        "loop_slow_disk": harness.figure(
            "another user's stream delayed by a 600 ms slow disk write",
            gaps["slow_disk"] - gaps["quiet"],
            **common,
            **target,
        ),
    }


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    harness.print_figures(figures(repeats=repeats))


if __name__ == "__main__":
    main()
