"""Shared fixtures: the fake upstream, settings on temp dirs, in-process services, a live server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.config import Settings, load_settings
from tests.fake_upstream import FakeUpstream, free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def upstream(fake_upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    """The session's fake upstream, with a clean slate for each test."""
    fake_upstream.reset()
    yield fake_upstream
    fake_upstream.reset()


def upstream_env(fake: FakeUpstream, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "WEBUI_DATA_DIR": str(data_dir),
        "STEP_API_KEY": "sk-test-secret-key-123",
        "STEP_BASE_URL": fake.base_url,
        "LOCAL_BASE_URL": fake.base_url,
        "LOCAL_MODELS": "Step3-VL-10B",
        "WEBUI_MAX_RETRIES": "0",
        "WEBUI_MODEL_POLL_INTERVAL": "1",
    }
    env.update(extra)
    return env


def make_settings(fake: FakeUpstream, data_dir: Path, **extra: str) -> Settings:
    return load_settings([], environ=upstream_env(fake, data_dir, **extra), env_file=Path("/none"))


@pytest.fixture
def settings(upstream: FakeUpstream, tmp_path: Path) -> Settings:
    return make_settings(upstream, tmp_path / "data")


@dataclass
class LiveServer:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait(10)
        return self.process.returncode


def wait_healthy(url: str, process: subprocess.Popen, log_path: Path, deadline_s: float = 60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy:\n{log_path.read_text(errors='replace')}")


def start_server(
    fake: FakeUpstream, data_dir: Path, log_dir: Path, port: int | None = None, **extra: str
) -> LiveServer:
    port = port or free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WEBUI_", "STEP_", "LOCAL_", "STEPFUN_"))
    }
    env.update(upstream_env(fake, data_dir, **extra))
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    log_path = log_dir / f"server-{port}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, str(REPO / "webui.py"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=log_dir,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path)
    except BaseException:
        process.kill()
        raise
    return LiveServer(url, port, data_dir, process, log_path)


@pytest.fixture(scope="session")
def live_server(fake_upstream: FakeUpstream, tmp_path_factory) -> Iterator[LiveServer]:
    """One real webui.py process for the session, talking to the fake upstream."""
    root = tmp_path_factory.mktemp("live")
    server = start_server(fake_upstream, root / "data", root)
    yield server
    server.stop()
