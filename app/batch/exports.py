"""A job's results as files: CSV for spreadsheets, JSONL for programs.

The CSV is UTF-8 with a BOM (Excel reads Chinese right only then), headers in the reader's
language, one column per parsed JSON field after the fixed ones; a cell that starts like a
formula is quoted with a leading apostrophe, so opening a result never runs a formula a model
wrote. The JSONL keeps values typed (numbers, the fields as an object) and errors in English.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from app.batch.fields import cell
from app.batch.records import Job, JobRow, RowState
from app.i18n import EN, record, render_record, t

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "batch.col.file",
    "batch.col.status",
    "batch.col.answer",
    "batch.col.error",
    "batch.col.seconds",
    "batch.col.tokens_in",
    "batch.col.tokens_out",
)


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def field_names(rows: Sequence[JobRow]) -> list[str]:
    """Every parsed field, in the order first seen."""
    names: dict[str, None] = {}
    for row in rows:
        for name in row.fields or {}:
            names.setdefault(name, None)
    return list(names)


def row_error(row: JobRow, lang: str) -> str:
    """Why the row failed, or that its answer held no JSON when the job expects some."""
    if row.error is not None:
        return render_record(row.error, lang)
    if row.state is RowState.DONE and row.fields_ok is False:
        return render_record(record("batch.not_json"), lang)
    return ""


def _number(value: float | int | None) -> str:
    return "" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))


def file_stem(job: Job) -> str:
    return f"batch-{job.id}"


def to_csv(job: Job, rows: Sequence[JobRow], lang: str) -> tuple[str, bytes]:
    names = field_names(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([t(key, lang) for key in COLUMNS] + names)
    for row in rows:
        fixed = [
            row.name,
            t(f"batch.row.{row.state}", lang),
            row.answer,
            row_error(row, lang),
            _number(row.total_s),
            _number(row.tokens_in),
            _number(row.tokens_out),
        ]
        fields = row.fields or {}
        writer.writerow(
            [safe_cell(v) for v in fixed] + [safe_cell(cell(fields.get(n))) for n in names]
        )
    return f"{file_stem(job)}.csv", "\ufeff".encode() + out.getvalue().encode("utf-8")


def row_dict(row: JobRow) -> dict[str, Any]:
    item: dict[str, Any] = {
        "position": row.position,
        "file": row.name,
        "status": str(row.state),
        "answer": row.answer,
        "error": row_error(row, EN) or None,
        "seconds": row.total_s,
        "first_token_s": row.ttft_s,
        "tokens_in": row.tokens_in,
        "tokens_out": row.tokens_out,
    }
    if row.fields_ok is not None:
        item["fields_ok"] = row.fields_ok
        item["fields"] = row.fields
    return item


def to_jsonl(job: Job, rows: Sequence[JobRow]) -> tuple[str, bytes]:
    lines = [json.dumps(row_dict(row), ensure_ascii=False) for row in rows]
    return f"{file_stem(job)}.jsonl", ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
