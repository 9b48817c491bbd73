"""app/status.py `StatusMonitor` without a server and without its poller: how often each backend
is checked, what an answer that arrived proves, and what "down" means."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from app.backend import BackendClient
from app.catalog import Backend, ModelRegistry
from app.config import load_settings
from app.status import CLOUD_POLL_S, UP_SLOWER, Availability, BackendStatus, StatusMonitor

CLOSED = "http://127.0.0.1:9/v1"  # nothing listens on port 9; nothing here connects anyway


def base_env(tmp_path, cloud: bool) -> dict[str, str]:
    env = {"WEBUI_DATA_DIR": str(tmp_path / "data"), "LOCAL_BASE_URL": CLOSED}
    if cloud:
        env.update(STEP_API_KEY="sk-test-0123456789", STEP_BASE_URL=CLOSED)
    return env


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """One backend client per configuration (building one is the slow part); none makes a
    request here."""
    root = tmp_path_factory.mktemp("status")
    made = {
        cloud: BackendClient(load_settings([], environ=base_env(root, cloud), env_file=root / "x"))
        for cloud in (False, True)
    }
    yield made

    async def close():
        for client in made.values():
            await client.aclose()

    asyncio.run(close())


@pytest.fixture
def monitor_for(tmp_path, clients):
    def make(cloud: bool = False, **env: str) -> StatusMonitor:
        settings = load_settings(
            [], environ={**base_env(tmp_path, cloud), **env}, env_file=tmp_path / "none"
        )
        return StatusMonitor(settings, ModelRegistry(settings), clients[cloud])

    return make


def test_before_any_check(monitor_for):
    monitor = monitor_for()
    assert monitor.status(Backend.LOCAL) == BackendStatus(Availability.UNKNOWN)
    assert monitor.status(Backend.STEPFUN) == BackendStatus(
        Availability.UNCONFIGURED, "STEP_API_KEY is not set"
    )
    assert monitor_for(cloud=True).status(Backend.STEPFUN) == BackendStatus(Availability.UNKNOWN)


def test_model_status(monitor_for):
    monitor = monitor_for(cloud=True)
    assert monitor.model_status("no-such-model") == BackendStatus(
        Availability.UNREACHABLE, "unknown model"
    )
    assert monitor.model_status(None) == BackendStatus(Availability.UNREACHABLE, "unknown model")
    monitor.answered(Backend.STEPFUN)
    assert monitor.model_status("step-3.7-flash").availability is Availability.READY
    assert monitor.model_status("Step3-VL-10B").availability is Availability.UNKNOWN
    monitor.answered(Backend.LOCAL)
    assert monitor.model_status("Step3-VL-10B").availability is Availability.READY
    # Without a key the cloud models are not in the catalog at all.
    assert monitor_for().model_status("step-3.7-flash").detail == "unknown model"


@pytest.mark.parametrize(
    ("poll", "local_down", "local_up", "cloud_down", "cloud_up"),
    [
        ("5", 5, 60, CLOUD_POLL_S, CLOUD_POLL_S),
        ("10", 10, 120, CLOUD_POLL_S, 120),
        ("0.5", 0.5, 6, CLOUD_POLL_S, CLOUD_POLL_S),
        ("300", 300, 3600, 300, 3600),
    ],
)
def test_interval(monitor_for, poll, local_down, local_up, cloud_down, cloud_up):
    monitor = monitor_for(cloud=True, WEBUI_MODEL_POLL_INTERVAL=poll)
    assert monitor._interval(Backend.LOCAL) == pytest.approx(local_down)
    assert monitor._interval(Backend.STEPFUN) == pytest.approx(cloud_down)
    monitor.answered(Backend.LOCAL)
    monitor.answered(Backend.STEPFUN)
    assert monitor._interval(Backend.LOCAL) == pytest.approx(local_up)
    assert monitor._interval(Backend.STEPFUN) == pytest.approx(cloud_up)
    assert UP_SLOWER == 12


def test_an_answer_marks_the_backend_ready_and_logs_the_change_once(monitor_for, caplog):
    monitor = monitor_for()
    caplog.set_level(logging.INFO, logger="app.status")
    before = time.monotonic()
    monitor.answered(Backend.LOCAL)
    monitor.answered(Backend.LOCAL)
    after = time.monotonic()
    assert monitor.status(Backend.LOCAL) == BackendStatus(Availability.READY)
    assert [r.getMessage().strip() for r in caplog.records] == ["backend local: ready"]
    # No check is due for a while: the answer was the check.
    due = monitor._next_check[Backend.LOCAL]
    assert before + 60 <= due <= after + 60
    assert monitor._next_check[Backend.STEPFUN] == 0.0  # the other backend is untouched


def test_the_backend_client_tells_the_monitor(monitor_for, clients, caplog):
    monitor = monitor_for()
    caplog.set_level(logging.INFO, logger="app.status")
    clients[False].on_answer(Backend.LOCAL)  # what BackendClient.chat calls after an answer
    assert monitor.status(Backend.LOCAL).availability is Availability.READY
    down = monitor._down(Backend.LOCAL, "connection", "Cannot reach it")
    monitor._set(Backend.LOCAL, down)
    monitor._set(Backend.LOCAL, down)
    clients[False].on_answer(Backend.LOCAL)
    assert [r.getMessage().strip() for r in caplog.records] == [
        "backend local: ready",
        "backend local: unreachable Cannot reach it",
        "backend local: ready",
    ]


@pytest.mark.parametrize("kind", ["connection", "timeout", "overloaded"])
def test_down_while_our_model_server_loads_is_starting(monitor_for, kind):
    monitor = monitor_for(cloud=True, MODEL_SERVER_AUTOSTART="true")
    assert monitor._down(Backend.LOCAL, kind, "x") == BackendStatus(
        Availability.STARTING, "the model server is still loading"
    )
    # Only our own server is started by us; the cloud is just unreachable.
    assert monitor._down(Backend.STEPFUN, kind, "x") == BackendStatus(Availability.UNREACHABLE, "x")
    # Without autostart nobody is loading it: it is unreachable.
    plain = monitor_for(cloud=True)
    assert plain._down(Backend.LOCAL, kind, "why") == BackendStatus(Availability.UNREACHABLE, "why")


@pytest.mark.parametrize("kind", ["auth", "not_found", "server", "dropped", "bad_request"])
def test_other_failures_are_unreachable_even_with_autostart(monitor_for, kind):
    monitor = monitor_for(MODEL_SERVER_AUTOSTART="true")
    assert monitor._down(Backend.LOCAL, kind, "why") == BackendStatus(
        Availability.UNREACHABLE, "why"
    )


def test_a_busy_or_unconfigured_backend_is_not_checked(monitor_for, clients):
    monitor = monitor_for()
    client = clients[False]
    with client._using(Backend.LOCAL):  # an answer is streaming from it right now
        asyncio.run(monitor._check(Backend.LOCAL))
    # Not asked: a check would have found the closed port and said so.
    assert monitor.status(Backend.LOCAL) == BackendStatus(Availability.UNKNOWN)
    asyncio.run(monitor._check(Backend.STEPFUN))  # no key: nothing to ask
    assert monitor.status(Backend.STEPFUN).availability is Availability.UNCONFIGURED


def test_waiting_for_a_first_check_gives_up_quietly_and_stop_without_start(monitor_for):
    monitor = monitor_for()

    async def scenario():
        started = time.monotonic()
        await monitor.wait_first_check(0)
        await monitor.stop()  # never started: nothing to stop
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1
    assert monitor._task is None
