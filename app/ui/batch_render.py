"""Batch jobs → what the Batch tab shows: the progress block, the results table, the list of
jobs, the download links. Pure functions of the service's records (app/batch/records.py: Job,
JobRow), no Gradio import, every word from the string table in the reader's language.

The markup carries data-* attributes (state, counts, position) so the page's script and the
browser tests read the same facts a person sees, without parsing translated words.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from app.batch.fields import prose
from app.batch.records import FINISHED_JOB_STATES, Job, JobRow
from app.i18n import ZH, render_record, t
from app.templates import template
from app.ui.render import duration, esc, zone

FIELD_COLUMNS_MAX = 12  # a structured answer with more top-level keys keeps them in the answer
FIELD_CHARS_MAX = 160  # a nested value (a list of items) shown as compact JSON, clipped
# The table is sent whole whenever a row finishes: bounded, so a job of thousands of files does
# not send megabytes every second (the downloads hold every row and every answer in full).
TABLE_ROWS_MAX = 200
ANSWER_CHARS_MAX = 1500


def title(job: Job, lang: str) -> str:
    """A job of a task template is called by the task's name, in the reader's language; else
    by the title the service gave it (the start of its question)."""
    tpl = template(job.template)
    return tpl.title_in(lang) if tpl else job.title


def finished(job: Job) -> bool:
    return job.state in FINISHED_JOB_STATES


def long_duration(seconds: float, lang: str) -> str:
    """12 s, 2 min 5 s, 1 h 20 min: what a person reads in an estimate of the time left."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return duration(seconds, lang) if seconds < 10 else t("time.s", lang, n=round(seconds))
    total = round(seconds)
    if total < 3600:
        return t("batch.time.min", lang, m=total // 60, s=total % 60)
    return t("batch.time.h", lang, h=total // 3600, m=(total % 3600) // 60)


# -- the progress block ---------------------------------------------------------------------------
def progress_html(job: Job, lang: str, now: float) -> str:
    """Title and state, a bar (done in green, failed in red), the counts, and the time left
    (or the pause a rate limit imposed, or how long the finished job took)."""
    counts = job.counts
    total = max(counts.total, 0)
    state = str(job.state)
    finished_rows = counts.done + counts.failed
    remaining = max(total - finished_rows, 0)

    def share(n: int) -> str:
        return f"{(100 * n / total) if total else 0:.2f}%"

    if finished(job):
        took = (job.finished_at or now) - (job.started_at or job.created_at)
        timing = t("batch.took", lang, time=long_duration(took, lang))
    elif job.paused_until and job.paused_until > now:
        timing = t("batch.paused", lang, time=long_duration(job.paused_until - now, lang))
    elif job.eta_s is not None and remaining:
        timing = t("batch.eta", lang, time=long_duration(job.eta_s, lang))
    else:
        timing = t("batch.eta_unknown", lang) if remaining else ""
    counts_text = t(
        "batch.counts", lang, done=counts.done, failed=counts.failed, remaining=remaining
    )
    of_total = t("batch.of_total", lang, finished=finished_rows, total=total)
    name = title(job, lang)
    return (
        f'<div class="batch-progress" data-job="{esc(job.id)}" data-state="{esc(state)}"'
        f' data-total="{total}" data-done="{counts.done}" data-failed="{counts.failed}"'
        f' data-remaining="{remaining}">'
        f'<div class="bp-head"><span class="bp-title" title="{esc(name)}">{esc(name)}</span>'
        f'<span class="job-state state-{esc(state)}">{esc(t(f"batch.job.{state}", lang))}</span></div>'
        f'<div class="bp-bar" role="progressbar" aria-label="{esc(of_total)}" aria-valuemin="0"'
        f' aria-valuemax="{total}" aria-valuenow="{finished_rows}">'
        f'<span class="bp-done" style="width:{share(counts.done)}"></span>'
        f'<span class="bp-failed" style="width:{share(counts.failed)}"></span></div>'
        f'<div class="bp-line"><span class="bp-counts">{esc(counts_text)}</span>'
        f'<span class="bp-timing">{esc(timing)}</span></div>'
        f'<div class="bp-meta">{esc(job.model)}{" · " + esc(of_total)}</div>'
        f"</div>"
    )


def download_url(job_id: str, fmt: str) -> str:
    """Relative, as the chat's export links (a reverse proxy may serve the page under a prefix)."""
    return f"download/batches/{quote(job_id, safe='')}.{fmt}"


def thumb_url(sha256: str) -> str:
    return f"thumbs/{quote(sha256, safe='')}.jpg"


def downloads_html(job: Job | None, lang: str) -> str:
    if job is None:
        return ""
    links = "".join(
        f'<a class="batch-download" href="{esc(download_url(job.id, fmt))}" download'
        f' data-format="{fmt}">{esc(t(label, lang))}</a>'
        for fmt, label in (("csv", "batch.download_csv"), ("jsonl", "batch.download_jsonl"))
    )
    return f'<div class="batch-downloads">{links}</div>'


# -- the results table ----------------------------------------------------------------------------
def field_columns(rows: list[JobRow]) -> list[str]:
    """The top-level keys of the parsed answers, in the order they first appear."""
    columns: list[str] = []
    for row in rows:
        for key in row.fields or {}:
            if key not in columns:
                columns.append(str(key))
    return columns[:FIELD_COLUMNS_MAX]


def field_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= FIELD_CHARS_MAX else text[: FIELD_CHARS_MAX - 1] + "…"


def _thumb(row: JobRow, lang: str) -> str:
    if row.media_sha and row.kind == "image":
        return (
            f'<img class="batch-thumb" loading="lazy" src="{esc(thumb_url(row.media_sha))}" alt="">'
        )
    if row.media_sha and row.kind == "video":
        return f'<span class="batch-thumb video" title="{esc(t("batch.video", lang))}">▶</span>'
    return '<span class="batch-thumb none"></span>'


def _tokens(row: JobRow) -> str:
    if row.tokens_in is None and row.tokens_out is None:
        return ""
    return f"{row.tokens_in if row.tokens_in is not None else '?'} / {row.tokens_out if row.tokens_out is not None else '?'}"


def results_table(job: Job | None, rows: list[JobRow], lang: str) -> str:
    """One row per file, in the order the files were given: a thumbnail, the file name, its
    status, the answer (or why it failed), the parsed JSON fields of a structured task (a row
    whose answer is not JSON is marked), the time it took and the tokens it used."""
    if job is None:
        return ""
    total = len(rows)
    rows = rows[:TABLE_ROWS_MAX]
    columns = field_columns(rows)
    label = {key: t(f"batch.col.{key}", lang) for key in ("file", "status", "answer", "time")}
    label["tokens"] = t("batch.col.tokens", lang)
    head = (
        f'<th class="c-thumb"><span class="sr-only">{esc(t("batch.col.preview", lang))}</span></th>'
        f'<th class="c-file">{esc(label["file"])}</th>'
        f'<th class="c-status">{esc(label["status"])}</th>'
        f'<th class="c-answer">{esc(label["answer"])}</th>'
        + "".join(f'<th class="c-field">{esc(column)}</th>' for column in columns)
        + f'<th class="c-time">{esc(label["time"])}</th>'
        f'<th class="c-tokens">{esc(label["tokens"])}</th>'
    )
    body = []
    for row in rows:
        state = str(row.state)
        status = f'<span class="row-state {esc(state)}">{esc(t(f"batch.row.{state}", lang))}</span>'
        if row.fields_ok is False and row.answer:
            status += f'<span class="not-json">{esc(t("batch.mark.not_json", lang))}</span>'
        if state == "failed" and row.error:
            answer = f'<div class="row-error">{esc(render_record(row.error, lang))}</div>'
        else:
            shown_as_columns = row.fields_ok and columns and isinstance(row.fields, dict)
            text = prose(row.answer) if shown_as_columns else row.answer
            if len(text) > ANSWER_CHARS_MAX:
                text = text[: ANSWER_CHARS_MAX - 1] + "…"
            answer = f'<div class="answer-text">{esc(text)}</div>' if text else ""
        fields = row.fields if isinstance(row.fields, dict) else {}
        cells = "".join(
            f'<td class="c-field" data-label="{esc(column)}">'
            f"{esc(field_text(fields.get(column))) if fields else ''}</td>"
            for column in columns
        )
        took = duration(row.total_s, lang) if row.total_s is not None else ""
        body.append(
            f'<tr class="batch-row {esc(state)}" data-position="{row.position}"'
            f' data-state="{esc(state)}" data-name="{esc(row.name)}"'
            f' data-json="{"" if row.fields_ok is None else str(bool(row.fields_ok)).lower()}">'
            f'<td class="c-thumb">{_thumb(row, lang)}</td>'
            f'<td class="c-file" title="{esc(row.name)}">{esc(row.name)}</td>'
            f'<td class="c-status" data-label="{esc(label["status"])}">{status}</td>'
            f'<td class="c-answer" data-label="{esc(label["answer"])}">{answer}</td>'
            f"{cells}"
            f'<td class="c-time" data-label="{esc(label["time"])}">{esc(took)}</td>'
            f'<td class="c-tokens" data-label="{esc(label["tokens"])}">{esc(_tokens(row))}</td>'
            f"</tr>"
        )
    more = (
        f'<p class="batch-more">{esc(t("batch.more_rows", lang, shown=len(rows), total=total))}</p>'
        if total > len(rows)
        else ""
    )
    return (
        f'<div class="batch-table-wrap"><table class="batch-table" data-job="{esc(job.id)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{more}"
    )


# -- the list of jobs -----------------------------------------------------------------------------
def _when(timestamp: float, now: float, tz: str | None, lang: str) -> str:
    local = zone(tz)
    when, today = datetime.fromtimestamp(timestamp, local), datetime.fromtimestamp(now, local)
    if when.date() == today.date():
        return when.strftime("%H:%M")
    date = f"{when.month}月{when.day}日" if lang == ZH else when.strftime("%b %-d")
    if when.year != today.year:
        date = f"{when.year}年{date}" if lang == ZH else f"{date}, {when.year}"
    return f"{date} {when.strftime('%H:%M')}"


def jobs_list(
    jobs: list[Job], current: str | None, *, lang: str, tz: str | None, now: float
) -> str:
    """This owner's jobs, newest first, each with its state and how far it got; a click opens
    one (see JOBS_JS in ui/batch.py)."""
    if not jobs:
        return (
            f'<div class="job-list"><p class="job-empty">{esc(t("batch.no_jobs", lang))}</p></div>'
        )
    out = ['<div class="job-list" role="list">']
    for job in jobs:
        state = str(job.state)
        counts = job.counts
        progress = f"{counts.done + counts.failed}/{counts.total}"
        selected = " selected" if job.id == current else ""
        out.append(
            f'<div class="job-row{selected}" role="listitem" tabindex="0" data-id="{esc(job.id)}"'
            f' data-state="{esc(state)}" title="{esc(title(job, lang))}">'
            f'<span class="job-title">{esc(title(job, lang))}</span>'
            f'<span class="job-state state-{esc(state)}">{esc(t(f"batch.job.{state}", lang))}</span>'
            f'<span class="job-meta">{esc(progress)} · {esc(_when(job.created_at, now, tz, lang))}</span>'
            f"</div>"
        )
    out.append("</div>")
    return "".join(out)


def notice(text: str) -> str:
    """Why a job could not start, above the Start button."""
    return f"<div class='composer-notice' role='alert'>{esc(text)}</div>" if text else ""
