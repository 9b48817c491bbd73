"""Messages of a conversation: a person's questions and the answers, stored as rows (never the
whole chat as one document) and referring to their media by content hash.

Reads and new questions name the owner. An answer is written by the message id the engine got
when it started it, for a question whose owner it had already checked.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from app.store.db import Database
from app.store.media import MediaRows
from app.store.records import (
    Message,
    MessageStatus,
    decode_json,
    decode_record,
    encode_json,
    encode_record,
    title_from,
)


def message_of(row: sqlite3.Row, media: Sequence) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        text=row["text"],
        thinking=row["thinking"],
        status=MessageStatus(row["status"]),
        error=decode_record(row["error"]),
        model=row["model"],
        effort=row["effort"],
        notes=tuple(json.loads(row["notes"] or "[]")),
        usage=decode_json(row["usage"]),
        details=decode_json(row["details"]),
        media=tuple(media),
        created_at=row["created_at"],
    )


class Messages:
    def __init__(self, db: Database, media: MediaRows):
        self._db = db
        self._media = media

    def insert(self, tx: sqlite3.Connection, conversation_id: str, message: Message) -> int:
        now = time.time()
        cur = tx.execute(
            "INSERT INTO messages (conversation_id, role, text, thinking, status, error, model,"
            " effort, notes, usage, details, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                message.role,
                message.text,
                message.thinking,
                MessageStatus(message.status).value,
                encode_record(message.error),
                message.model,
                message.effort,
                json.dumps(list(message.notes), ensure_ascii=False),
                encode_json(message.usage),
                encode_json(message.details),
                message.created_at or now,
                now,
            ),
        )
        if message.media:
            self._media.link(tx, cur.lastrowid, message.media)
        return cur.lastrowid

    def add_user(
        self, owner: str, conversation_id: str, text: str, media: Sequence[Any] = ()
    ) -> Message:
        """A question, added to one of this owner's conversations (KeyError if not theirs).
        The first question names the conversation."""
        now = time.time()
        question = Message(0, conversation_id, "user", text, media=tuple(media), created_at=now)
        with self._db.tx() as tx:
            conversation = tx.execute(
                "SELECT title FROM conversations WHERE id=? AND owner=?", (conversation_id, owner)
            ).fetchone()
            if conversation is None:
                raise KeyError(conversation_id)
            message_id = self.insert(tx, conversation_id, question)
            title = conversation["title"] or title_from(
                text or ", ".join(m.filename for m in media)
            )
            tx.execute(
                "UPDATE conversations SET updated_at=?, title=? WHERE id=?",
                (now, title, conversation_id),
            )
        return Message(
            message_id, conversation_id, "user", text, media=tuple(media), created_at=now
        )

    def start_answer(self, conversation_id: str, *, model: str, effort: str | None) -> int:
        answer = Message(
            0,
            conversation_id,
            "assistant",
            "",
            status=MessageStatus.STREAMING,
            model=model,
            effort=effort,
        )
        with self._db.tx() as tx:
            message_id = self.insert(tx, conversation_id, answer)
            tx.execute(
                "UPDATE conversations SET updated_at=? WHERE id=?", (time.time(), conversation_id)
            )
            return message_id

    def save_answer(
        self,
        message_id: int,
        *,
        text: str,
        thinking: str,
        status: MessageStatus | str,
        notes: Sequence[str | dict] = (),
        error: str | dict | None = None,
        usage: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        with self._db.tx() as tx:
            tx.execute(
                "UPDATE messages SET text=?, thinking=?, status=?, notes=?, error=?, usage=?,"
                " details=?, updated_at=? WHERE id=? AND role='assistant'",
                (
                    text,
                    thinking,
                    MessageStatus(status).value,
                    json.dumps(list(notes), ensure_ascii=False),
                    encode_record(error),
                    encode_json(usage),
                    encode_json(details),
                    time.time(),
                    message_id,
                ),
            )

    def list(self, owner: str, conversation_id: str) -> list[Message]:
        """A conversation's messages in order; none if it is not this owner's."""
        conn = self._db.connection()
        owned = conn.execute(
            "SELECT 1 FROM conversations WHERE id=? AND owner=?", (conversation_id, owner)
        ).fetchone()
        if not owned:
            return []
        media = self._media.of_conversation(conversation_id)
        rows = conn.execute(
            "SELECT * FROM messages WHERE conversation_id=? ORDER BY id", (conversation_id,)
        ).fetchall()
        return [message_of(r, media.get(r["id"], ())) for r in rows]

    def truncate_after(
        self, owner: str, conversation_id: str, message_id: int, *, inclusive: bool = False
    ) -> int:
        """Delete every message after `message_id` (and it too, if `inclusive`) in one of this
        owner's conversations; their media references go with them (the janitor sweeps files
        nothing refers to any more). Returns how many messages were deleted."""
        with self._db.tx() as tx:
            cur = tx.execute(
                f"DELETE FROM messages WHERE conversation_id=? AND id{'>=' if inclusive else '>'}?"
                " AND EXISTS (SELECT 1 FROM conversations WHERE id=? AND owner=?)",
                (conversation_id, message_id, conversation_id, owner),
            )
            if cur.rowcount:
                tx.execute(
                    "UPDATE conversations SET updated_at=? WHERE id=?",
                    (time.time(), conversation_id),
                )
            return cur.rowcount

    def replace_question(self, owner: str, message_id: int, text: str) -> bool:
        """A question's new text (its media stay), in one of this owner's conversations."""
        with self._db.tx() as tx:
            cur = tx.execute(
                "UPDATE messages SET text=?, updated_at=? WHERE id=? AND role='user' AND"
                " conversation_id IN (SELECT id FROM conversations WHERE owner=?)",
                (text, time.time(), message_id, owner),
            )
            return cur.rowcount == 1

    def recover_interrupted(self) -> int:
        """Answers left streaming by a process that died are marked interrupted (at start)."""
        with self._db.tx() as tx:
            cur = tx.execute(
                "UPDATE messages SET status=?, updated_at=? WHERE status=?",
                (MessageStatus.INTERRUPTED.value, time.time(), MessageStatus.STREAMING.value),
            )
            return cur.rowcount
