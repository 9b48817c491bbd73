"""Media rows: what is known of each stored file (by content hash), and which messages (and batch
job rows) refer to it. A file's name belongs to the message that shows it, never to the shared content row."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from app.store.db import Database
from app.store.records import MediaRef


def media_ref_of(row: sqlite3.Row) -> MediaRef:
    """From a join of message_media (its `filename`) and media (everything else)."""
    return MediaRef(
        sha256=row["sha256"],
        filename=row["filename"],
        kind=row["kind"],
        mime=row["mime"],
        size_bytes=row["size_bytes"],
        width=row["width"],
        height=row["height"],
        duration_s=row["duration_s"],
    )


class MediaRows:
    def __init__(self, db: Database):
        self._db = db

    def insert(self, tx: sqlite3.Connection, media: Sequence[MediaRef]) -> None:
        tx.executemany(
            "INSERT OR IGNORE INTO media (sha256, kind, mime, filename, size_bytes, width,"
            " height, duration_s, created_at) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?)",
            [
                (
                    m.sha256,
                    m.kind,
                    m.mime,
                    m.size_bytes,
                    m.width,
                    m.height,
                    m.duration_s,
                    time.time(),
                )
                for m in media
            ],
        )

    def link(self, tx: sqlite3.Connection, message_id: int, media: Sequence[MediaRef]) -> None:
        """Make a message refer to its media, in order, under the names it gave them."""
        self.insert(tx, media)
        tx.executemany(
            "INSERT INTO message_media (message_id, position, sha256, filename) VALUES (?, ?, ?, ?)",
            [(message_id, position, m.sha256, m.filename) for position, m in enumerate(media)],
        )

    def of_conversation(self, conversation_id: str) -> dict[int, list[MediaRef]]:
        rows = self._db.connection().execute(
            "SELECT mm.message_id, mm.filename, md.sha256, md.kind, md.mime, md.size_bytes,"
            " md.width, md.height, md.duration_s FROM message_media mm"
            " JOIN messages m ON m.id=mm.message_id JOIN media md ON md.sha256=mm.sha256"
            " WHERE m.conversation_id=? ORDER BY mm.message_id, mm.position",
            (conversation_id,),
        )
        by_message: dict[int, list[MediaRef]] = {}
        for row in rows:
            by_message.setdefault(row["message_id"], []).append(media_ref_of(row))
        return by_message

    def owned_by(self, owner: str, sha256: str) -> bool:
        """Whether one of this owner's messages or batch job rows refers to the file."""
        conn = self._db.connection()
        row = conn.execute(
            "SELECT 1 FROM message_media mm JOIN messages m ON m.id=mm.message_id"
            " JOIN conversations c ON c.id=m.conversation_id WHERE mm.sha256=? AND c.owner=?"
            " LIMIT 1",
            (sha256, owner),
        ).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT 1 FROM job_rows r JOIN jobs j ON j.id=r.job_id"
                " WHERE r.media_sha=? AND j.owner=? LIMIT 1",
                (sha256, owner),
            ).fetchone()
        return row is not None

    def referenced(self) -> set[str]:
        """Every media hash a stored message or batch job row still refers to (kept by the
        sweep)."""
        rows = self._db.connection().execute(
            "SELECT sha256 FROM message_media UNION SELECT media_sha FROM job_rows"
            " WHERE media_sha IS NOT NULL"
        )
        return {r[0] for r in rows}

    def forget_unreferenced(self, shas: Sequence[str]) -> list[str]:
        """Drop the rows of media no message or job row refers to; returns the hashes that were
        dropped."""
        dropped = []
        with self._db.tx() as tx:
            for sha in shas:
                used = tx.execute(
                    "SELECT 1 FROM message_media WHERE sha256=?"
                    " UNION ALL SELECT 1 FROM job_rows WHERE media_sha=? LIMIT 1",
                    (sha, sha),
                ).fetchone()
                if not used:
                    tx.execute("DELETE FROM media WHERE sha256=?", (sha,))
                    tx.execute("DELETE FROM remote_files WHERE sha256=?", (sha,))
                    dropped.append(sha)
        return dropped
