"""The Batch API's pure parts: checking an input file's lines before anything runs, the output
and error files' lines, and the batch object, all in OpenAI's shapes. No I/O here.

A line's body goes through the same parser and translation as `/chat/completions`
(app/api/schema.py, app/api/translate.py), so a batch refuses exactly what a single request
would; what depends on the model (capabilities, media, the key's right to cloud models) is
checked per row by the turn core, as for chat.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from app.api.errors import ApiError
from app.api.schema import parse_chat_request, parse_json
from app.api.translate import turn_request
from app.batch.service import MAX_JOB_ROWS

if TYPE_CHECKING:  # the runner's records (app/batch/records.py)
    from app.batch.records import Job, JobRow
    from app.store.api_files import ApiBatch

CHAT_URL = "/v1/chat/completions"
ENDPOINTS = (CHAT_URL,)
COMPLETION_WINDOWS = ("24h",)
WINDOW_S = 24 * 3600
MAX_LINES = MAX_JOB_ROWS  # OpenAI's limit for one batch
MAX_REPORTED_ERRORS = 100  # `errors.data` keeps the first ones; the count says how many more
METADATA_KEYS, METADATA_KEY_CHARS, METADATA_VALUE_CHARS = 16, 64, 512


def _error(line: int | None, code: str, message: str, param: str | None = None) -> dict:
    return {"code": code, "message": message, "line": line, "param": param}


def check_line(raw: bytes, number: int, seen: set[str]) -> tuple[dict | None, dict | None]:
    """(the request of one input line, None) or (None, its error); `seen` collects custom_ids."""
    try:
        line = parse_json(raw)
    except ApiError as exc:
        return None, _error(number, "invalid_json_line", f"Line {number}: {exc.message}")
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id.strip():
        return None, _error(
            number,
            "missing_required_parameter" if custom_id is None else "invalid_custom_id",
            f"Line {number}: custom_id must be a non-empty string.",
            "custom_id",
        )
    if custom_id in seen:
        return None, _error(
            number,
            "duplicate_custom_id",
            f"Line {number}: the custom_id {custom_id[:64]!r} is used by an earlier line.",
            "custom_id",
        )
    seen.add(custom_id)
    if line.get("method") != "POST":
        return None, _error(
            number, "invalid_method", f"Line {number}: method must be POST.", "method"
        )
    if line.get("url") not in ENDPOINTS:
        return None, _error(number, "invalid_url", f"Line {number}: url must be {CHAT_URL}.", "url")
    body = line.get("body")
    if not isinstance(body, dict):
        return None, _error(
            number, "invalid_request", f"Line {number}: body must be a JSON object.", "body"
        )
    if body.get("stream") is True:  # a batch answers whole; OpenAI refuses streaming here too
        return None, _error(
            number,
            "invalid_request",
            f"Line {number}: stream is not supported in a batch.",
            "body.stream",
        )
    try:
        # The same checks as /chat/completions, data URLs included; the policy needing the
        # model (cloud_allowed, capabilities) is the core's, per row.
        turn_request(parse_chat_request(body), cloud_allowed=False)
    except ApiError as exc:
        return None, _error(
            number,
            exc.code or "invalid_request",
            f"Line {number}: {exc.message}",
            f"body.{exc.param}" if exc.param else "body",
        )
    return {"custom_id": custom_id, "method": "POST", "url": CHAT_URL, "body": body}, None


def check_lines(raw: bytes) -> tuple[list[dict], list[dict], int]:
    """Every line of an input file: (requests, the first errors, how many errors in all).

    Blank lines are skipped; any error refuses the whole batch (nothing runs), as OpenAI does.
    """
    requests: list[dict] = []
    errors: list[dict] = []
    count = 0
    seen: set[str] = set()
    for number, text in enumerate(raw.split(b"\n"), start=1):
        if not text.strip():
            continue
        if len(requests) + count >= MAX_LINES:
            count += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(
                    _error(number, "too_many_lines", f"A batch holds at most {MAX_LINES} lines.")
                )
            break
        request, error = check_line(text, number, seen)
        if error is not None:
            count += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(error)
        elif request is not None:
            requests.append(request)
    if not requests and not count:
        errors.append(_error(None, "empty_file", "The input file holds no requests."))
        count = 1
    return requests, errors, count


def check_metadata(value: Any) -> dict[str, str] | None:
    """OpenAI's metadata rules: at most 16 string pairs, keys ≤ 64 and values ≤ 512 chars."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or len(value) > METADATA_KEYS
        or not all(
            isinstance(k, str)
            and isinstance(v, str)
            and len(k) <= METADATA_KEY_CHARS
            and len(v) <= METADATA_VALUE_CHARS
            for k, v in value.items()
        )
    ):
        raise ApiError(
            400,
            f"metadata must be an object of at most {METADATA_KEYS} string values (keys up to "
            f"{METADATA_KEY_CHARS} characters, values up to {METADATA_VALUE_CHARS}).",
            code="invalid_request",
            param="metadata",
        )
    return value


# -- the result files ---------------------------------------------------------------------------
def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def completion_of(row: JobRow) -> dict:
    """The chat.completion of a finished row: the one the runner kept, else one rebuilt from
    the row's answer and token counts (the same fields /chat/completions returns)."""
    if isinstance(row.response, dict):
        return row.response
    usage = None
    if row.tokens_in is not None and row.tokens_out is not None:
        usage = {
            "prompt_tokens": row.tokens_in,
            "completion_tokens": row.tokens_out,
            "total_tokens": row.tokens_in + row.tokens_out,
        }
    return {
        "id": f"chatcmpl-{_digest(row.job_id, str(row.position))}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": (row.request or {}).get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": row.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def result_line(batch_id: str, row: JobRow) -> tuple[bool, dict]:
    """(goes to the output file, the line) for one row of a finished or cancelled batch.

    Answers go to the output file with status 200; failures to the error file with the status
    and error body /chat/completions would have answered; rows that never ran (cancelled)
    to the error file with `batch_cancelled`, as OpenAI writes expired ones.
    """
    line_id = f"batch_req_{_digest(batch_id, str(row.position))}"
    request_id = f"req_{_digest(batch_id, str(row.position), 'request')}"
    state = str(row.state)
    if state == "done":
        response = {"status_code": 200, "request_id": request_id, "body": completion_of(row)}
        return True, {"id": line_id, "custom_id": row.name, "response": response, "error": None}
    if state == "failed":
        error = ApiError.of_record(row.error)
        response = {"status_code": error.status, "request_id": request_id, "body": error.body()}
        return False, {"id": line_id, "custom_id": row.name, "response": response, "error": None}
    cancelled = {"code": "batch_cancelled", "message": "The batch was cancelled before this ran."}
    return False, {"id": line_id, "custom_id": row.name, "response": None, "error": cancelled}


def result_files(batch_id: str, rows: Iterable[JobRow]) -> tuple[bytes | None, bytes | None]:
    """(output file, error file) as JSONL bytes in the input's order; None when empty."""
    output: list[str] = []
    failed: list[str] = []
    for row in sorted(rows, key=lambda r: r.position):
        ok, line = result_line(batch_id, row)
        (output if ok else failed).append(json.dumps(line, ensure_ascii=False))
    encode = lambda lines: ("\n".join(lines) + "\n").encode() if lines else None  # noqa: E731
    return encode(output), encode(failed)


# -- the batch object ---------------------------------------------------------------------------
def _ts(value: float | None) -> int | None:
    return int(value) if value is not None else None


def batch_status(batch: ApiBatch, job: Job | None) -> str:
    if batch.failed_at is not None or job is None:
        return "failed"
    state = str(job.state)
    if state == "queued":
        return "in_progress" if job.started_at else "validating"
    if state == "done":
        return "completed" if batch.finalized_at else "finalizing"
    if state == "cancelled":
        return "cancelled" if batch.finalized_at else "cancelling"
    return {"running": "in_progress", "cancelling": "cancelling"}.get(state, "in_progress")


def batch_object(batch: ApiBatch, job: Job | None) -> dict:
    """OpenAI's batch object for a stored batch and its job (None: refused before running)."""
    status = batch_status(batch, job)
    errors = None
    if batch.errors:
        errors = {"object": "list", "data": batch.errors}
    finished = _ts(job.finished_at) if job else None
    counts = job.counts if job else None
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": batch.endpoint,
        "model": job.model if job else None,
        "errors": errors,
        "input_file_id": batch.input_file_id,
        "completion_window": batch.completion_window,
        "status": status,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
        "created_at": int(batch.created_at),
        "in_progress_at": _ts(job.started_at) if job else None,
        "expires_at": int(batch.created_at + WINDOW_S),
        "finalizing_at": finished if status in ("finalizing", "completed") else None,
        "completed_at": finished if status == "completed" else None,
        "failed_at": _ts(batch.failed_at),
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": finished if status == "cancelled" else None,
        "request_counts": {
            "total": counts.total if counts else 0,
            "completed": counts.done if counts else 0,
            "failed": counts.failed if counts else 0,
        },
        "metadata": batch.metadata,
    }
