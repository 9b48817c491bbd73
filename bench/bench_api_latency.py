"""Time to first token through /api/v1 versus straight to the (fake) upstream, side by side.

Run: .venv/bin/python bench/bench_api_latency.py [requests=50]
Both paths stream the same reply from the same fake upstream, alternating request by request.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import start_server
from tests.fake_upstream import FakeUpstream, Reply

BODY = {"model": "Step3-VL-10B", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def first_token_ms(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    elapsed = None
    with client.stream("POST", url, json=BODY) as response:
        for line in response.iter_lines():  # read to the end so the connection is reused
            if elapsed is None and line.startswith("data: ") and '"content"' in line:
                elapsed = (time.perf_counter() - start) * 1000
    return elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        fake.default_reply = Reply(content="Hello there, this is a short answer.", chunk_size=8)
        server = start_server(fake, Path(tmp) / "data", Path(tmp), WEBUI_LOG_LEVEL="WARNING")
        try:
            direct_url = f"{fake.base_url}/chat/completions"
            proxied_url = f"{server.url}/api/v1/chat/completions"
            direct, proxied = [], []
            with httpx.Client(timeout=30) as client:
                for _ in range(5):  # warm up both paths
                    first_token_ms(client, direct_url)
                    first_token_ms(client, proxied_url)
                for _ in range(count):
                    direct.append(first_token_ms(client, direct_url))
                    proxied.append(first_token_ms(client, proxied_url))
        finally:
            server.stop()
    d, p = statistics.median(direct), statistics.median(proxied)
    print(f"{count} streaming requests each, alternating")
    print(f"median time to first token, fake upstream directly: {d:6.2f} ms")
    print(f"median time to first token, through /api/v1:       {p:6.2f} ms")
    print(f"added at the median:                               {p - d:6.2f} ms")


if __name__ == "__main__":
    main()
