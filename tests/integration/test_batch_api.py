"""The OpenAI Batch API with the official `openai` SDK, end to end against a real server and the
fake upstream: upload, create, poll, results; refused lines; owners; cancel; the model policy;
the upload limit; the page's file route never serving the stored files."""

from __future__ import annotations

import base64
import io
import json
import time

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import start_server
from tests.fake_upstream import Reply
from tests.media_factory import make_png
from tests.raw_gradio import RawPage

KEYS = ("key-alice-0123456789", "key-bob-0123456789")
TERMINAL = ("completed", "failed", "cancelled", "expired")


@pytest.fixture(scope="module")
def server(fake_upstream, tmp_path_factory):
    """Keys on (each key holder may use cloud models) and a 1 MB upload limit."""
    root = tmp_path_factory.mktemp("batchapi")
    server = start_server(
        fake_upstream,
        root / "data",
        root,
        WEBUI_API_KEYS=",".join(KEYS),
        WEBUI_MAX_UPLOAD_MB="1",
        WEBUI_BATCH_CONCURRENCY="3",
    )
    yield server
    server.stop()


def sdk(server, key: str) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/api/v1", api_key=key, max_retries=0)


@pytest.fixture
def alice(server, upstream):
    with sdk(server, KEYS[0]) as client:
        yield client


@pytest.fixture
def bob(server, upstream):
    with sdk(server, KEYS[1]) as client:
        yield client


def jsonl(*lines: dict) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def request(custom_id: str, text: str, model: str = "Step3-VL-10B", **body) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}], **body},
    }


def upload(client: OpenAI, data: bytes, name: str = "input.jsonl"):
    return client.files.create(file=(name, io.BytesIO(data)), purpose="batch")


def wait(client: OpenAI, batch_id: str, until=TERMINAL, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in until or time.monotonic() > deadline:
            return batch
        time.sleep(0.1)


def lines_of(client: OpenAI, file_id: str) -> list[dict]:
    return [json.loads(x) for x in client.files.content(file_id).text.splitlines()]


def test_upload_create_poll_and_read_the_results(alice, upstream):
    upstream.default_reply = Reply(content="A fine answer.", prompt_tokens=13, completion_tokens=5)
    questions = {f"q{i}": f"Question number {i}?" for i in range(5)}
    data = jsonl(*(request(cid, text, max_tokens=50) for cid, text in questions.items()))
    file = upload(alice, data)
    assert (file.object, file.purpose, file.status, file.bytes) == (
        "file",
        "batch",
        "processed",
        len(data),
    )
    assert file.id.startswith("file-") and file.filename == "input.jsonl"
    assert alice.files.retrieve(file.id).bytes == len(data)
    assert alice.files.content(file.id).content == data

    batch = alice.batches.create(
        input_file_id=file.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"purpose": "test"},
    )
    assert batch.id.startswith("batch_") and batch.object == "batch"
    assert batch.status in ("validating", "in_progress")
    assert (batch.input_file_id, batch.metadata) == (file.id, {"purpose": "test"})

    done = wait(alice, batch.id)
    assert done.status == "completed", done
    assert done.request_counts.model_dump() == {"total": 5, "completed": 5, "failed": 0}
    assert done.completed_at and done.in_progress_at and done.error_file_id is None
    assert done.output_file_id and alice.files.retrieve(done.output_file_id).purpose == (
        "batch_output"
    )
    results = lines_of(alice, done.output_file_id)
    assert [r["custom_id"] for r in results] == list(questions)
    for result in results:
        assert result["error"] is None and result["id"].startswith("batch_req_")
        assert result["response"]["status_code"] == 200
        body = result["response"]["body"]
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["message"]["content"] == "A fine answer."
        assert body["usage"]["prompt_tokens"] == 13 and body["usage"]["completion_tokens"] == 5
    sent = sorted(r["messages"][-1]["content"] for r in upstream.chat_requests())
    assert sent == sorted(questions.values())  # each line asked once, as written
    assert all(r["max_tokens"] == 50 for r in upstream.chat_requests())
    # Polling again changes nothing: the same result files.
    again = alice.batches.retrieve(batch.id)
    assert (again.output_file_id, again.status) == (done.output_file_id, "completed")
    assert batch.id in [b.id for b in alice.batches.list()]


def test_bad_lines_are_reported_and_nothing_runs(alice, upstream):
    data = (
        jsonl(
            request("a", "fine"),
            request("b", "no messages") | {"body": {"model": "Step3-VL-10B", "messages": []}},
            request("a", "duplicate id"),
            request("c", "streamed", stream=True),
        )
        + b"{not json\n"
    )
    batch = alice.batches.create(
        input_file_id=upload(alice, data).id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    assert batch.status == "failed" and batch.failed_at
    errors = [(e.line, e.code, e.param) for e in batch.errors.data]
    assert errors == [
        (2, "invalid_request", "body.messages"),
        (3, "duplicate_custom_id", "custom_id"),
        (4, "invalid_request", "body.stream"),
        (5, "invalid_json_line", None),
    ]
    assert all(e.message.startswith(f"Line {e.line}: ") for e in batch.errors.data)
    assert upstream.chat_requests() == []
    assert alice.batches.retrieve(batch.id).status == "failed"


def test_failed_rows_go_to_the_error_file_with_the_upstream_status(alice, upstream):
    data = jsonl(request("ok", "fine"), request("bad", "please FAULT:500 now"))
    batch = alice.batches.create(
        input_file_id=upload(alice, data).id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    done = wait(alice, batch.id)
    assert done.status == "completed"
    assert done.request_counts.model_dump() == {"total": 2, "completed": 1, "failed": 1}
    assert [r["custom_id"] for r in lines_of(alice, done.output_file_id)] == ["ok"]
    [failed] = lines_of(alice, done.error_file_id)
    assert failed["custom_id"] == "bad" and failed["error"] is None
    assert failed["response"]["status_code"] == 502
    assert failed["response"]["body"]["error"]["code"] == "server"


def test_another_key_gets_404_for_everything(alice, bob, upstream):
    file = upload(alice, jsonl(request("a", "mine")))
    batch = alice.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = wait(alice, batch.id)
    for call in (
        lambda: bob.files.retrieve(file.id),
        lambda: bob.files.content(file.id),
        lambda: bob.files.content(done.output_file_id),
        lambda: bob.files.delete(file.id),
        lambda: bob.batches.retrieve(batch.id),
        lambda: bob.batches.cancel(batch.id),
        lambda: bob.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        ),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert batch.id not in [b.id for b in bob.batches.list()]
    assert file.id not in [f.id for f in bob.files.list()]
    # Positive control: still there for its owner; then the owner deletes it.
    assert alice.files.retrieve(file.id).id == file.id
    assert alice.files.delete(file.id).deleted
    with pytest.raises(openai.NotFoundError):
        alice.files.retrieve(file.id)
    with httpx.Client() as http:
        response = http.get(f"{alice.base_url}batches/{batch.id}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_cancel_stops_the_rows_not_yet_run(alice, upstream):
    upstream.default_reply = Reply(content="slow answer", delay_s=0.3, chunk_size=2)
    data = jsonl(*(request(f"r{i}", f"Slow question {i}") for i in range(12)))
    batch = alice.batches.create(
        input_file_id=upload(alice, data).id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    cancelling = alice.batches.cancel(batch.id)
    assert cancelling.status in ("cancelling", "cancelled")
    done = wait(alice, batch.id)
    assert done.status == "cancelled" and done.cancelled_at
    counts = done.request_counts
    assert counts.total == 12 and counts.completed < 12
    finished = lines_of(alice, done.output_file_id) if done.output_file_id else []
    cancelled = lines_of(alice, done.error_file_id)
    assert len(finished) == counts.completed
    assert sorted(r["custom_id"] for r in finished + cancelled) == sorted(
        f"r{i}" for i in range(12)
    )
    assert all(r["error"]["code"] == "batch_cancelled" for r in cancelled if r["response"] is None)
    assert len(upstream.chat_requests()) < 12  # the rest never went upstream
    with pytest.raises(openai.ConflictError):
        alice.batches.cancel(batch.id)


def test_upload_limit_and_the_file_route(server, alice, upstream):
    with pytest.raises(openai.APIStatusError) as caught:
        upload(alice, b"x" * (1024 * 1024 + 200 * 1024))
    assert caught.value.status_code == 413
    assert caught.value.body["code"] == "file_too_large"
    with pytest.raises(openai.BadRequestError):
        alice.files.create(file=("a.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")
    file = upload(alice, jsonl(request("a", "secret question")))
    stored = server.data_dir / "api_files" / file.id
    assert stored.read_bytes() == jsonl(request("a", "secret question"))
    page = RawPage(server.url)
    for route in ("/gradio_api/file=", "/gradio_api/file/", "/file="):
        assert page.http.get(server.url + route + str(stored)).status_code == 404
        assert httpx.get(server.url + route + str(stored), timeout=10).status_code == 404


def test_the_routes_are_in_the_openapi_schema(server):
    paths = httpx.get(f"{server.url}/api/openapi.json", timeout=10).json()["paths"]
    for path, method in [
        ("/api/v1/files", "post"),
        ("/api/v1/files", "get"),
        ("/api/v1/files/{file_id}", "get"),
        ("/api/v1/files/{file_id}", "delete"),
        ("/api/v1/files/{file_id}/content", "get"),
        ("/api/v1/batches", "post"),
        ("/api/v1/batches", "get"),
        ("/api/v1/batches/{batch_id}", "get"),
        ("/api/v1/batches/{batch_id}/cancel", "post"),
    ]:
        assert method in paths[path], (path, method)


def test_a_cloud_model_without_a_key_fails_its_rows_as_chat_completions_refuses_it(
    live_server, upstream
):
    """The open server (no keys): local models for everyone, cloud models only with a key."""
    with OpenAI(base_url=f"{live_server.url}/api/v1", api_key="anyone", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as refused:
            client.chat.completions.create(
                model="step-3.7-flash", messages=[{"role": "user", "content": "x"}]
            )
        data = jsonl(request("local", "fine"), request("cloud", "x", model="step-3.7-flash"))
        batch = client.batches.create(
            input_file_id=upload(client, data).id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
        done = wait(client, batch.id)
    assert done.status == "completed"
    assert done.request_counts.model_dump() == {"total": 2, "completed": 1, "failed": 1}
    [failed] = lines_of_client(live_server, "anyone", done.error_file_id)
    assert failed["custom_id"] == "cloud"
    assert failed["response"]["status_code"] == refused.value.status_code == 401
    error = failed["response"]["body"]["error"]
    assert error["code"] == refused.value.body["code"] == "cloud_model_needs_key"
    assert error["message"] == refused.value.body["message"]
    assert [r["messages"][-1]["content"] for r in upstream.chat_requests()] == ["fine"]


def lines_of_client(server, key: str, file_id: str) -> list[dict]:
    with sdk(server, key) as client:
        return lines_of(client, file_id)


def test_images_go_through_the_same_media_checks_as_chat(alice, upstream, tmp_path):
    picture = base64.b64encode(make_png(tmp_path / "p.png").read_bytes()).decode()
    junk = base64.b64encode(b"this is not an image at all").decode()

    def with_image(custom_id: str, data: str) -> dict:
        line = request(custom_id, "What is it?")
        line["body"]["messages"][0]["content"] = [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
            {"type": "text", "text": "What is it?"},
        ]
        return line

    with pytest.raises(openai.BadRequestError) as refused:
        alice.chat.completions.create(
            model="Step3-VL-10B", messages=with_image("x", junk)["body"]["messages"]
        )
    batch = alice.batches.create(
        input_file_id=upload(
            alice, jsonl(with_image("good", picture), with_image("junk", junk))
        ).id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    done = wait(alice, batch.id)
    assert done.request_counts.model_dump() == {"total": 2, "completed": 1, "failed": 1}
    assert [r["custom_id"] for r in lines_of(alice, done.output_file_id)] == ["good"]
    [failed] = lines_of(alice, done.error_file_id)
    assert failed["custom_id"] == "junk"
    assert failed["response"]["status_code"] == 400
    assert failed["response"]["body"]["error"]["message"] == refused.value.body["message"]
    [sent] = upstream.chat_requests()
    assert sent["messages"][0]["content"][0]["type"] == "image_url"
