"""Sidebar and switching latency with 1,000 conversations and 50,000 messages for one owner.

Run: .venv/bin/python bench/bench_store.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.store import COMPLETE, Store

CONVERSATIONS = 1_000
MESSAGES_PER_CONVERSATION = 50  # 50,000 in all
OWNER = "anon:bench"


def populate(store: Store) -> list[str]:
    ids = []
    conn = store.db.connection()
    now = time.time()
    conn.execute("BEGIN")
    for c in range(CONVERSATIONS):
        conv_id = f"conv-{c:05d}"
        ids.append(conv_id)
        conn.execute(
            "INSERT INTO conversations (id, owner, title, model, effort, detail, created_at,"
            " updated_at) VALUES (?, ?, ?, 'Step3-VL-10B', NULL, 'low', ?, ?)",
            (conv_id, OWNER, f"Invoice {c} from supplier {c % 97}", now + c, now + c),
        )
        for m in range(MESSAGES_PER_CONVERSATION):
            role = "user" if m % 2 == 0 else "assistant"
            text = f"message {m} of conversation {c}: " + "lorem ipsum dolor sit amet " * 8
            conn.execute(
                "INSERT INTO messages (conversation_id, role, text, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (conv_id, role, text, COMPLETE, now, now),
            )
    # A second owner with the same volume, so owner scoping is part of what is measured.
    for c in range(CONVERSATIONS):
        conn.execute(
            "INSERT INTO conversations (id, owner, title, created_at, updated_at)"
            " VALUES (?, 'anon:other', 'x', ?, ?)",
            (f"other-{c}", now, now),
        )
    conn.execute("COMMIT")
    return ids


def timed(fn, repeat: int = 30) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite3")
        start = time.perf_counter()
        ids = populate(store)
        print(
            f"populated {CONVERSATIONS} conversations / "
            f"{CONVERSATIONS * MESSAGES_PER_CONVERSATION} messages in "
            f"{time.perf_counter() - start:.1f} s"
        )
        rows = [
            ("list newest 200 (sidebar)", lambda: store.conversations.list(OWNER, limit=200)),
            (
                "search titles+messages 'supplier 42'",
                lambda: store.conversations.list(OWNER, "supplier 42"),
            ),
            (
                "search message text 'message 49 of conversation 999'",
                lambda: store.conversations.list(OWNER, "message 49 of conversation 999"),
            ),
            (
                "switch: load one conversation (50 msgs)",
                lambda: store.messages.list(OWNER, ids[len(ids) // 2]),
            ),
            ("latest conversation (page load)", lambda: store.conversations.latest(OWNER)),
        ]
        print(f"{'operation':58} {'median ms':>10} {'p95 ms':>8}")
        for name, fn in rows:
            median, p95 = timed(fn)
            print(f"{name:58} {median:10.2f} {p95:8.2f}")


if __name__ == "__main__":
    main()
