"""JSON out of structured answers, and a job's results as CSV and JSONL."""

import csv
import io
import json

import pytest

from app.batch.exports import to_csv, to_jsonl
from app.batch.fields import cell, extract_json, flatten, parse_fields
from app.batch.records import Job, JobCounts, JobRow, JobState, RowState
from app.i18n import ZH, record


@pytest.mark.parametrize(
    "answer, expected",
    [
        ('```json\n{"total": 12.5, "currency": "CNY"}\n```', {"total": 12.5, "currency": "CNY"}),
        ('Here it is:\n```\n{"a": 1}\n```\nThanks', {"a": 1}),
        ('{"a": {"b": 2}}', {"a": {"b": 2}}),
        ('The data: {"a": 1} and then some {text}.', {"a": 1}),
        ('```json\n{broken\n```\nbut {"ok": true}', {"ok": True}),
        ("[1, 2]", [1, 2]),
        ('```json\n{"merchant": "便利店"}\n```\nname,amount\nmilk,3', {"merchant": "便利店"}),
    ],
)
def test_extract_json(answer, expected):
    assert extract_json(answer) == expected


@pytest.mark.parametrize("answer", ["", "no json here", "{not: json}", "```json\n{oops\n```", "42"])
def test_no_json(answer):
    assert extract_json(answer) is None
    assert parse_fields(answer) == (None, False)


def test_flatten_nests_with_dots_and_keeps_lists_whole():
    value = {"merchant": {"name": "A", "addr": {"city": "SH"}}, "items": [{"n": 1}], "x": None}
    assert flatten(value) == {
        "merchant.name": "A",
        "merchant.addr.city": "SH",
        "items": [{"n": 1}],
        "x": None,
    }
    assert parse_fields("[1]") == ({"value": [1]}, True)
    assert cell([{"n": 1}]) == '[{"n":1}]' and cell(None) == "" and cell(2.5) == "2.5"


def _job() -> Job:
    return Job(
        id="job1",
        owner="anon:a",
        title="t",
        source="page",
        model="Step3-VL-10B",
        effort=None,
        detail="low",
        prompt="p",
        template="receipt",
        state=JobState.DONE,
        counts=JobCounts(3, 2, 1, 0),
        created_at=0.0,
        started_at=0.0,
        finished_at=1.0,
        eta_s=None,
        paused_until=None,
        structured=True,
    )


def _row(position, name, state, answer="", error=None, fields=None, fields_ok=None):
    return JobRow(
        job_id="job1",
        position=position,
        name=name,
        media_sha=None,
        kind="image",
        state=state,
        answer=answer,
        error=error,
        fields=fields,
        fields_ok=fields_ok,
        ttft_s=0.1,
        total_s=1.234,
        tokens_in=11,
        tokens_out=7,
        attempts=1,
        request=None,
        response=None,
    )


ROWS = [
    _row(
        0,
        "小票.jpg",
        RowState.DONE,
        '{"total": 5}',
        fields={"total": 5, "m.n": "店"},
        fields_ok=True,
    ),
    _row(1, "b.png", RowState.DONE, "=HYPERLINK(1)", fields=None, fields_ok=False),
    _row(
        2,
        "c.png",
        RowState.FAILED,
        error=record("backend.server_error", where="x", status_code=500, said=""),
    ),
]


def test_csv_has_a_bom_headers_in_the_readers_language_and_field_columns():
    name, data = to_csv(_job(), ROWS, ZH)
    assert name == "batch-job1.csv"
    assert data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == [
        "文件",
        "状态",
        "回答",
        "错误",
        "用时（秒）",
        "输入 token",
        "输出 token",
        "total",
        "m.n",
    ]
    assert table[1][:3] == ["小票.jpg", "成功", '{"total": 5}'] and table[1][7:] == ["5", "店"]
    assert table[1][4:7] == ["1.23", "11", "7"]
    assert table[2][2] == "'=HYPERLINK(1)"  # a formula is never run by a spreadsheet
    assert table[2][3] == "回答中没有有效的 JSON，请查看回答原文。"
    assert table[3][1] == "失败" and table[3][3] and table[3][7:] == ["", ""]


def test_jsonl_keeps_values_typed_and_errors_in_english():
    name, data = to_jsonl(_job(), ROWS)
    assert name == "batch-job1.jsonl"
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [line["file"] for line in lines] == ["小票.jpg", "b.png", "c.png"]
    assert lines[0]["fields"] == {"total": 5, "m.n": "店"} and lines[0]["fields_ok"] is True
    assert lines[1]["fields_ok"] is False and lines[1]["error"].startswith("The answer holds no")
    assert lines[2]["status"] == "failed" and lines[2]["error"]
    assert lines[0]["tokens_in"] == 11 and lines[0]["seconds"] == 1.234
