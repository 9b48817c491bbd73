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

from bench import harness  # first: chooses the checkout whose app is measured

# isort: split

from app.store import COMPLETE, Store

CONVERSATIONS = 1_000
MESSAGES_PER_CONVERSATION = 50  # 50,000 in all
OWNER = "anon:bench"
SMALL_OWNER = "anon:small"  # the reference: the same operations for someone with 10 chats
SMALL_CONVERSATIONS = 10


def connection(store: Store):
    """The store's connection (before issue 12 the Store was one class with `_connection`)."""
    return store.db.connection() if hasattr(store, "db") else store._connection()


def populate(store: Store) -> list[str]:
    ids = []
    conn = connection(store)
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
    for c in range(SMALL_CONVERSATIONS):
        conn.execute(
            "INSERT INTO conversations (id, owner, title, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (f"small-{c}", SMALL_OWNER, f"Invoice {c} from supplier {c}", now + c, now + c),
        )
        for m in range(MESSAGES_PER_CONVERSATION):
            conn.execute(
                "INSERT INTO messages (conversation_id, role, text, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (f"small-{c}", "user", f"message {m} of conversation {c}", COMPLETE, now, now),
            )
    conn.execute("COMMIT")
    return ids


def operations(store: Store, owner: str, conversation: str) -> list[tuple[str, str, object]]:
    """(key, label, call) for what the sidebar and switching do, in either Store's API."""
    if hasattr(store, "conversations"):
        list_, messages, latest = (
            store.conversations.list,
            store.messages.list,
            store.conversations.latest,
        )
    else:  # before issue 12
        list_, messages, latest = (
            store.list_conversations,
            store.messages,
            store.latest_conversation,
        )
    return [
        ("store_list", "sidebar: list newest 200", lambda: list_(owner, limit=200)),
        (
            "store_search_title",
            "sidebar: search titles+messages 'supplier 42'",
            lambda: list_(owner, "supplier 42"),
        ),
        (
            "store_search_text",
            "sidebar: search message text (no title hit)",
            lambda: list_(owner, "message 49 of conversation 999"),
        ),
        (
            "store_switch",
            "switch: load one conversation (50 msgs)",
            lambda: messages(owner, conversation),
        ),
        ("store_latest", "page load: latest conversation", lambda: latest(owner)),
    ]


def timed(fn, repeat: int = 30) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def figures(quick: bool = False) -> dict[str, dict]:
    repeat = 10 if quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite3")
        ids = populate(store)
        big = operations(store, OWNER, ids[len(ids) // 2])
        small = operations(store, SMALL_OWNER, "small-5")
        results = {}
        for (key, label, call), (_, _, small_call) in zip(big, small, strict=True):
            median, p95 = timed(call, repeat)
            results[key] = harness.figure(
                f"{label}, 1,000 conversations",
                median,
                reference=timed(small_call, repeat)[0],
                reference_label=f"same for {SMALL_CONVERSATIONS} conversations",
                note=f"p95 {p95:.2f} ms",
            )
    return results


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
        print(f"{'operation':58} {'median ms':>10} {'p95 ms':>8}")
        for _, name, fn in operations(store, OWNER, ids[len(ids) // 2]):
            median, p95 = timed(fn)
            print(f"{name:58} {median:10.2f} {p95:8.2f}")


if __name__ == "__main__":
    main()
