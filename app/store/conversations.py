"""Conversations: each belongs to one owner, and every read and write here names that owner, so
no caller reaches another owner's conversation by its id."""

from __future__ import annotations

import secrets
import sqlite3
import time
from typing import Any

from app.store.db import Database
from app.store.records import Conversation, decode_json, encode_json

UPDATABLE = {"title", "model", "effort", "detail", "settings"}


def new_id() -> str:
    return secrets.token_urlsafe(12)


def conversation_of(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        owner=row["owner"],
        title=row["title"],
        model=row["model"],
        effort=row["effort"],
        detail=row["detail"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        settings=decode_json(row["settings"]),
    )


class Conversations:
    def __init__(self, db: Database):
        self._db = db

    def insert(self, tx: sqlite3.Connection, conversation: Conversation) -> None:
        tx.execute(
            "INSERT INTO conversations (id, owner, title, model, effort, detail, settings,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation.id,
                conversation.owner,
                conversation.title,
                conversation.model,
                conversation.effort,
                conversation.detail,
                encode_json(conversation.settings),
                conversation.created_at,
                conversation.updated_at,
            ),
        )

    def create(
        self,
        owner: str,
        *,
        model: str | None,
        effort: str | None,
        detail: str = "low",
        title: str = "",
        settings: dict[str, Any] | None = None,
    ) -> Conversation:
        now = time.time()
        conversation = Conversation(
            new_id(), owner, title, model, effort, detail, now, now, settings or None
        )
        with self._db.tx() as tx:
            self.insert(tx, conversation)
        return conversation

    def get(self, owner: str, conversation_id: str) -> Conversation | None:
        row = (
            self._db.connection()
            .execute("SELECT * FROM conversations WHERE id=? AND owner=?", (conversation_id, owner))
            .fetchone()
        )
        return conversation_of(row) if row else None

    def latest(self, owner: str) -> Conversation | None:
        row = (
            self._db.connection()
            .execute(
                "SELECT * FROM conversations WHERE owner=? ORDER BY updated_at DESC LIMIT 1",
                (owner,),
            )
            .fetchone()
        )
        return conversation_of(row) if row else None

    def list(self, owner: str, query: str | None = None, limit: int = 200) -> list[Conversation]:
        """Newest first; with a query, those whose title or any message contains it."""
        conn = self._db.connection()
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
        return [conversation_of(r) for r in rows]

    def titles(self, owner: str) -> set[str]:
        rows = self._db.connection().execute(
            "SELECT title FROM conversations WHERE owner=?", (owner,)
        )
        return {r[0] for r in rows}

    def update(self, owner: str, conversation_id: str, **fields: Any) -> bool:
        if not fields or set(fields) - UPDATABLE:
            raise ValueError(f"can only update {sorted(UPDATABLE)}")
        if "settings" in fields:
            fields["settings"] = encode_json(fields["settings"])
        assignments = ", ".join(f"{name}=?" for name in fields)
        with self._db.tx() as tx:
            cur = tx.execute(
                f"UPDATE conversations SET {assignments} WHERE id=? AND owner=?",
                (*fields.values(), conversation_id, owner),
            )
            return cur.rowcount == 1

    def delete(self, owner: str, conversation_id: str) -> list[str]:
        """Delete; returns the media hashes it referred to (for `Janitor.discard`)."""
        with self._db.tx() as tx:
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
