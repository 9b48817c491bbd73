"""The SQLite file: one connection per thread (sqlite3 objects must not cross threads), WAL, short
transactions, and the schema's migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Each entry upgrades the schema from version (index) to version (index + 1).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        model TEXT,
        effort TEXT,
        detail TEXT NOT NULL DEFAULT 'low',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX conversations_by_owner ON conversations(owner, updated_at DESC);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        text TEXT NOT NULL DEFAULT '',
        thinking TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'complete',
        error TEXT,
        model TEXT,
        effort TEXT,
        notes TEXT NOT NULL DEFAULT '[]',
        usage TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE TABLE media (
        sha256 TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        mime TEXT NOT NULL,
        filename TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        duration_s REAL,
        created_at REAL NOT NULL
    );
    CREATE TABLE message_media (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        sha256 TEXT NOT NULL REFERENCES media(sha256),
        filename TEXT NOT NULL,
        PRIMARY KEY (message_id, position)
    );
    CREATE INDEX message_media_by_sha ON message_media(sha256);
    CREATE TABLE remote_files (
        sha256 TEXT NOT NULL,
        backend TEXT NOT NULL,
        variant TEXT NOT NULL,
        file_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (sha256, backend, variant)
    );
    """,
    """
    CREATE TABLE uploads (
        owner TEXT NOT NULL,
        path TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (owner, path)
    );
    CREATE INDEX uploads_by_time ON uploads(created_at);
    """,
    """
    ALTER TABLE messages ADD COLUMN details TEXT;
    ALTER TABLE conversations ADD COLUMN settings TEXT;
    """,
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        effort TEXT,
        detail TEXT NOT NULL DEFAULT 'low',
        prompt TEXT NOT NULL DEFAULT '',
        template TEXT,
        structured INTEGER NOT NULL DEFAULT 0,
        cloud_allowed INTEGER NOT NULL DEFAULT 1,
        metadata TEXT,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        paused_until REAL
    );
    CREATE INDEX jobs_by_owner ON jobs(owner, created_at DESC);
    CREATE INDEX jobs_by_state ON jobs(state, created_at);
    CREATE TABLE job_rows (
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        media_sha TEXT REFERENCES media(sha256),
        kind TEXT,
        state TEXT NOT NULL,
        answer TEXT NOT NULL DEFAULT '',
        error TEXT,
        fields TEXT,
        fields_ok INTEGER,
        ttft_s REAL,
        total_s REAL,
        tokens_in INTEGER,
        tokens_out INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        request TEXT,
        response TEXT,
        finished_at REAL,
        PRIMARY KEY (job_id, position)
    );
    CREATE INDEX job_rows_by_state ON job_rows(job_id, state, position);
    CREATE INDEX job_rows_by_media ON job_rows(media_sha);
    """,
    # The OpenAI Files and Batch API (app/api/batches.py): file contents live under
    # <data dir>/api_files/, never served by the file route (media_access denies them).
    """
    CREATE TABLE api_files (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        filename TEXT NOT NULL,
        purpose TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX api_files_by_owner ON api_files(owner, created_at DESC);
    CREATE TABLE api_batches (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        job_id TEXT,
        input_file_id TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        completion_window TEXT NOT NULL,
        metadata TEXT,
        errors TEXT,
        output_file_id TEXT,
        error_file_id TEXT,
        created_at REAL NOT NULL,
        failed_at REAL,
        finalized_at REAL
    );
    CREATE INDEX api_batches_by_owner ON api_batches(owner, created_at DESC);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class Database:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._migrate()

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (taken at once: writers queue instead of failing mid-way)."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
        conn = self.connection()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} was written by a newer version (schema {version} > {SCHEMA_VERSION})"
            )
        for target in range(version, SCHEMA_VERSION):
            with self.tx() as tx:
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version={target + 1}")
