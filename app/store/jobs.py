"""Batch jobs and their rows, per owner, in the same SQLite file as the conversations.

Every read and write a person can reach names the owner; the runner's own calls (claim, finish,
fail, release, pause) take a job id it got from a claim. A row's state is the whole truth about
it: a row is claimed (pending -> running) in one transaction, so two workers never take the same
row; a row stored done is never claimed again, so a restart (SIGTERM or kill -9) repeats no
completed row; rows left running by a dead process go back to pending at start (`recover`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.batch.records import (
    ACTIVE_JOB_STATES,
    Job,
    JobCounts,
    JobRow,
    JobState,
    NewRow,
    RowOutcome,
    RowState,
)
from app.store.conversations import new_id
from app.store.db import Database
from app.store.media import MediaRows, media_ref_of
from app.store.records import MediaRef, decode_json, decode_record, encode_json, encode_record

ETA_WINDOW = 20  # rows: the pace of the last ones finished predicts the rest
_ACTIVE = tuple(str(s) for s in ACTIVE_JOB_STATES)


@dataclass(frozen=True)
class Claim:
    """A row a worker took: its job, the row, and its stored media (None for api rows)."""

    job: Job
    row: JobRow
    media: MediaRef | None


def _row_of(row: sqlite3.Row) -> JobRow:
    fields_ok = row["fields_ok"]
    return JobRow(
        job_id=row["job_id"],
        position=row["position"],
        name=row["name"],
        media_sha=row["media_sha"],
        kind=row["kind"],
        state=RowState(row["state"]),
        answer=row["answer"],
        error=decode_record(row["error"]),
        fields=decode_json(row["fields"]),
        fields_ok=None if fields_ok is None else bool(fields_ok),
        ttft_s=row["ttft_s"],
        total_s=row["total_s"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        attempts=row["attempts"],
        request=decode_json(row["request"]),
        response=decode_json(row["response"]),
    )


class Jobs:
    def __init__(self, db: Database, media: MediaRows):
        self._db = db
        self._media = media

    # -- building Job values ---------------------------------------------------------------------
    def _counts(self, conn: sqlite3.Connection, job_id: str) -> JobCounts:
        by_state = dict(
            conn.execute(
                "SELECT state, COUNT(*) FROM job_rows WHERE job_id=? GROUP BY state", (job_id,)
            ).fetchall()
        )
        return JobCounts(
            total=sum(by_state.values()),
            done=by_state.get(RowState.DONE, 0),
            failed=by_state.get(RowState.FAILED, 0),
            pending=by_state.get(RowState.PENDING, 0) + by_state.get(RowState.RUNNING, 0),
        )

    def _eta(self, conn: sqlite3.Connection, job_id: str, state: str, left: int) -> float | None:
        """Rows left times the interval between the last rows finished (with concurrency that
        interval is shorter than one row's time); one row finished: that row's time."""
        if state not in _ACTIVE or left == 0:
            return None if left else 0.0
        rows = conn.execute(
            "SELECT finished_at, total_s FROM job_rows WHERE job_id=? AND finished_at IS NOT NULL"
            " AND state IN ('done', 'failed') ORDER BY finished_at DESC LIMIT ?",
            (job_id, ETA_WINDOW),
        ).fetchall()
        if not rows:
            return None
        if len(rows) == 1:
            return left * (rows[0]["total_s"] or 0.0)
        interval = (rows[0]["finished_at"] - rows[-1]["finished_at"]) / (len(rows) - 1)
        return left * interval

    def _job_of(self, conn: sqlite3.Connection, row: sqlite3.Row, estimate: bool = True) -> Job:
        """The job of a `jobs` row; `estimate=False` leaves out the time left (it sorts the
        job's finished rows: not for the runner, which claims a row per answer)."""
        counts = self._counts(conn, row["id"])
        return Job(
            id=row["id"],
            owner=row["owner"],
            title=row["title"],
            source=row["source"],
            model=row["model"],
            effort=row["effort"],
            detail=row["detail"],
            prompt=row["prompt"],
            template=row["template"],
            state=JobState(row["state"]),
            counts=counts,
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            eta_s=self._eta(conn, row["id"], row["state"], counts.pending) if estimate else None,
            paused_until=row["paused_until"],
            structured=bool(row["structured"]),
            cloud_allowed=bool(row["cloud_allowed"]),
            metadata=decode_json(row["metadata"]),
        )

    # -- what an owner does ----------------------------------------------------------------------
    def create(
        self,
        owner: str,
        *,
        title: str,
        source: str,
        model: str,
        effort: str | None,
        detail: str,
        prompt: str,
        template: str | None,
        rows: Sequence[NewRow],
        media: Sequence[MediaRef] = (),
        structured: bool = False,
        cloud_allowed: bool = True,
        metadata: dict | None = None,
    ) -> Job:
        """The job and all its rows, in one transaction (a crash leaves all or nothing).
        `media`: the stored files the rows refer to (their rows in `media` are made here)."""
        job_id = new_id()
        now = time.time()
        with self._db.tx() as tx:
            self._media.insert(tx, media)
            tx.execute(
                "INSERT INTO jobs (id, owner, title, source, model, effort, detail, prompt,"
                " template, structured, cloud_allowed, metadata, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    owner,
                    title,
                    source,
                    model,
                    effort,
                    detail,
                    prompt,
                    template,
                    int(structured),
                    int(cloud_allowed),
                    encode_json(metadata),
                    str(JobState.QUEUED),
                    now,
                ),
            )
            tx.executemany(
                "INSERT INTO job_rows (job_id, position, name, media_sha, kind, state, error,"
                " request, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job_id,
                        position,
                        row.name,
                        row.media_sha,
                        row.kind,
                        str(RowState.FAILED if row.error is not None else RowState.PENDING),
                        encode_record(row.error),
                        encode_json(row.request),
                        now if row.error is not None else None,
                    )
                    for position, row in enumerate(rows)
                ],
            )
            self._settle(tx, job_id)
            return self._job_of(
                tx, tx.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            )

    def get(self, owner: str, job_id: str) -> Job | None:
        conn = self._db.connection()
        row = conn.execute("SELECT * FROM jobs WHERE id=? AND owner=?", (job_id, owner)).fetchone()
        return self._job_of(conn, row) if row else None

    def list(self, owner: str) -> list[Job]:
        """The owner's jobs, newest first."""
        conn = self._db.connection()
        rows = conn.execute(
            "SELECT * FROM jobs WHERE owner=? ORDER BY created_at DESC, rowid DESC", (owner,)
        ).fetchall()
        return [self._job_of(conn, row) for row in rows]

    def rows(self, owner: str, job_id: str) -> list[JobRow]:
        """The job's rows in order; [] when the job is not this owner's."""
        rows = (
            self._db.connection()
            .execute(
                "SELECT r.* FROM job_rows r JOIN jobs j ON j.id=r.job_id"
                " WHERE r.job_id=? AND j.owner=? ORDER BY r.position",
                (job_id, owner),
            )
            .fetchall()
        )
        return [_row_of(row) for row in rows]

    def counts(self, owner: str, job_id: str) -> JobCounts | None:
        job = self.get(owner, job_id)
        return job.counts if job else None

    def cancel(self, owner: str, job_id: str) -> Job | None:
        """Rows not started are cancelled; rows in flight are the runner's to stop (the job is
        CANCELLING until they have). A finished job stays as it is."""
        with self._db.tx() as tx:
            row = tx.execute(
                "SELECT state FROM jobs WHERE id=? AND owner=?", (job_id, owner)
            ).fetchone()
            if row is None:
                return None
            if row["state"] in _ACTIVE:
                tx.execute(
                    "UPDATE job_rows SET state=?, finished_at=? WHERE job_id=? AND state=?",
                    (str(RowState.CANCELLED), time.time(), job_id, str(RowState.PENDING)),
                )
                tx.execute(
                    "UPDATE jobs SET state=?, paused_until=NULL WHERE id=?",
                    (str(JobState.CANCELLING), job_id),
                )
                self._settle(tx, job_id)
            return self._job_of(
                tx, tx.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            )

    def retry_failed(self, owner: str, job_id: str) -> Job | None:
        """Failed rows that can run again go back to pending and the job is queued again. A file
        that could not be stored (no media) cannot run again and stays failed, with its reason."""
        with self._db.tx() as tx:
            row = tx.execute(
                "SELECT state, source FROM jobs WHERE id=? AND owner=?", (job_id, owner)
            ).fetchone()
            if row is None:
                return None
            if row["state"] != JobState.CANCELLING:
                changed = tx.execute(
                    "UPDATE job_rows SET state=?, error=NULL, finished_at=NULL"
                    " WHERE job_id=? AND state=? AND (media_sha IS NOT NULL OR request IS NOT NULL)",
                    (str(RowState.PENDING), job_id, str(RowState.FAILED)),
                ).rowcount
                if changed:
                    tx.execute(
                        "UPDATE jobs SET state=?, finished_at=NULL WHERE id=?",
                        (str(JobState.QUEUED), job_id),
                    )
            return self._job_of(
                tx, tx.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            )

    def delete(self, owner: str, job_id: str) -> bool:
        """Remove a job that is not running (cancel it first) and its rows; its media are then
        the janitor's to sweep once nothing else refers to them."""
        with self._db.tx() as tx:
            deleted = tx.execute(
                "DELETE FROM jobs WHERE id=? AND owner=? AND state NOT IN (?, ?, ?)",
                (job_id, owner, *_ACTIVE, str(JobState.CANCELLING)),
            ).rowcount
        return bool(deleted)

    # -- what the runner does ----------------------------------------------------------------------
    def recover(self) -> int:
        """At start: rows a previous process left running (it was killed) go back to pending,
        and cancellations it did not finish are finished. Returns how many rows went back."""
        with self._db.tx() as tx:
            moved = tx.execute(
                "UPDATE job_rows SET state=? WHERE state=?",
                (str(RowState.PENDING), str(RowState.RUNNING)),
            ).rowcount
            for (job_id,) in tx.execute(
                "SELECT id FROM jobs WHERE state=?", (str(JobState.CANCELLING),)
            ).fetchall():
                tx.execute(
                    "UPDATE job_rows SET state=?, finished_at=? WHERE job_id=? AND state=?",
                    (str(RowState.CANCELLED), time.time(), job_id, str(RowState.PENDING)),
                )
                self._settle(tx, job_id)
        return moved

    def active_ids(self) -> list[str]:
        """Jobs with work left (queued or running), oldest first."""
        rows = self._db.connection().execute(
            "SELECT id FROM jobs WHERE state IN (?, ?) ORDER BY created_at", _ACTIVE
        )
        return [r[0] for r in rows]

    def next_wake(self, now: float | None = None) -> float | None:
        """When the earliest pause of an active job with pending rows ends (None: no pause)."""
        now = time.time() if now is None else now
        row = (
            self._db.connection()
            .execute(
                "SELECT MIN(paused_until) FROM jobs WHERE state IN (?, ?) AND paused_until > ?",
                (*_ACTIVE, now),
            )
            .fetchone()
        )
        return row[0]

    def claim_next(self, now: float | None = None) -> Claim | None:
        """Atomically take the next pending row of the oldest active job not paused (pending ->
        running, attempts + 1). Jobs take turns by age: an old job finishes first."""
        now = time.time() if now is None else now
        with self._db.tx() as tx:
            found = tx.execute(
                "SELECT r.job_id, r.position FROM job_rows r JOIN jobs j ON j.id=r.job_id"
                " WHERE r.state=? AND j.state IN (?, ?)"
                " AND (j.paused_until IS NULL OR j.paused_until <= ?)"
                " ORDER BY j.created_at, r.position LIMIT 1",
                (str(RowState.PENDING), *_ACTIVE, now),
            ).fetchone()
            if found is None:
                return None
            job_id, position = found["job_id"], found["position"]
            tx.execute(
                "UPDATE job_rows SET state=?, attempts=attempts+1 WHERE job_id=? AND position=?",
                (str(RowState.RUNNING), job_id, position),
            )
            tx.execute(
                "UPDATE jobs SET state=?, started_at=COALESCE(started_at, ?), paused_until=NULL"
                " WHERE id=?",
                (str(JobState.RUNNING), now, job_id),
            )
            job = self._job_of(
                tx, tx.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone(), False
            )
            row = tx.execute(
                "SELECT * FROM job_rows WHERE job_id=? AND position=?", (job_id, position)
            ).fetchone()
            media = None
            if row["media_sha"]:
                ref = tx.execute(
                    "SELECT sha256, kind, mime, size_bytes, width, height, duration_s, ? AS filename"
                    " FROM media WHERE sha256=?",
                    (row["name"], row["media_sha"]),
                ).fetchone()
                media = media_ref_of(ref) if ref else None
            return Claim(job, _row_of(row), media)

    def finish_row(self, job_id: str, position: int, outcome: RowOutcome) -> bool:
        """Store a row's answer (only a row still running: a cancelled one stays cancelled).
        Returns whether it was stored."""
        with self._db.tx() as tx:
            stored = tx.execute(
                "UPDATE job_rows SET state=?, answer=?, error=NULL, fields=?, fields_ok=?,"
                " ttft_s=?, total_s=?, tokens_in=?, tokens_out=?, response=?, finished_at=?"
                " WHERE job_id=? AND position=? AND state=?",
                (
                    str(RowState.DONE),
                    outcome.answer,
                    encode_json(outcome.fields),
                    None if outcome.fields_ok is None else int(outcome.fields_ok),
                    outcome.ttft_s,
                    outcome.total_s,
                    outcome.tokens_in,
                    outcome.tokens_out,
                    encode_json(outcome.response),
                    time.time(),
                    job_id,
                    position,
                    str(RowState.RUNNING),
                ),
            ).rowcount
            self._settle(tx, job_id)
        return bool(stored)

    def fail_row(
        self, job_id: str, position: int, error: str | dict, total_s: float | None = None
    ) -> bool:
        with self._db.tx() as tx:
            stored = tx.execute(
                "UPDATE job_rows SET state=?, error=?, total_s=?, finished_at=?"
                " WHERE job_id=? AND position=? AND state=?",
                (
                    str(RowState.FAILED),
                    encode_record(error),
                    total_s,
                    time.time(),
                    job_id,
                    position,
                    str(RowState.RUNNING),
                ),
            ).rowcount
            self._settle(tx, job_id)
        return bool(stored)

    def release_row(self, job_id: str, position: int, *, cancelled: bool = False) -> None:
        """A row in flight that did not finish: back to pending (it runs again: a 429, a server
        stopping), or cancelled (its job is being cancelled)."""
        with self._db.tx() as tx:
            state = tx.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
            cancelling = state is not None and state["state"] in (
                JobState.CANCELLING,
                JobState.CANCELLED,
            )
            target = RowState.CANCELLED if (cancelled or cancelling) else RowState.PENDING
            tx.execute(
                "UPDATE job_rows SET state=?, finished_at=? WHERE job_id=? AND position=?"
                " AND state=?",
                (
                    str(target),
                    time.time() if target is RowState.CANCELLED else None,
                    job_id,
                    position,
                    str(RowState.RUNNING),
                ),
            )
            self._settle(tx, job_id)

    def pause(self, job_id: str, until: float) -> None:
        """Hold the job's pending rows until `until` (a 429's Retry-After); never shortens one."""
        with self._db.tx() as tx:
            tx.execute(
                "UPDATE jobs SET paused_until=MAX(COALESCE(paused_until, 0), ?) WHERE id=?"
                " AND state IN (?, ?)",
                (until, job_id, *_ACTIVE),
            )

    def _settle(self, tx: sqlite3.Connection, job_id: str) -> None:
        """A job with no row pending or running has ended: DONE, or CANCELLED if cancelling."""
        left = tx.execute(
            "SELECT 1 FROM job_rows WHERE job_id=? AND state IN (?, ?) LIMIT 1",
            (job_id, str(RowState.PENDING), str(RowState.RUNNING)),
        ).fetchone()
        if left:
            return
        state = tx.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()["state"]
        if state in (JobState.DONE, JobState.CANCELLED):
            return
        final = JobState.CANCELLED if state == JobState.CANCELLING else JobState.DONE
        tx.execute(
            "UPDATE jobs SET state=?, finished_at=?, paused_until=NULL WHERE id=?",
            (str(final), time.time(), job_id),
        )
