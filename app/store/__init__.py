"""The store: one SQLite file (WAL) holding every owner's conversations, messages, media
references, uploads and batch jobs, one module per aggregate.

Calls are plain and blocking (microseconds to a few milliseconds); async callers run them in a
thread so the event loop never waits on the disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.store.api_files import ApiFiles
from app.store.conversations import Conversations, new_id
from app.store.db import SCHEMA_VERSION, Database
from app.store.jobs import Claim, Jobs
from app.store.media import MediaRows
from app.store.messages import Messages
from app.store.records import (
    Conversation,
    MediaRef,
    Message,
    MessageStatus,
    decode_record,
    encode_record,
    title_from,
)
from app.store.uploads import Uploads

COMPLETE = MessageStatus.COMPLETE
STREAMING = MessageStatus.STREAMING
STOPPED = MessageStatus.STOPPED
FAILED = MessageStatus.FAILED
INTERRUPTED = MessageStatus.INTERRUPTED

__all__ = [
    "COMPLETE",
    "FAILED",
    "INTERRUPTED",
    "SCHEMA_VERSION",
    "STOPPED",
    "STREAMING",
    "Claim",
    "Conversation",
    "MediaRef",
    "Message",
    "MessageStatus",
    "Store",
    "decode_record",
    "encode_record",
    "title_from",
]


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = Database(self.path)
        self.media = MediaRows(self.db)
        self.conversations = Conversations(self.db)
        self.messages = Messages(self.db, self.media)
        self.uploads = Uploads(self.db)
        self.jobs = Jobs(self.db, self.media)
        self.api_files = ApiFiles(self.db)

    def schema_version(self) -> int:
        return self.db.connection().execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> str:
        return self.db.connection().execute("PRAGMA integrity_check").fetchone()[0]

    def import_conversation(
        self, owner: str, conversation: Conversation, messages: Sequence[Message]
    ) -> Conversation:
        """A whole conversation of `owner`'s, written in one transaction (all or nothing)."""
        conversation = Conversation(**{**conversation.__dict__, "id": new_id(), "owner": owner})
        with self.db.tx() as tx:
            self.conversations.insert(tx, conversation)
            for message in messages:
                self.messages.insert(tx, conversation.id, message)
        return conversation
