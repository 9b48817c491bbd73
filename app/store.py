"""Session store: conversations, messages and media references in one SQLite file (WAL).

Every read and write is scoped by owner, so no caller can reach another owner's rows by id.
Connections are per thread (sqlite3 objects must not cross threads); writes are short
transactions, so many users streaming at once only contend for milliseconds.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.media import StoredMedia

SCHEMA_VERSION = 2

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
)

# Message status values.
COMPLETE = "complete"
STREAMING = "streaming"  # being written; if the process dies it becomes INTERRUPTED on restart
STOPPED = "stopped"
FAILED = "failed"
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class MediaRef:
    sha256: str
    filename: str
    kind: str
    mime: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None

    @classmethod
    def from_stored(cls, stored: StoredMedia, filename: str | None = None) -> MediaRef:
        """A message's reference to a library file, under the name the person gave it."""
        return cls(
            sha256=stored.sha256,
            filename=filename or stored.filename,
            kind=stored.kind,
            mime=stored.mime,
            size_bytes=stored.size_bytes,
            width=stored.width,
            height=stored.height,
            duration_s=stored.duration_s,
        )


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: str
    role: str
    text: str
    thinking: str = ""
    status: str = COMPLETE
    error: str | dict | None = None  # text, or a string-table record
    model: str | None = None
    effort: str | None = None
    notes: tuple[str | dict, ...] = ()
    usage: dict[str, Any] | None = None
    media: tuple[MediaRef, ...] = ()
    created_at: float = 0.0


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str
    model: str | None
    effort: str | None
    detail: str
    created_at: float
    updated_at: float


@dataclass
class ConversationWithMessages:
    conversation: Conversation
    messages: list[Message] = field(default_factory=list)


def encode_record(value: str | dict | None) -> str | None:
    """A note or error for a TEXT column: a string-table record as JSON, older text as is."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


def decode_record(value: str | None) -> str | dict | None:
    if value and value.startswith('{"key"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _new_id() -> str:
    return secrets.token_urlsafe(12)


def title_from(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._migrate()

    # -- plumbing ---------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
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
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
        conn = self._connection()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} was written by a newer version (schema {version} > {SCHEMA_VERSION})"
            )
        for target in range(version, SCHEMA_VERSION):
            with self._tx() as tx:
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version={target + 1}")

    def schema_version(self) -> int:
        return self._connection().execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> str:
        return self._connection().execute("PRAGMA integrity_check").fetchone()[0]

    def recover_interrupted(self) -> int:
        """Answers left `streaming` by a process that died are marked interrupted (at start)."""
        with self._tx() as tx:
            cur = tx.execute(
                "UPDATE messages SET status=?, updated_at=? WHERE status=?",
                (INTERRUPTED, time.time(), STREAMING),
            )
            return cur.rowcount

    # -- conversations ----------------------------------------------------------------------
    @staticmethod
    def _conversation(row: sqlite3.Row) -> Conversation:
        return Conversation(
            id=row["id"],
            owner=row["owner"],
            title=row["title"],
            model=row["model"],
            effort=row["effort"],
            detail=row["detail"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def create_conversation(
        self, owner: str, *, model: str | None, effort: str | None, detail: str = "low"
    ) -> Conversation:
        now = time.time()
        conv_id = _new_id()
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO conversations (id, owner, title, model, effort, detail, created_at,"
                " updated_at) VALUES (?, ?, '', ?, ?, ?, ?, ?)",
                (conv_id, owner, model, effort, detail, now, now),
            )
        return Conversation(conv_id, owner, "", model, effort, detail, now, now)

    def get_conversation(self, owner: str, conversation_id: str) -> Conversation | None:
        row = (
            self._connection()
            .execute("SELECT * FROM conversations WHERE id=? AND owner=?", (conversation_id, owner))
            .fetchone()
        )
        return self._conversation(row) if row else None

    def latest_conversation(self, owner: str) -> Conversation | None:
        row = (
            self._connection()
            .execute(
                "SELECT * FROM conversations WHERE owner=? ORDER BY updated_at DESC LIMIT 1",
                (owner,),
            )
            .fetchone()
        )
        return self._conversation(row) if row else None

    def list_conversations(
        self, owner: str, query: str | None = None, limit: int = 200
    ) -> list[Conversation]:
        conn = self._connection()
        if query and query.strip():
            pattern = "%" + query.strip().replace("\\", "\\\\").replace("%", "\\%") + "%"
            rows = conn.execute(
                "SELECT * FROM conversations c WHERE owner=? AND (title LIKE ? ESCAPE '\\' OR"
                " EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id=c.id"
                " AND m.text LIKE ? ESCAPE '\\')) ORDER BY updated_at DESC LIMIT ?",
                (owner, pattern, pattern, limit),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT * FROM conversations WHERE owner=? ORDER BY updated_at DESC LIMIT ?",
                (owner, limit),
            ).fetchall()
        return [self._conversation(r) for r in rows]

    def update_conversation(self, owner: str, conversation_id: str, **fields: Any) -> bool:
        allowed = {"title", "model", "effort", "detail"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"can only update {sorted(allowed)}")
        assignments = ", ".join(f"{name}=?" for name in fields)
        with self._tx() as tx:
            cur = tx.execute(
                f"UPDATE conversations SET {assignments} WHERE id=? AND owner=?",
                (*fields.values(), conversation_id, owner),
            )
            return cur.rowcount == 1

    def delete_conversation(self, owner: str, conversation_id: str) -> list[str]:
        """Delete; returns the media hashes it referred to (for `Janitor.discard`)."""
        with self._tx() as tx:
            shas = [
                r[0]
                for r in tx.execute(
                    "SELECT DISTINCT mm.sha256 FROM message_media mm JOIN messages m"
                    " ON m.id=mm.message_id JOIN conversations c ON c.id=m.conversation_id"
                    " WHERE c.id=? AND c.owner=?",
                    (conversation_id, owner),
                )
            ]
            cur = tx.execute(
                "DELETE FROM conversations WHERE id=? AND owner=?", (conversation_id, owner)
            )
            return shas if cur.rowcount else []

    # -- messages ---------------------------------------------------------------------------
    def record_media(self, media: Sequence[MediaRef]) -> None:
        with self._tx() as tx:
            for m in media:
                tx.execute(
                    "INSERT OR IGNORE INTO media (sha256, kind, mime, filename, size_bytes, width,"
                    " height, duration_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        m.sha256,
                        m.kind,
                        m.mime,
                        "",  # names belong to messages (message_media), never to shared content
                        m.size_bytes,
                        m.width,
                        m.height,
                        m.duration_s,
                        time.time(),
                    ),
                )

    def add_user_message(
        self, owner: str, conversation_id: str, text: str, media: Sequence[MediaRef] = ()
    ) -> Message:
        self.record_media(media)
        now = time.time()
        with self._tx() as tx:
            conv = tx.execute(
                "SELECT title FROM conversations WHERE id=? AND owner=?", (conversation_id, owner)
            ).fetchone()
            if conv is None:
                raise KeyError(conversation_id)
            cur = tx.execute(
                "INSERT INTO messages (conversation_id, role, text, status, created_at, updated_at)"
                " VALUES (?, 'user', ?, ?, ?, ?)",
                (conversation_id, text, COMPLETE, now, now),
            )
            message_id = cur.lastrowid
            for position, m in enumerate(media):
                tx.execute(
                    "INSERT INTO message_media (message_id, position, sha256, filename)"
                    " VALUES (?, ?, ?, ?)",
                    (message_id, position, m.sha256, m.filename),
                )
            title = conv["title"] or title_from(text or ", ".join(m.filename for m in media))
            tx.execute(
                "UPDATE conversations SET updated_at=?, title=? WHERE id=?",
                (now, title, conversation_id),
            )
        return Message(
            id=message_id,
            conversation_id=conversation_id,
            role="user",
            text=text,
            media=tuple(media),
            created_at=now,
        )

    def start_assistant_message(
        self, conversation_id: str, *, model: str, effort: str | None
    ) -> int:
        now = time.time()
        with self._tx() as tx:
            cur = tx.execute(
                "INSERT INTO messages (conversation_id, role, status, model, effort, created_at,"
                " updated_at) VALUES (?, 'assistant', ?, ?, ?, ?, ?)",
                (conversation_id, STREAMING, model, effort, now, now),
            )
            tx.execute("UPDATE conversations SET updated_at=? WHERE id=?", (now, conversation_id))
            return cur.lastrowid

    def save_assistant_message(
        self,
        message_id: int,
        *,
        text: str,
        thinking: str,
        status: str,
        notes: Sequence[str] = (),
        error: str | dict | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        with self._tx() as tx:
            tx.execute(
                "UPDATE messages SET text=?, thinking=?, status=?, notes=?, error=?, usage=?,"
                " updated_at=? WHERE id=? AND role='assistant'",
                (
                    text,
                    thinking,
                    status,
                    json.dumps(list(notes), ensure_ascii=False),
                    encode_record(error),
                    json.dumps(usage) if usage else None,
                    time.time(),
                    message_id,
                ),
            )

    def messages(self, owner: str, conversation_id: str) -> list[Message]:
        conn = self._connection()
        owned = conn.execute(
            "SELECT 1 FROM conversations WHERE id=? AND owner=?", (conversation_id, owner)
        ).fetchone()
        if not owned:
            return []
        media_rows = conn.execute(
            "SELECT mm.message_id, mm.filename, md.* FROM message_media mm"
            " JOIN messages m ON m.id=mm.message_id JOIN media md ON md.sha256=mm.sha256"
            " WHERE m.conversation_id=? ORDER BY mm.message_id, mm.position",
            (conversation_id,),
        ).fetchall()
        media_by_message: dict[int, list[MediaRef]] = {}
        for r in media_rows:
            media_by_message.setdefault(r["message_id"], []).append(
                MediaRef(
                    sha256=r["sha256"],
                    filename=r[1],
                    kind=r["kind"],
                    mime=r["mime"],
                    size_bytes=r["size_bytes"],
                    width=r["width"],
                    height=r["height"],
                    duration_s=r["duration_s"],
                )
            )
        rows = conn.execute(
            "SELECT * FROM messages WHERE conversation_id=? ORDER BY id", (conversation_id,)
        ).fetchall()
        return [
            Message(
                id=r["id"],
                conversation_id=conversation_id,
                role=r["role"],
                text=r["text"],
                thinking=r["thinking"],
                status=r["status"],
                error=decode_record(r["error"]),
                model=r["model"],
                effort=r["effort"],
                notes=tuple(json.loads(r["notes"] or "[]")),
                usage=json.loads(r["usage"]) if r["usage"] else None,
                media=tuple(media_by_message.get(r["id"], ())),
                created_at=r["created_at"],
            )
            for r in rows
        ]

    def owner_has_media(self, owner: str, sha256: str) -> bool:
        row = (
            self._connection()
            .execute(
                "SELECT 1 FROM message_media mm JOIN messages m ON m.id=mm.message_id"
                " JOIN conversations c ON c.id=m.conversation_id WHERE mm.sha256=? AND c.owner=?"
                " LIMIT 1",
                (sha256, owner),
            )
            .fetchone()
        )
        return row is not None

    def import_conversation(
        self,
        owner: str,
        *,
        title: str,
        model: str | None,
        effort: str | None,
        detail: str,
        messages: Sequence[tuple[dict[str, Any], Sequence[MediaRef]]],
    ) -> Conversation:
        """Write a whole exported conversation in one transaction (all or nothing)."""
        for _raw, media in messages:
            self.record_media(media)
        now = time.time()
        conv_id = _new_id()
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO conversations (id, owner, title, model, effort, detail, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (conv_id, owner, title, model, effort, detail, now, now),
            )
            for raw, media in messages:
                status = raw.get("status") or COMPLETE
                if status not in (COMPLETE, STOPPED, FAILED, INTERRUPTED):
                    status = INTERRUPTED  # e.g. exported while still streaming
                cur = tx.execute(
                    "INSERT INTO messages (conversation_id, role, text, thinking, status, error,"
                    " model, effort, notes, usage, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        conv_id,
                        raw["role"],
                        str(raw.get("text") or ""),
                        str(raw.get("thinking") or ""),
                        status,
                        encode_record(raw.get("error")),
                        raw.get("model"),
                        raw.get("effort"),
                        json.dumps(list(raw.get("notes") or []), ensure_ascii=False),
                        json.dumps(raw["usage"]) if raw.get("usage") else None,
                        float(raw.get("created_at") or now),
                        now,
                    ),
                )
                for position, m in enumerate(media):
                    tx.execute(
                        "INSERT INTO message_media (message_id, position, sha256, filename)"
                        " VALUES (?, ?, ?, ?)",
                        (cur.lastrowid, position, m.sha256, m.filename),
                    )
        return Conversation(conv_id, owner, title, model, effort, detail, now, now)

    def referenced_media(self) -> set[str]:
        """Every media hash some stored message still refers to (kept by the sweep)."""
        rows = self._connection().execute("SELECT DISTINCT sha256 FROM message_media")
        return {r[0] for r in rows}

    def forget_unreferenced_media(self, shas: Sequence[str]) -> list[str]:
        """Drop the rows of media no message refers to; returns the hashes that were dropped."""
        dropped = []
        with self._tx() as tx:
            for sha in shas:
                used = tx.execute(
                    "SELECT 1 FROM message_media WHERE sha256=? LIMIT 1", (sha,)
                ).fetchone()
                if not used:
                    tx.execute("DELETE FROM media WHERE sha256=?", (sha,))
                    tx.execute("DELETE FROM remote_files WHERE sha256=?", (sha,))
                    dropped.append(sha)
        return dropped

    # -- uploads from the page (Gradio's upload route) ----------------------------------------
    def record_uploads(self, owner: str, paths: Sequence[str]) -> None:
        now = time.time()
        with self._tx() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO uploads (owner, path, created_at) VALUES (?, ?, ?)",
                [(owner, path, now) for path in paths],
            )

    def owns_upload(self, owner: str, path: str) -> bool:
        row = (
            self._connection()
            .execute("SELECT 1 FROM uploads WHERE owner=? AND path=?", (owner, path))
            .fetchone()
        )
        return row is not None

    def expire_uploads(self, before: float) -> list[str]:
        """Forget uploads older than `before`; returns the paths nobody else still has."""
        with self._tx() as tx:
            old = [
                r[0]
                for r in tx.execute(
                    "SELECT DISTINCT path FROM uploads WHERE created_at < ?", (before,)
                )
            ]
            tx.execute("DELETE FROM uploads WHERE created_at < ?", (before,))
            return [
                path
                for path in old
                if not tx.execute("SELECT 1 FROM uploads WHERE path=? LIMIT 1", (path,)).fetchone()
            ]

    # -- remote file ids (StepFun Files API) --------------------------------------------------
    def remote_file_id(self, sha256: str, backend: str, variant: str) -> str | None:
        row = (
            self._connection()
            .execute(
                "SELECT file_id FROM remote_files WHERE sha256=? AND backend=? AND variant=?",
                (sha256, backend, variant),
            )
            .fetchone()
        )
        return row[0] if row else None

    def set_remote_file_id(self, sha256: str, backend: str, variant: str, file_id: str) -> None:
        with self._tx() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO remote_files (sha256, backend, variant, file_id,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                (sha256, backend, variant, file_id, time.time()),
            )

    def forget_remote_file(self, backend: str, file_id: str) -> None:
        with self._tx() as tx:
            tx.execute("DELETE FROM remote_files WHERE backend=? AND file_id=?", (backend, file_id))
