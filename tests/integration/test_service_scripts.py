"""The model-server and install scripts, run as an operator would run them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_script(name: str, *args: str, env: dict | None = None, cwd: Path | None = None):
    base = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        ["bash", str((cwd or REPO) / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**base, **(env or {})},
    )


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the scripts with its own .env, so the real checkout's .env is never read."""
    shutil.copytree(REPO / "scripts", tmp_path / "scripts")
    return tmp_path


def test_dry_run_vllm(checkout):
    (checkout / ".env").write_text(
        "LOCAL_BASE_URL=http://127.0.0.1:8123/v1\n"
        "MODEL_SERVER_GPU_MEMORY_UTILIZATION=0.85\nMODEL_SERVER_MAX_MODEL_LEN=16384\n"
    )
    result = run_script("start-model-server.sh", "--dry-run", cwd=checkout)
    assert result.returncode == 0, result.stderr
    assert shlex.split(result.stdout) == [
        "vllm", "serve", "stepfun-ai/Step3-VL-10B", "--served-model-name", "Step3-VL-10B",
        "--trust-remote-code", "--reasoning-parser", "deepseek_r1", "--host", "127.0.0.1",
        "--port", "8123", "--gpu-memory-utilization", "0.85", "--max-model-len", "16384",
    ]  # fmt: skip


def test_dry_run_sglang_and_environment_beats_dotenv(checkout):
    (checkout / ".env").write_text(
        "MODEL_SERVER_ENGINE=vllm\nLOCAL_BASE_URL=http://127.0.0.1:1/v1\n"
    )
    env = {
        "MODEL_SERVER_ENGINE": "sglang",
        "LOCAL_BASE_URL": "http://127.0.0.1:30000/v1",
        "MODEL_SERVER_MODEL": "/models/Step3 VL",
    }
    result = run_script("start-model-server.sh", "--dry-run", env=env, cwd=checkout)
    assert result.returncode == 0, result.stderr
    assert shlex.split(result.stdout) == [
        "python3", "-m", "sglang.launch_server", "--model-path", "/models/Step3 VL",
        "--served-model-name", "Step3-VL-10B", "--trust-remote-code", "--reasoning-parser",
        "deepseek-r1", "--host", "127.0.0.1", "--port", "30000", "--mem-fraction-static", "0.90",
    ]  # fmt: skip


def test_disabled_by_default(checkout):
    result = run_script("start-model-server.sh", cwd=checkout)
    assert result.returncode == 0
    assert "not started (MODEL_SERVER_AUTOSTART is not true" in result.stdout


def test_missing_engine_is_one_clear_line(checkout):
    result = run_script(
        "start-model-server.sh", env={"MODEL_SERVER_AUTOSTART": "true"}, cwd=checkout
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "start-model-server: vLLM is not installed (no 'vllm' command on PATH); "
        "pip install vllm, or set MODEL_SERVER_ENGINE=sglang"
    ]


def test_no_gpu_is_one_clear_line(checkout, tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    vllm = fake_bin / "vllm"  # an installed engine, but no nvidia-smi on this machine
    vllm.write_text("#!/bin/sh\nexit 0\n")
    vllm.chmod(0o755)
    env = {"MODEL_SERVER_AUTOSTART": "true", "PATH": f"{fake_bin}:/usr/bin:/bin"}
    result = run_script("start-model-server.sh", env=env, cwd=checkout)
    assert result.returncode == 2
    assert "no GPU is visible" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_engine_and_url(checkout):
    result = run_script(
        "start-model-server.sh", "--dry-run", env={"MODEL_SERVER_ENGINE": "tgi"}, cwd=checkout
    )
    assert result.returncode == 2 and "is not vllm or sglang" in result.stderr
    result = run_script(
        "start-model-server.sh", "--dry-run", env={"LOCAL_BASE_URL": "http://gpu/v1"}, cwd=checkout
    )
    assert result.returncode == 2 and "has no port" in result.stderr


def test_install_program_prints_absolute_paths(tmp_path):
    result = run_script("install-supervisor-program.sh", "--print")
    assert result.returncode == 0
    assert "[program:webui]" in result.stdout
    assert f"command={REPO}/scripts/start-webui-service.sh" in result.stdout
    assert f"stdout_logfile={REPO}/logs/webui.log" in result.stdout
    dest = tmp_path / "conf.d" / "vlm-webui.conf"
    result = run_script("install-supervisor-program.sh", "--dest", str(dest))
    assert result.returncode == 0 and dest.read_text().count("[program:") == 2
