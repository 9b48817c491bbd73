"""The Batch API's pure parts: input line checks, result lines, the batch object."""

from __future__ import annotations

import json

import pytest

from app.api.batch_format import (
    MAX_REPORTED_ERRORS,
    batch_object,
    check_lines,
    check_metadata,
    result_files,
    result_line,
)
from app.api.errors import ApiError
from app.batch.records import Job, JobCounts, JobRow, JobState, RowState
from app.i18n import record
from app.store.api_files import ApiBatch


def line(custom_id="r1", body=None, **extra) -> bytes:
    body = body or {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
        | extra
    ).encode()


def test_good_lines_pass_through_in_order_and_blank_lines_are_skipped():
    raw = b"\n".join([line("a"), b"", line("b"), b"  "]) + b"\n"
    requests, errors, count = check_lines(raw)
    assert (errors, count) == ([], 0)
    assert [r["custom_id"] for r in requests] == ["a", "b"]
    assert requests[0]["body"]["messages"][0]["content"] == "hi"


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        (b"{not json", "invalid_json_line", None),
        (b"[1, 2]", "invalid_json_line", None),
        (line(custom_id=None), "missing_required_parameter", "custom_id"),
        (line(custom_id=7), "invalid_custom_id", "custom_id"),
        (line(method="GET"), "invalid_method", "method"),
        (line(url="/v1/embeddings"), "invalid_url", "url"),
        (line(body=[1]), "invalid_request", "body"),
        (line(body={"model": "m", "messages": []}), "invalid_request", "body.messages"),
        (
            line(body={"messages": [{"role": "user", "content": "x"}]}),
            "invalid_request",
            "body.model",
        ),
        (
            line(
                body={"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
            ),
            "invalid_request",
            "body.stream",
        ),
        (
            line(
                body={
                    "model": "m",
                    "temperature": "hot",
                    "messages": [{"role": "user", "content": "x"}],
                }
            ),
            "invalid_request",
            "body.temperature",
        ),
    ],
)
def test_each_bad_line_is_reported_with_its_number_code_and_param(raw, code, param):
    requests, errors, count = check_lines(line("ok") + b"\n" + raw + b"\n")
    assert count == 1 and [r["custom_id"] for r in requests] == ["ok"]
    assert errors == [{"code": code, "message": errors[0]["message"], "line": 2, "param": param}]
    assert errors[0]["message"].startswith("Line 2: ")


def test_a_bad_data_url_is_caught_before_running():
    body = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}
                ],
            }
        ],
    }
    _, errors, _ = check_lines(line(body=body))
    assert errors[0]["param"] == "body.messages[0].content[0]"
    assert "base64" in errors[0]["message"]


def test_duplicate_custom_ids_and_empty_files():
    _, errors, count = check_lines(line("x") + b"\n" + line("x"))
    assert (count, errors[0]["code"], errors[0]["line"]) == (1, "duplicate_custom_id", 2)
    _, errors, count = check_lines(b"\n\n")
    assert (count, errors[0]["code"]) == (1, "empty_file")


def test_errors_are_counted_all_but_reported_up_to_a_limit():
    raw = b"\n".join(b"{bad" for _ in range(MAX_REPORTED_ERRORS + 5))
    requests, errors, count = check_lines(raw)
    assert (len(requests), len(errors), count) == (0, MAX_REPORTED_ERRORS, MAX_REPORTED_ERRORS + 5)


def test_metadata_rules():
    assert check_metadata({"k": "v"}) == {"k": "v"}
    assert check_metadata(None) is None
    for bad in ({"k": 1}, {"k" * 65: "v"}, {str(i): "v" for i in range(17)}, ["x"]):
        with pytest.raises(ApiError) as caught:
            check_metadata(bad)
        assert (caught.value.status, caught.value.param) == (400, "metadata")


def row(position: int, state: str, **extra) -> JobRow:
    values = dict(
        job_id="job1",
        position=position,
        name=f"c{position}",
        media_sha=None,
        kind=None,
        state=RowState(state),
        answer="",
        error=None,
        fields=None,
        fields_ok=None,
        ttft_s=None,
        total_s=None,
        tokens_in=None,
        tokens_out=None,
        attempts=1,
        request={"model": "Step3-VL-10B"},
        response=None,
    )
    return JobRow(**(values | extra))


def test_a_done_row_goes_to_the_output_file_with_its_completion():
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "choices": []}
    ok, out = result_line("batch_1", row(0, "done", response=completion))
    assert ok
    assert out["custom_id"] == "c0" and out["error"] is None
    assert out["id"].startswith("batch_req_") and out["response"]["request_id"].startswith("req_")
    assert out["response"]["status_code"] == 200 and out["response"]["body"] == completion


def test_a_done_row_without_a_kept_completion_gets_one_rebuilt():
    _, out = result_line("b", row(1, "done", answer="An apple.", tokens_in=5, tokens_out=3))
    body = out["response"]["body"]
    assert body["object"] == "chat.completion" and body["model"] == "Step3-VL-10B"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "An apple."}
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (record("model.cloud_needs_key", model="step-3.7-flash"), 401, "cloud_model_needs_key"),
        (record("model.unknown", model="nope"), 404, "model_not_found"),
        (record("backend.rate_limited", where="x"), 429, "rate_limited"),
        (record("backend.timeout", where="x"), 504, "timeout"),
        (record("backend.server_error", where="x"), 502, "server"),
        ("something broke", 500, "server_error"),
    ],
)
def test_a_failed_row_gets_the_status_and_error_chat_completions_would_give(error, status, code):
    ok, out = result_line("b", row(2, "failed", error=error))
    assert not ok
    assert out["response"]["status_code"] == status
    assert out["response"]["body"]["error"]["code"] == code
    assert out["response"]["body"]["error"]["message"]
    assert out["error"] is None


def test_rows_that_never_ran_are_cancelled_in_the_error_file_and_files_keep_input_order():
    rows = [
        row(2, "cancelled"),
        row(0, "done", answer="a"),
        row(1, "failed", error="x"),
        row(3, "pending"),
    ]
    output, errors = result_files("b", rows)
    assert [json.loads(x)["custom_id"] for x in output.decode().splitlines()] == ["c0"]
    failed = [json.loads(x) for x in errors.decode().splitlines()]
    assert [x["custom_id"] for x in failed] == ["c1", "c2", "c3"]
    assert failed[1]["response"] is None and failed[1]["error"]["code"] == "batch_cancelled"
    assert result_files("b", [row(0, "done")])[1] is None
    assert result_files("b", [])[0] is None
    assert result_line("b", row(0, "done"))[1]["id"] == result_line("b", row(0, "done"))[1]["id"]


def batch(**extra) -> ApiBatch:
    values = dict(
        id="batch_1",
        owner="o",
        job_id="j",
        input_file_id="file-1",
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"k": "v"},
        errors=None,
        output_file_id=None,
        error_file_id=None,
        created_at=1000.5,
        failed_at=None,
        finalized_at=None,
    )
    return ApiBatch(**(values | extra))


def job(state: str, **extra) -> Job:
    values = dict(
        id="j",
        owner="o",
        title="t",
        source="api",
        model="Step3-VL-10B",
        effort=None,
        detail="low",
        prompt="",
        template=None,
        state=JobState(state),
        counts=JobCounts(total=3, done=2, failed=1, pending=0),
        created_at=1000.5,
        started_at=1001.0,
        finished_at=1010.0,
        eta_s=None,
        paused_until=None,
    )
    return Job(**(values | extra))


@pytest.mark.parametrize(
    ("state", "started", "finalized", "status"),
    [
        ("queued", None, None, "validating"),
        ("queued", 1001.0, None, "in_progress"),
        ("running", 1001.0, None, "in_progress"),
        ("cancelling", 1001.0, None, "cancelling"),
        ("cancelled", 1001.0, None, "cancelling"),
        ("cancelled", 1001.0, 1011.0, "cancelled"),
        ("done", 1001.0, None, "finalizing"),
        ("done", 1001.0, 1011.0, "completed"),
    ],
)
def test_job_states_map_to_openai_statuses(state, started, finalized, status):
    out = batch_object(batch(finalized_at=finalized), job(state, started_at=started))
    assert out["status"] == status
    assert out["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    assert out["completed_at"] == (1010 if status == "completed" else None)
    assert out["cancelled_at"] == (1010 if status == "cancelled" else None)


def test_a_refused_batch_is_failed_with_its_errors():
    errors = [{"code": "invalid_json_line", "message": "Line 1: x", "line": 1, "param": None}]
    out = batch_object(batch(job_id=None, errors=errors, failed_at=1000.9), None)
    assert out["status"] == "failed" and out["failed_at"] == 1000
    assert out["errors"] == {"object": "list", "data": errors}
    assert out["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert (out["object"], out["created_at"], out["metadata"]) == ("batch", 1000, {"k": "v"})
