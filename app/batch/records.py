"""What a batch job and its rows are: plain frozen dataclasses, shared by the store, the runner,
the page and the API (no Gradio, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class JobState(StrEnum):
    """Stored as text. A job is QUEUED until a row starts, RUNNING while rows are left,
    CANCELLING while rows in flight are being stopped, then CANCELLED or DONE."""

    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    DONE = "done"


class RowState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)
FINISHED_JOB_STATES = (JobState.DONE, JobState.CANCELLED)


@dataclass(frozen=True)
class JobCounts:
    total: int
    done: int
    failed: int
    pending: int  # pending + running: what is still to come

    @property
    def finished(self) -> int:
        return self.done + self.failed


@dataclass(frozen=True)
class Job:
    id: str
    owner: str
    title: str
    source: str  # "page" or "api"
    model: str
    effort: str | None
    detail: str
    prompt: str  # page jobs: the question asked of every file ("" for api jobs)
    template: str | None  # template id (app/templates.json) or None
    state: JobState
    counts: JobCounts
    created_at: float
    started_at: float | None
    finished_at: float | None
    eta_s: float | None  # estimate of the time left (None until 1 row finished)
    paused_until: float | None  # set while a 429 Retry-After holds the job
    structured: bool = False  # answers hold JSON: parsed into `JobRow.fields`
    cloud_allowed: bool = True  # api jobs sent without a key may not spend the StepFun key
    metadata: dict | None = None  # api jobs: the batch's metadata, as given


@dataclass(frozen=True)
class JobRow:
    job_id: str
    position: int  # 0-based, the order the files were given
    name: str  # file name (page) or custom_id (api)
    media_sha: str | None  # the stored media (app/media library), None for api rows
    kind: str | None  # "image" | "video" | None
    state: RowState
    answer: str  # the answer text ("" until done)
    error: str | dict | None  # an i18n record (app.i18n.record) or plain text: why it failed
    fields: dict | None  # structured templates: the JSON parsed from the answer
    fields_ok: bool | None  # None: not a structured job; False: answer not valid JSON
    ttft_s: float | None
    total_s: float | None
    tokens_in: int | None
    tokens_out: int | None
    attempts: int
    request: dict | None  # api rows: the chat completions body of that line
    response: dict | None  # api rows: the chat.completion object returned (for the output file)

    @property
    def can_run_again(self) -> bool:
        """A failed row whose file was stored (or an API line): what Retry failed sends again
        (the store's `retry_failed` applies the same rule); an unreadable file stays failed."""
        return self.state == RowState.FAILED and (
            self.media_sha is not None or self.request is not None
        )


@dataclass(frozen=True)
class NewRow:
    """A row as a job is created: a stored file, a file that could not be used (`error`), or
    an API line (`request`)."""

    name: str
    media_sha: str | None = None
    kind: str | None = None
    error: str | dict | None = None  # set: the row is created FAILED with this reason
    request: dict | None = None


@dataclass(frozen=True)
class RowOutcome:
    """What one finished row amounted to (written by `Jobs.finish_row`)."""

    answer: str
    fields: dict | None = None
    fields_ok: bool | None = None
    ttft_s: float | None = None
    total_s: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    response: dict | None = None
