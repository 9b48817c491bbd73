"""The batch service and runner in-process, against the fake upstream: each row one call of the
turn core, outcomes stored, 429s paused, failures explained, owners kept apart."""

from __future__ import annotations

import asyncio
import json
import time
import zipfile
from pathlib import Path

import pytest

from app.backend import BackendError
from app.batch.records import JobState, RowState
from app.batch.runner import retry_wait
from app.core import TurnMessage, TurnRejected, TurnRequest
from app.media_access import FileAccess
from app.services import Services
from tests.conftest import make_settings
from tests.fake_upstream import Reply
from tests.media_factory import make_png

OWNER = "anon:batch-owner"
OTHER = "anon:someone-else"


@pytest.fixture
def run(loop):
    return loop.run_until_complete


@pytest.fixture
def services(upstream, tmp_path, loop, run):
    services = Services.build(
        make_settings(upstream, tmp_path / "data", WEBUI_BATCH_CONCURRENCY="2")
    )
    run(services.monitor.check_once())
    run(services.batch.start())
    yield services
    run(services.batch.stop())
    run(services.backend.aclose())


def pngs(folder: Path, names: list[str]) -> list[tuple[Path, str]]:
    colors = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]
    files = []
    for index, name in enumerate(names):
        path = make_png(folder / f"in-{index}.png", colors[index % len(colors)], (40 + index, 30))
        files.append((path, name))
    return files


async def wait_until(services, job_id, states=(JobState.DONE,), owner=OWNER, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await asyncio.to_thread(services.batch.job, owner, job_id)
        if job.state in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job still {job.state}: {job.counts}")


async def page_job(services, files, prompt="Describe {filename}", **kw):
    options = dict(
        files=files,
        prompt=prompt,
        model_id="Step3-VL-10B",
        effort=None,
        detail="low",
        template=None,
        lang="en",
    )
    options.update(kw)
    return await services.batch.create_page_job(OWNER, **options)


def user_texts(upstream) -> list[str]:
    texts = []
    for body in upstream.chat_requests():
        content = body["messages"][-1]["content"]
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        texts.append(" ".join(p.get("text", "") for p in parts if p.get("type") == "text"))
    return texts


def test_each_file_is_one_turn_with_its_name_and_image(services, upstream, tmp_path, run):
    files = pngs(tmp_path, ["a.png", "b.png", "c.png"])
    job = run(page_job(services, files))
    assert job.counts.total == 3 and job.source == "page"
    done = run(wait_until(services, job.id))
    assert (done.counts.done, done.counts.failed, done.counts.pending) == (3, 0, 0)
    assert sorted(user_texts(upstream)) == ["Describe a.png", "Describe b.png", "Describe c.png"]
    for body in upstream.chat_requests():
        kinds = [p["type"] for p in body["messages"][-1]["content"]]
        assert "image_url" in kinds
    rows = services.batch.rows(OWNER, job.id)
    assert all(r.state is RowState.DONE for r in rows)
    assert all(r.answer == "Hello from the fake model." for r in rows)
    assert all(r.tokens_in == 11 and r.tokens_out == 7 and r.total_s > 0 for r in rows)
    assert all(r.fields_ok is None for r in rows)  # not a structured job
    assert all(services.store.media.owned_by(OWNER, r.media_sha) for r in rows)
    assert not any(services.store.media.owned_by(OTHER, r.media_sha) for r in rows)


def test_a_fault_fails_its_row_with_the_reason_and_retry_fixes_it(
    services, upstream, tmp_path, run
):
    files = pngs(tmp_path, ["one.png", "FAULT:500 two.png", "three.png"])
    job = run(page_job(services, files, prompt="Describe {filename}"))
    done = run(wait_until(services, job.id))
    assert (done.counts.done, done.counts.failed) == (2, 1)
    failed = services.batch.rows(OWNER, job.id)[1]
    assert failed.state is RowState.FAILED and failed.error["key"] == "backend.server_error"
    assert "500" in services.batch.csv_bytes(OWNER, job.id, "en")[1].decode("utf-8-sig")
    retried = run(services.batch.retry_failed(OWNER, job.id))
    assert retried.state is JobState.QUEUED
    done = run(wait_until(services, job.id))
    assert (done.counts.done, done.counts.failed) == (3, 0)
    assert services.batch.rows(OWNER, job.id)[1].attempts == 2


def test_unusable_files_become_failed_rows_and_zips_expand(services, upstream, tmp_path, run):
    good = pngs(tmp_path, ["x.png"])[0][0]
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(good, "inner/one.png")
        zf.write(good, "two.png")
        zf.writestr("readme.txt", "hello")
        zf.writestr("__MACOSX/._one.png", "junk")
        zf.writestr("inner/", "")
    broken_zip = tmp_path / "broken.zip"
    broken_zip.write_bytes(b"PK\x03\x04 nope")
    job = run(
        page_job(
            services,
            [
                (good, "x.png"),
                (corrupt, "corrupt.png"),
                (archive, "photos.zip"),
                (broken_zip, "b.zip"),
            ],
        )
    )
    rows = services.batch.rows(OWNER, job.id)
    assert [r.name for r in rows] == [
        "x.png",
        "corrupt.png",
        "one.png",
        "two.png",
        "readme.txt",
        "b.zip",
    ]
    assert rows[1].state is RowState.FAILED and rows[1].error["params"]["name"] == "corrupt.png"
    assert rows[4].state is RowState.FAILED and rows[5].error["key"] == "batch.zip_unreadable"
    done = run(wait_until(services, job.id))
    assert (done.counts.done, done.counts.failed) == (3, 3)
    assert sorted(user_texts(upstream)) == [
        "Describe one.png",
        "Describe two.png",
        "Describe x.png",
    ]


def test_whole_job_refusals(services, tmp_path, run):
    files = pngs(tmp_path, ["a.png"])
    with pytest.raises(TurnRejected) as empty:
        run(page_job(services, []))
    assert empty.value.key == "batch.empty"
    with pytest.raises(TurnRejected) as unknown:
        run(page_job(services, files, model_id="no-such-model"))
    assert unknown.value.key == "model.unknown"
    assert services.batch.jobs(OWNER) == []


def test_429_pauses_the_job_then_its_rows_succeed(services, upstream, tmp_path, run):
    upstream.rate_limit_next(1, retry_after_s=1)
    started = time.monotonic()
    job = run(page_job(services, pngs(tmp_path, ["a.png", "b.png", "c.png"])))
    done = run(wait_until(services, job.id))
    assert (done.counts.done, done.counts.failed) == (3, 0)
    rows = services.batch.rows(OWNER, job.id)
    assert sum(r.attempts for r in rows) == 4  # the limited row was sent again, not failed
    assert len(upstream.chat_requests()) == 4
    assert 0.9 <= time.monotonic() - started < 8  # waited out Retry-After (1 s), not 10 s


def test_a_429_from_upstream_carries_its_retry_after(services, upstream, run):
    upstream.rate_limit_next(1, retry_after_s=7)
    request = TurnRequest("Step3-VL-10B", (TurnMessage("user", "hi"),))

    async def ask():
        with services.janitor.hold() as hold:
            async for _event in services.core.run(request, hold):
                pass

    with pytest.raises(BackendError) as limited:
        run(ask())
    assert (limited.value.status, limited.value.kind) == (429, "rate_limited")
    assert limited.value.retry_after == 7.0
    assert retry_wait(limited.value) == 7.0


def test_structured_templates_get_fields_and_non_json_is_marked(services, upstream, tmp_path, run):
    upstream.script(
        Reply(content='```json\n{"merchant": {"name": "Shop"}, "total": 9.5}\n```'),
        Reply(content="Sorry, I cannot read this receipt."),
    )
    job = run(
        page_job(services, pngs(tmp_path, ["r1.png", "r2.png"]), prompt="", template="receipt")
    )
    assert job.structured and job.template == "receipt" and job.detail == "low"
    assert job.prompt.startswith("Read this receipt")
    run(wait_until(services, job.id))
    rows = services.batch.rows(OWNER, job.id)
    parsed = [r for r in rows if r.fields_ok]
    marked = [r for r in rows if r.fields_ok is False]
    assert len(parsed) == 1 and len(marked) == 1
    assert parsed[0].fields == {"merchant.name": "Shop", "total": 9.5}
    assert marked[0].state is RowState.DONE and marked[0].answer.startswith("Sorry")
    header = services.batch.csv_bytes(OWNER, job.id, "en")[1].decode("utf-8-sig").splitlines()[0]
    assert header.endswith("merchant.name,total")


def test_cancel_stops_rows_in_flight_and_cancels_the_rest(services, upstream, tmp_path, run):
    upstream.default_reply = Reply(delay_s=0.2)  # ~1.4 s a row
    job = run(page_job(services, pngs(tmp_path, [f"{i}.png" for i in range(6)])))
    run(wait_until(services, job.id, states=(JobState.RUNNING,)))
    cancelled = run(services.batch.cancel(OWNER, job.id))
    assert cancelled.state is JobState.CANCELLED
    rows = services.batch.rows(OWNER, job.id)
    assert all(r.state is RowState.CANCELLED for r in rows)
    assert services.batch.runner.in_flight == 0
    assert run(services.batch.cancel(OTHER, job.id)) is None


def test_owners_are_kept_apart(services, tmp_path, run):
    job = run(page_job(services, pngs(tmp_path, ["a.png"])))
    assert services.batch.job(OTHER, job.id) is None
    assert services.batch.rows(OTHER, job.id) == []
    assert services.batch.jobs(OTHER) == []
    assert services.batch.csv_bytes(OTHER, job.id, "en") is None
    assert services.batch.jsonl_bytes(OTHER, job.id) is None
    assert run(services.batch.retry_failed(OTHER, job.id)) is None
    assert [j.id for j in services.batch.jobs(OWNER)] == [job.id]


def test_api_job_rows_go_through_the_same_parser_and_core(services, upstream, run):
    lines = [
        {
            "custom_id": f"req-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "Step3-VL-10B", "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i in range(2)
    ]
    lines.append({"custom_id": "bad", "body": {"model": "Step3-VL-10B", "messages": "nope"}})
    job = run(services.batch.create_api_job(OWNER, lines=lines, cloud_allowed=True, metadata=None))
    assert job.source == "api" and job.prompt == ""
    run(wait_until(services, job.id))
    rows = services.batch.rows(OWNER, job.id)
    assert [r.name for r in rows] == ["req-0", "req-1", "bad"]
    assert rows[0].response["object"] == "chat.completion"
    assert rows[0].response["choices"][0]["message"]["content"] == "Hello from the fake model."
    assert rows[2].state is RowState.FAILED and rows[2].error["key"] == "batch.request_invalid"
    assert sorted(json.dumps(b["messages"]) for b in upstream.chat_requests()) == [
        json.dumps([{"role": "user", "content": "q0"}]),
        json.dumps([{"role": "user", "content": "q1"}]),
    ]


def test_job_media_are_the_owners_to_see_and_the_janitor_keeps_them(services, tmp_path, run):
    job = run(page_job(services, pngs(tmp_path, ["a.png"])))
    sha = services.batch.rows(OWNER, job.id)[0].media_sha
    blob = services.library.blob_path(sha)
    access = FileAccess(services.settings.data_dir, services.store)
    claimed = access.claim(str(blob))
    assert claimed is not None
    assert access.allowed(OWNER, *claimed)
    assert not access.allowed(OTHER, *claimed)
    assert services.janitor.discard([sha], older_than_s=0) == []
    services.janitor.sweep()
    assert blob.exists()


def test_delete_cancels_a_running_job_then_removes_it(services, upstream, tmp_path, run):
    upstream.default_reply = Reply(delay_s=0.2)
    job = run(page_job(services, pngs(tmp_path, ["a.png", "b.png", "c.png"])))
    run(wait_until(services, job.id, states=(JobState.RUNNING,)))
    assert not run(services.batch.delete(OTHER, job.id))
    assert run(services.batch.delete(OWNER, job.id))
    assert services.batch.job(OWNER, job.id) is None and services.batch.jobs(OWNER) == []
    assert services.batch.runner.in_flight == 0
