"""Files and batches of the OpenAI-compatible API, per owner (an API key's owner): every read
and write names the owner, so another key reaches nothing by guessing an id.

The rows hold the metadata; a file's bytes live on disk under `<data dir>/api_files/<id>`
(written by app/api/batches.py), which the page's file route never serves."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from app.store.db import Database
from app.store.records import decode_json, encode_json


@dataclass(frozen=True)
class ApiFile:
    id: str
    owner: str
    filename: str
    purpose: str
    bytes: int
    created_at: float


@dataclass(frozen=True)
class ApiBatch:
    id: str
    owner: str
    job_id: str | None  # None when the input was refused before anything ran
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    errors: list[dict[str, Any]] | None  # line validation errors (OpenAI's `errors.data`)
    output_file_id: str | None
    error_file_id: str | None
    created_at: float
    failed_at: float | None
    finalized_at: float | None  # when the output/error files were written


def _file(row: sqlite3.Row) -> ApiFile:
    return ApiFile(**{key: row[key] for key in ApiFile.__dataclass_fields__})


def _batch(row: sqlite3.Row) -> ApiBatch:
    values = {key: row[key] for key in ApiBatch.__dataclass_fields__}
    values["metadata"] = decode_json(values["metadata"])
    values["errors"] = decode_json(values["errors"])
    return ApiBatch(**values)


class ApiFiles:
    def __init__(self, db: Database):
        self._db = db

    # -- files --------------------------------------------------------------------------------
    def add_file(self, file: ApiFile) -> None:
        with self._db.tx() as tx:
            tx.execute(
                "INSERT INTO api_files (id, owner, filename, purpose, bytes, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (file.id, file.owner, file.filename, file.purpose, file.bytes, file.created_at),
            )

    def file(self, owner: str, file_id: str) -> ApiFile | None:
        row = (
            self._db.connection()
            .execute("SELECT * FROM api_files WHERE owner=? AND id=?", (owner, file_id))
            .fetchone()
        )
        return _file(row) if row else None

    def files(self, owner: str, purpose: str | None = None, limit: int = 10000) -> list[ApiFile]:
        sql, args = "SELECT * FROM api_files WHERE owner=?", [owner]
        if purpose:
            sql, args = sql + " AND purpose=?", [*args, purpose]
        rows = self._db.connection().execute(
            sql + " ORDER BY created_at DESC, id LIMIT ?", (*args, limit)
        )
        return [_file(row) for row in rows]

    def delete_file(self, owner: str, file_id: str) -> bool:
        with self._db.tx() as tx:
            cursor = tx.execute("DELETE FROM api_files WHERE owner=? AND id=?", (owner, file_id))
            return cursor.rowcount > 0

    # -- batches ------------------------------------------------------------------------------
    def add_batch(self, batch: ApiBatch) -> None:
        with self._db.tx() as tx:
            tx.execute(
                "INSERT INTO api_batches (id, owner, job_id, input_file_id, endpoint,"
                " completion_window, metadata, errors, output_file_id, error_file_id,"
                " created_at, failed_at, finalized_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    batch.id,
                    batch.owner,
                    batch.job_id,
                    batch.input_file_id,
                    batch.endpoint,
                    batch.completion_window,
                    encode_json(batch.metadata),
                    encode_json(batch.errors),
                    batch.output_file_id,
                    batch.error_file_id,
                    batch.created_at,
                    batch.failed_at,
                    batch.finalized_at,
                ),
            )

    def batch(self, owner: str, batch_id: str) -> ApiBatch | None:
        row = (
            self._db.connection()
            .execute("SELECT * FROM api_batches WHERE owner=? AND id=?", (owner, batch_id))
            .fetchone()
        )
        return _batch(row) if row else None

    def batches(self, owner: str, *, after: str | None = None, limit: int = 20) -> list[ApiBatch]:
        """Newest first; `after` is the id of the last batch of the previous page."""
        conn = self._db.connection()
        if after:
            anchor = conn.execute(
                "SELECT created_at, id FROM api_batches WHERE owner=? AND id=?", (owner, after)
            ).fetchone()
            if anchor is None:
                return []
            rows = conn.execute(
                "SELECT * FROM api_batches WHERE owner=? AND (created_at < ? OR"
                " (created_at = ? AND id > ?)) ORDER BY created_at DESC, id LIMIT ?",
                (owner, anchor[0], anchor[0], anchor[1], limit),
            )
        else:
            rows = conn.execute(
                "SELECT * FROM api_batches WHERE owner=? ORDER BY created_at DESC, id LIMIT ?",
                (owner, limit),
            )
        return [_batch(row) for row in rows]

    def finalize(
        self, owner: str, batch_id: str, output_file_id: str | None, error_file_id: str | None
    ) -> None:
        """Record the result files once; a second call (another request raced) changes nothing."""
        with self._db.tx() as tx:
            tx.execute(
                "UPDATE api_batches SET output_file_id=?, error_file_id=?, finalized_at=?"
                " WHERE owner=? AND id=? AND finalized_at IS NULL",
                (output_file_id, error_file_id, time.time(), owner, batch_id),
            )
