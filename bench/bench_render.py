"""Cost of one chat re-render (every streaming update does one) with a large video in the history:
Gradio's default handling (hash and copy every file into its cache) versus serving the media
library in place (`app.gradio_adapter.serve_in_place`), side by side in one run.

Run: .venv/bin/python bench/bench_render.py [video_mb=150]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # first: chooses the checkout whose app is measured

# isort: split

import gradio as gr
from gradio import processing_utils

from app.media import MediaLibrary
from app.store import MediaRef, Message
from app.ui import render

RENDERS = 7


def serve_in_place(folder: Path) -> None:
    """The app's switch to serving the media library in place (before issue 12: in app.ui)."""
    try:
        from app.gradio_adapter import serve_in_place as switch
    except ImportError:
        from app.ui import serve_media_in_place as switch
    switch(folder)


def render_question(question: Message, library: MediaLibrary) -> list:
    """The chat rows of a question (before issue 12: one row from render_user)."""
    if hasattr(render, "render_question"):
        return render.render_question(question, library)
    return [render.render_user(question, library)]


def noisy_video(path: Path, megabytes: int) -> Path:
    """Noise does not compress, so the file reaches the wanted size in few frames."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.time_base = Fraction(1, 10)
        stream.options = {"qscale": "1"}
        n = written = 0
        while written < megabytes * 1024 * 1024:
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), format="rgb24"
            )
            frame.pts = n
            n += 1
            for packet in stream.encode(frame):
                written += packet.size
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


async def render_ms(chatbot: gr.Chatbot, history: list) -> float:
    """What Gradio does to the chat's value on each update before sending it."""
    started = time.perf_counter()
    data = chatbot.postprocess(history)
    await processing_utils.async_move_files_to_cache(data, chatbot, postprocess=True)
    return (time.perf_counter() - started) * 1000


async def measure(chatbot: gr.Chatbot, history: list) -> float:
    await render_ms(chatbot, history)  # the first render copies; later ones are the steady state
    return statistics.median([await render_ms(chatbot, history) for _ in range(RENDERS)])


def measure_both(megabytes: int) -> tuple[float, float, float]:
    """(Gradio default ms, in place ms, video MB), one render's median each."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GRADIO_TEMP_DIR"] = str(Path(tmp) / "gradio")
        os.environ["GRADIO_ALLOWED_PATHS"] = str(Path(tmp) / "media")
        library = MediaLibrary(Path(tmp) / "media")
        video = noisy_video(Path(tmp) / "recording.mp4", megabytes)
        stored = library.ingest_file(video, "recording.mp4")
        question = Message(
            1, "c", "user", "What happens here?", media=(MediaRef.from_stored(stored),)
        )
        history = [*render_question(question, library), {"role": "assistant", "content": "…"}]
        with gr.Blocks():
            chatbot = gr.Chatbot()
        default = asyncio.run(measure(chatbot, history))
        serve_in_place(library.root)
        in_place = asyncio.run(measure(chatbot, history))
    return default, in_place, stored.size_bytes / 1048576


def figures(quick: bool = False, megabytes: int | None = None) -> dict[str, dict]:
    megabytes = megabytes or (20 if quick else 150)
    default, in_place, size_mb = measure_both(megabytes)
    return {
        "render_in_place": harness.figure(
            f"chat re-render with a {size_mb:.0f} MB video in the history",
            in_place,
            reference=default,
            reference_label="Gradio default (hash + copy)",
            note=f"median of {RENDERS} renders",
        )
    }


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    default, in_place, size_mb = measure_both(megabytes)
    print(f"history with a {size_mb:.0f} MB video; median of {RENDERS} renders")
    print(f"Gradio default (hash + copy into its cache): {default:8.1f} ms per render")
    print(f"media library served in place:               {in_place:8.1f} ms per render")
    print(f"ratio: {default / max(in_place, 0.001):.0f}x")


if __name__ == "__main__":
    main()
