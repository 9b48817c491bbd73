"""A real supervisord on a copy of the repository's supervisord.conf, as on a GPU pod."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.store import Store
from tests.fake_upstream import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


class Pod:
    def __init__(self, root: Path, env: dict[str, str]):
        self.root = root
        self.env = env

    def ctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.root / "supervisord.conf"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
            cwd=self.root,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def set_port(self, port: int) -> None:
        lines = [
            line
            for line in (self.root / ".env").read_text().splitlines()
            if not line.startswith("WEBUI_PORT=")
        ]
        (self.root / ".env").write_text("\n".join([*lines, f"WEBUI_PORT={port}", ""]))

    def webui_pid(self) -> int:
        return int(self.ctl("pid", "webui").stdout.strip())

    def log(self) -> str:
        path = self.root / "logs" / "webui.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(predicate, timeout: float = 60, what: str = "condition", pod: Pod | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{pod.log() if pod else ''}")


def alive(pid: int) -> bool:
    """True for a running process; a zombie left for init to reap counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def pod(tmp_path) -> Iterator[Pod]:
    root = tmp_path / "pod"
    root.mkdir()
    for name in ("supervisord.conf", "webui.py"):
        shutil.copy(REPO / name, root / name)
    for name in ("scripts", "app"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "logs").mkdir()
    (root / ".venv").symlink_to(REPO / ".venv")
    port = free_port()
    (root / ".env").write_text(
        f"WEBUI_HOST=127.0.0.1\nWEBUI_PORT={port}\nWEBUI_DATA_DIR={tmp_path / 'data'}\n"
        f"LOCAL_BASE_URL=http://127.0.0.1:{free_port()}/v1\nMODEL_SERVER_AUTOSTART=false\n"
    )
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    started = subprocess.run(
        [str(BIN / "supervisord"), "-c", str(root / "supervisord.conf")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert started.returncode == 0, started.stderr
    pod = Pod(root, env)
    pod.port = port
    try:
        wait_until(lambda: healthy(port), what="webui /healthz", pod=pod)
        yield pod
    finally:
        pod.ctl("shutdown")
        pidfile = root / "supervisord.pid"
        deadline = time.monotonic() + 30
        while pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for line in subprocess.run(
            ["pgrep", "-f", str(root)], capture_output=True, text=True
        ).stdout.split():
            os.kill(int(line), signal.SIGKILL)


def webui_state(pod: Pod) -> str:
    status = pod.ctl("status").stdout
    return status.split("webui", 1)[1].split()[0] if "webui" in status else ""


def test_supervisord_lifecycle(pod: Pod, tmp_path):
    # /healthz can answer before startsecs (3 s) has passed: supervisord says RUNNING after it.
    wait_until(lambda: webui_state(pod) == "RUNNING", timeout=15, what="webui RUNNING", pod=pod)
    status = pod.ctl("status").stdout
    assert "model-server" in status and "EXITED" in status  # disabled in .env: not restarted
    assert oct((pod.root / "supervisor.sock").stat().st_mode & 0o777) == "0o700"

    # restart brings it back with a new process
    first = pod.webui_pid()
    pod.ctl("restart", "webui", check=True)
    wait_until(lambda: healthy(pod.port), what="healthz after restart", pod=pod)
    second = pod.webui_pid()
    assert second != first

    # a conversation written while it runs survives kill -9 and the automatic restart
    data_dir = tmp_path / "data"
    store = Store(data_dir / "webui.sqlite3")
    conversation = store.conversations.create("anon:pod", model="Step3-VL-10B", effort=None)
    store.messages.add_user("anon:pod", conversation.id, "kept across kill -9")
    os.kill(second, signal.SIGKILL)
    wait_until(
        lambda: (
            pod.ctl("pid", "webui").stdout.strip() not in ("", "0", str(second))
            and healthy(pod.port)
        ),
        timeout=30,
        what="automatic restart after kill -9",
        pod=pod,
    )
    reopened = Store(data_dir / "webui.sqlite3")
    assert reopened.integrity_check() == "ok"
    assert [m.text for m in reopened.messages.list("anon:pod", conversation.id)] == [
        "kept across kill -9"
    ]

    # stop leaves nothing behind
    third = pod.webui_pid()
    pod.ctl("stop", "webui", check=True)
    assert not listening(pod.port)
    assert not alive(third)
    leftovers = subprocess.run(["pgrep", "-f", f"{pod.root}/webui.py"], capture_output=True)
    assert leftovers.stdout == b""

    # a new port in .env plus restart moves the service
    old_port, new_port = pod.port, free_port()
    pod.set_port(new_port)
    pod.ctl("start", "webui", check=True)
    pod.ctl("restart", "webui", check=True)
    wait_until(lambda: healthy(new_port), what="healthz on the new port", pod=pod)
    assert not listening(old_port)

    # shutdown ends everything
    supervisord_pid = int((pod.root / "supervisord.pid").read_text())
    pod.ctl("shutdown", check=True)
    wait_until(lambda: not (pod.root / "supervisord.pid").exists(), what="supervisord exit")
    wait_until(lambda: not alive(supervisord_pid), timeout=10, what="supervisord gone")
    assert not listening(new_port)
