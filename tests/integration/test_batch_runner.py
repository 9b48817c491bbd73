"""The batch runner in a real server process (webui.py) against the fake upstream: a job keeps
going across kill -9 and SIGTERM without sending a finished row again, a 429 waits out its
Retry-After, failures say why, zips expand, and a job's files are its owner's alone.

Jobs are written into the server's database by this test process through the store's contract
(`BatchService` on the same data directory, runner not started): the HTTP Batch API is another
branch's. The server's runner picks them up at start, or within its idle poll while running.
"""

from __future__ import annotations

import asyncio
import signal
import time
import zipfile
from collections import Counter
from pathlib import Path

import httpx
import pytest

from app.batch.records import Job, JobState, RowState
from app.config import Settings
from app.i18n import render_record
from app.identity import COOKIE_NAME
from app.media import MediaLibrary
from app.services import Services
from app.store import Store
from tests.conftest import LiveServer, make_settings, start_server
from tests.fake_upstream import FakeUpstream, Reply
from tests.media_factory import make_png

BROWSER = "b" * 32
OWNER = f"anon:{BROWSER}"
OTHER_BROWSER = "m" * 32
FILE_ROUTE = "/gradio_api/file="
SLOW = Reply(delay_s=0.1)  # the default answer is 7 chunks: ~0.7 s a row


def create_job(
    settings: Settings, files: list[tuple[Path, str]], prompt: str = "Describe {filename}"
) -> Job:
    """A page job written straight into the data directory's database and media library."""

    async def create() -> Job:
        services = Services.build(settings)
        try:
            await services.monitor.check_once()
            return await services.batch.create_page_job(
                OWNER,
                files=files,
                prompt=prompt,
                model_id="Step3-VL-10B",
                effort=None,
                detail="low",
                template=None,
                lang="en",
            )
        finally:
            await services.backend.aclose()

    return asyncio.run(create())


def images(folder: Path, names: list[str]) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        (make_png(folder / f"in-{i}.png", "red", (20 + i, 20)), name)
        for i, name in enumerate(names)
    ]


def wait_for(store: Store, job_id: str, done, timeout: float = 60.0, server=None) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.jobs.get(OWNER, job_id)
        if done(job):
            return job
        if server is not None and server.process.poll() is not None:
            raise AssertionError(f"server exited:\n{server.log()[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"timed out: {job.state} {job.counts}")


def text_of(body: dict) -> str:
    """The question text of a chat request (its last message's text parts)."""
    content = body["messages"][-1]["content"]
    parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
    return " ".join(p["text"] for p in parts if p.get("type") == "text")


def sent_texts(upstream: FakeUpstream) -> Counter:
    """How often each question text went upstream."""
    return Counter(text_of(body) for body in upstream.chat_requests())


def is_finished(job: Job) -> bool:
    return job.state is JobState.DONE


# -- restarts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_a_restart_resumes_the_job_without_repeating_finished_rows(upstream, tmp_path, how):
    data = tmp_path / "data"
    settings = make_settings(upstream, data)
    names = [f"row-{i:02d}.png" for i in range(20)]
    job = create_job(settings, images(tmp_path / "in", names))
    store = Store(settings.db_path)
    upstream.default_reply = SLOW
    server = start_server(upstream, data, tmp_path, WEBUI_BATCH_CONCURRENCY="3")
    try:
        wait_for(store, job.id, lambda j: j.counts.done >= 6, server=server)
        if how == "kill -9":
            server.stop(signal.SIGKILL)
        else:
            assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises it
    finally:
        server.stop(signal.SIGKILL)
    rows = store.jobs.rows(OWNER, job.id)
    finished_before = {r.name for r in rows if r.state is RowState.DONE}
    assert 6 <= len(finished_before) < 20, "the stop did not land mid-job"
    if how == "kill -9":  # rows in flight were left running by the dead process
        assert any(r.state is RowState.RUNNING for r in rows)
    if how == "SIGTERM":  # rows in flight were put back, not left running
        assert {r.state for r in rows} <= {RowState.DONE, RowState.PENDING}
        assert "Traceback" not in server.log()
    sent_before = sent_texts(upstream)

    restarted = start_server(upstream, data, tmp_path, WEBUI_BATCH_CONCURRENCY="3")
    try:
        done = wait_for(store, job.id, is_finished, server=restarted)
    finally:
        restarted.stop()
    if how == "kill -9":
        assert "interrupted by the last stop will run again" in restarted.log()
    rows = store.jobs.rows(OWNER, job.id)
    assert len(rows) == 20 and (done.counts.done, done.counts.failed) == (20, 0)
    assert [r.name for r in rows] == names
    assert all(r.state is RowState.DONE and r.answer for r in rows)
    sent = sent_texts(upstream)
    assert set(sent) == {f"Describe {name}" for name in names}
    for name in finished_before:  # finished before the stop: never sent again
        assert sent[f"Describe {name}"] == 1, name
        assert sent_before[f"Describe {name}"] == 1, name
    assert sum(sent.values()) <= 20 + 3  # at most the rows in flight at the stop went twice


# -- one server for the rest -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(fake_upstream, tmp_path_factory) -> LiveServer:
    root = tmp_path_factory.mktemp("batch")
    server = start_server(fake_upstream, root / "data", root, WEBUI_BATCH_CONCURRENCY="2")
    yield server
    server.stop()


@pytest.fixture
def settings(live, upstream) -> Settings:
    return make_settings(upstream, live.data_dir)


@pytest.fixture
def store(settings) -> Store:
    return Store(settings.db_path)


def test_429_pauses_the_job_for_retry_after_then_every_row_succeeds(
    live, upstream, settings, store, tmp_path
):
    upstream.rate_limit_next(2, retry_after_s=2)
    job = create_job(settings, images(tmp_path, [f"r{i}.png" for i in range(4)]))
    done = wait_for(store, job.id, is_finished, server=live)
    assert (done.counts.done, done.counts.failed) == (4, 0)
    requests = [r for r in upstream.requests if r.path.endswith("/chat/completions")]
    assert len(requests) == 6  # two were limited and sent again
    limited_at = requests[1].received_at  # the fake limits the first two it receives
    texts = [text_of(r.body) for r in requests]
    for limited in (0, 1):
        again = next(r for r, t in zip(requests[2:], texts[2:], strict=True) if t == texts[limited])
        assert again.received_at - limited_at >= 1.8  # waited out Retry-After: 2
    assert "rate limited; pausing 2.0 s" in live.log()


def test_a_failing_row_says_why_and_retry_fixes_it(live, upstream, settings, store, tmp_path):
    names = ["one.png", "FAULT:500 two.png", "three.png"]
    job = create_job(settings, images(tmp_path, names))
    done = wait_for(store, job.id, is_finished, server=live)
    assert (done.counts.done, done.counts.failed) == (2, 1)
    failed = store.jobs.rows(OWNER, job.id)[1]
    assert failed.state is RowState.FAILED and failed.error["key"] == "backend.server_error"
    assert "internal error (500)" in render_record(failed.error, "en")
    assert store.jobs.retry_failed(OWNER, job.id).state is JobState.QUEUED
    done = wait_for(store, job.id, lambda j: j.state is JobState.DONE and not j.counts.failed)
    assert done.counts.done == 3
    assert sent_texts(upstream)["Describe FAULT:500 two.png"] == 2
    assert sent_texts(upstream)["Describe one.png"] == 1


def test_corrupt_files_fail_with_the_reason_and_zips_expand(
    live, upstream, settings, store, tmp_path
):
    good = images(tmp_path, ["x.png"])[0][0]
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50)
    archive = tmp_path / "receipts.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(3):
            zf.write(make_png(tmp_path / f"z{i}.png", "blue", (30 + i, 30)), f"scans/z{i}.png")
        zf.writestr("scans/notes.txt", "not an image")
    files = [(good, "x.png"), (corrupt, "corrupt.jpg"), (archive, "receipts.zip")]
    job = create_job(settings, files)
    assert job.counts.total == 6
    done = wait_for(store, job.id, is_finished, server=live)
    rows = store.jobs.rows(OWNER, job.id)
    assert [r.name for r in rows] == [
        "x.png",
        "corrupt.jpg",
        "z0.png",
        "z1.png",
        "z2.png",
        "notes.txt",
    ]
    assert (done.counts.done, done.counts.failed) == (4, 2)
    assert rows[1].state is RowState.FAILED and rows[1].error["params"]["name"] == "corrupt.jpg"
    assert rows[5].state is RowState.FAILED and rows[5].error["key"] == "media.unsupported"
    assert set(sent_texts(upstream)) == {
        "Describe x.png",
        "Describe z0.png",
        "Describe z1.png",
        "Describe z2.png",
    }


def test_only_the_owner_sees_the_jobs_and_fetches_their_files(
    live, upstream, settings, store, tmp_path
):
    job = create_job(settings, images(tmp_path, ["private.png"]))
    wait_for(store, job.id, is_finished, server=live)
    row = store.jobs.rows(OWNER, job.id)[0]
    blob = MediaLibrary(settings.media_dir).blob_path(row.media_sha)
    url = live.url + FILE_ROUTE + str(blob)
    owner = httpx.get(url, cookies={COOKIE_NAME: BROWSER}, timeout=10)
    assert owner.status_code == 200 and owner.content[:4] == b"\x89PNG"
    assert httpx.get(url, cookies={COOKIE_NAME: OTHER_BROWSER}, timeout=10).status_code == 404
    assert httpx.get(url, timeout=10).status_code == 404
    other = f"anon:{OTHER_BROWSER}"
    assert store.jobs.list(other) == [] and store.jobs.get(other, job.id) is None
    assert store.jobs.rows(other, job.id) == []
