"""32 API chats at once versus one at a time, through /api/v1 against the fake upstream.

Run: .venv/bin/python bench/bench_concurrency.py [clients=32]
Every answer streams 40 chunks 10 ms apart (about 0.4 s), so the chats overlap the whole time.
The figures are the median time to first token and to the last token of the concurrent chats,
each beside the same measured one chat at a time in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # first: chooses the checkout whose app is measured

# isort: split

import httpx

from tests.fake_upstream import FakeUpstream, Reply

BODY = {"model": "Step3-VL-10B", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


async def one_chat(client: httpx.AsyncClient, url: str) -> tuple[float, float]:
    """(first token ms, last token ms) of one streamed chat."""
    started = time.perf_counter()
    first = last = None
    async with client.stream("POST", url, json=BODY) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: ") and '"content"' in line:
                last = (time.perf_counter() - started) * 1000
                first = first if first is not None else last
    if first is None:
        raise RuntimeError(f"no content from {url} (status {response.status_code})")
    return first, last


async def measure(url: str, clients: int, rounds: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        for _ in range(3):  # warm up
            await one_chat(client, url)
        alone = [await one_chat(client, url) for _ in range(max(rounds, 5))]
        together: list[tuple[float, float]] = []
        for _ in range(rounds):
            together += await asyncio.gather(*(one_chat(client, url) for _ in range(clients)))
    med = statistics.median
    return {
        "alone_first": med(f for f, _ in alone),
        "alone_last": med(last for _, last in alone),
        "together_first": med(f for f, _ in together),
        "together_first_p95": sorted(f for f, _ in together)[int(len(together) * 0.95) - 1],
        "together_last": med(last for _, last in together),
    }


def figures(quick: bool = False, clients: int | None = None) -> dict[str, dict]:
    clients = clients or (8 if quick else 32)
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        fake.default_reply = Reply(content="word " * 40, chunk_size=5, delay_s=0.01)
        server = harness.start_server(
            fake, Path(tmp) / "data", Path(tmp), WEBUI_LOG_LEVEL="WARNING"
        )
        try:
            got = asyncio.run(measure(f"{server.url}/api/v1/chat/completions", clients, rounds))
        finally:
            server.stop()
    return {
        "api_concurrent_first": harness.figure(
            f"API first token, {clients} chats at once",
            got["together_first"],
            reference=got["alone_first"],
            reference_label="one chat at a time",
            note=f"p95 {got['together_first_p95']:.0f} ms; {rounds} round(s)",
        ),
        "api_concurrent_last": harness.figure(
            f"API whole answer (~0.4 s of streaming), {clients} chats at once",
            got["together_last"],
            reference=got["alone_last"],
            reference_label="one chat at a time",
        ),
    }


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    harness.print_figures(figures(clients=clients))


if __name__ == "__main__":
    main()
