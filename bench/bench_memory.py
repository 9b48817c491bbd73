"""The server's resident memory after 100 large photos, beside its RSS before them.

Run: .venv/bin/python bench/bench_memory.py [photos=100]
Each photo (3000×2000 JPEG, different each time) is sent through /api/v1 as a data URL, so the
server decodes, normalizes and stores it like any attachment; RSS is read from /proc after the
answers and again after a 2 s pause (what the process keeps, not a transient peak).
"""

from __future__ import annotations

import base64
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # first: chooses the checkout whose app is measured

# isort: split

import httpx

from tests.fake_upstream import FakeUpstream
from tests.media_factory import make_photo

TARGET_MB = 20  # issue 12: the RSS added by 100 images under 20 MB


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def photo_body(seed: int) -> dict:
    buffer = io.BytesIO()
    make_photo((3000, 2000), seed=seed).save(buffer, "JPEG", quality=90)
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    content = [
        {"type": "text", "text": f"photo {seed}: what is in it?"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    return {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": content}]}


def measure(photos: int) -> tuple[float, float]:
    """(RSS MB after a warm-up photo, RSS MB after `photos` more)."""
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        server = harness.start_server(
            fake, Path(tmp) / "data", Path(tmp), WEBUI_LOG_LEVEL="WARNING"
        )
        url = f"{server.url}/api/v1/chat/completions"
        try:
            with httpx.Client(timeout=120) as client:
                client.post(url, json=photo_body(10_000)).raise_for_status()  # warm up
                time.sleep(2)
                before = rss_mb(server.process.pid)
                for n in range(photos):
                    client.post(url, json=photo_body(n)).raise_for_status()
            time.sleep(2)
            after = rss_mb(server.process.pid)
        finally:
            server.stop()
    return before, after


def figures(quick: bool = False, photos: int | None = None) -> dict[str, dict]:
    photos = photos or (5 if quick else 100)
    before, after = measure(photos)
    return {
        "rss_added": harness.figure(
            f"server RSS added by {photos} photos (3000×2000) through /api/v1",
            after - before,
            unit="MB",
            reference=before,
            reference_label="RSS after one warm-up photo",
            target=f"< {TARGET_MB} MB for 100 (#12)" if photos == 100 else "",
            limit=TARGET_MB if photos == 100 else None,
        )
    }


def main() -> None:
    photos = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    harness.print_figures(figures(photos=photos))


if __name__ == "__main__":
    main()
