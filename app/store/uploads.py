"""Uploads both ways: files the page uploaded (who uploaded what, so a page can only attach its
own owner's files), and files uploaded once to a backend's Files API (their remote ids)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from app.store.db import Database


class Uploads:
    def __init__(self, db: Database):
        self._db = db

    # -- from the page (Gradio's upload route) --------------------------------------------------
    def record(self, owner: str, paths: Sequence[str]) -> None:
        now = time.time()
        with self._db.tx() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO uploads (owner, path, created_at) VALUES (?, ?, ?)",
                [(owner, path, now) for path in paths],
            )

    def owns(self, owner: str, path: str) -> bool:
        row = (
            self._db.connection()
            .execute("SELECT 1 FROM uploads WHERE owner=? AND path=?", (owner, path))
            .fetchone()
        )
        return row is not None

    def expire(self, before: float) -> list[str]:
        """Forget uploads older than `before`; returns the paths nobody else still has."""
        with self._db.tx() as tx:
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

    # -- to a backend's Files API (StepFun) ------------------------------------------------------
    def remote_id(self, sha256: str, backend: str, variant: str) -> str | None:
        row = (
            self._db.connection()
            .execute(
                "SELECT file_id FROM remote_files WHERE sha256=? AND backend=? AND variant=?",
                (sha256, backend, variant),
            )
            .fetchone()
        )
        return row[0] if row else None

    def set_remote_id(self, sha256: str, backend: str, variant: str, file_id: str) -> None:
        with self._db.tx() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO remote_files (sha256, backend, variant, file_id,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                (sha256, backend, variant, file_id, time.time()),
            )

    def forget_remote(self, backend: str, file_id: str) -> None:
        with self._db.tx() as tx:
            tx.execute("DELETE FROM remote_files WHERE backend=? AND file_id=?", (backend, file_id))
