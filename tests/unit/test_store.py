import sqlite3
import threading

from app.store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    SCHEMA_VERSION,
    STREAMING,
    MediaRef,
    Store,
    title_from,
)

IMG = MediaRef(sha256="a" * 64, filename="cat.png", kind="image", mime="image/png", size_bytes=10)
VID = MediaRef(
    sha256="b" * 64,
    filename="clip.mp4",
    kind="video",
    mime="video/mp4",
    size_bytes=99,
    duration_s=10.0,
)


def test_schema_version_and_wal(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    assert store.schema_version() == SCHEMA_VERSION
    mode = sqlite3.connect(tmp_path / "db.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert store.integrity_check() == "ok"
    Store(tmp_path / "db.sqlite3")  # reopening does not migrate twice


def test_conversation_round_trip_with_media(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.conversations.create("anon:x", model="Step3-VL-10B", effort=None, detail="high")
    store.messages.add_user("anon:x", conv.id, "What is in these?", [IMG, VID])
    answer_id = store.messages.start_answer(conv.id, model="Step3-VL-10B", effort=None)
    store.messages.save_answer(
        answer_id,
        text="A cat.",
        thinking="Looking…",
        status=COMPLETE,
        notes=["sent frames"],
        usage={"prompt_tokens": 5},
    )
    messages = store.messages.list("anon:x", conv.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert [m.filename for m in messages[0].media] == ["cat.png", "clip.mp4"]
    assert messages[0].media[1].duration_s == 10.0
    assert messages[1].text == "A cat." and messages[1].thinking == "Looking…"
    assert messages[1].notes == ("sent frames",) and messages[1].usage == {"prompt_tokens": 5}
    assert store.conversations.get("anon:x", conv.id).title == "What is in these?"
    assert store.conversations.get("anon:x", conv.id).detail == "high"


def test_owners_cannot_see_each_other(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.conversations.create("anon:alice", model="m", effort=None)
    store.messages.add_user("anon:alice", conv.id, "secret", [IMG])
    assert store.conversations.get("anon:bob", conv.id) is None
    assert store.messages.list("anon:bob", conv.id) == []
    assert store.conversations.list("anon:bob") == []
    assert not store.conversations.update("anon:bob", conv.id, title="pwned")
    assert store.conversations.delete("anon:bob", conv.id) == []
    assert not store.media.owned_by("anon:bob", IMG.sha256)
    assert store.media.owned_by("anon:alice", IMG.sha256)
    try:
        store.messages.add_user("anon:bob", conv.id, "hi")
    except KeyError:
        pass
    else:
        raise AssertionError("bob wrote into alice's conversation")
    assert len(store.messages.list("anon:alice", conv.id)) == 1


def test_interrupted_answers_are_marked_on_recovery(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.conversations.create("o", model="m", effort=None)
    store.messages.add_user("o", conv.id, "q")
    answer_id = store.messages.start_answer(conv.id, model="m", effort=None)
    store.messages.save_answer(answer_id, text="partial", thinking="", status=STREAMING)
    assert Store(tmp_path / "db.sqlite3").messages.recover_interrupted() == 1
    last = store.messages.list("o", conv.id)[-1]
    assert (last.status, last.text) == (INTERRUPTED, "partial")


def test_delete_then_forget_only_unshared_media(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    a = store.conversations.create("o", model="m", effort=None)
    b = store.conversations.create("o", model="m", effort=None)
    store.messages.add_user("o", a.id, "one", [IMG, VID])
    store.messages.add_user("o", b.id, "two", [IMG])
    store.uploads.set_remote_id(VID.sha256, "stepfun", "video", "file-1")
    assert sorted(store.conversations.delete("o", a.id)) == sorted([IMG.sha256, VID.sha256])
    assert store.media.forget_unreferenced([IMG.sha256, VID.sha256]) == [VID.sha256]
    assert store.uploads.remote_id(VID.sha256, "stepfun", "video") is None
    assert store.media.owned_by("o", IMG.sha256) and not store.media.owned_by("o", VID.sha256)
    assert store.media.referenced() == {IMG.sha256}


def test_search_and_order(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    first = store.conversations.create("o", model="m", effort=None)
    store.messages.add_user("o", first.id, "invoice from ACME 100% paid")
    second = store.conversations.create("o", model="m", effort=None)
    store.messages.add_user("o", second.id, "holiday photos")
    assert [c.id for c in store.conversations.list("o")] == [second.id, first.id]
    assert [c.id for c in store.conversations.list("o", "acme")] == [first.id]
    assert [c.id for c in store.conversations.list("o", "100%")] == [first.id]
    assert store.conversations.list("o", "nothing-like-this") == []


def test_remote_file_ids(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    assert store.uploads.remote_id("s", "stepfun", "image-low") is None
    store.uploads.set_remote_id("s", "stepfun", "image-low", "file-abc")
    assert store.uploads.remote_id("s", "stepfun", "image-low") == "file-abc"
    store.uploads.forget_remote("stepfun", "file-abc")
    assert store.uploads.remote_id("s", "stepfun", "image-low") is None


def test_concurrent_writers(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.conversations.create("o", model="m", effort=None)
    errors = []

    def write(n):
        try:
            for i in range(25):
                store.messages.add_user("o", conv.id, f"{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.messages.list("o", conv.id)) == 200


def test_title_from():
    assert title_from("  hello\n world ") == "hello world"
    assert title_from("x" * 100).endswith("…") and len(title_from("x" * 100)) == 60


def test_failed_answer_keeps_error(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.conversations.create("o", model="m", effort=None)
    store.messages.add_user("o", conv.id, "q")
    answer_id = store.messages.start_answer(conv.id, model="m", effort=None)
    store.messages.save_answer(answer_id, text="par", thinking="", status=FAILED, error="429")
    last = store.messages.list("o", conv.id)[-1]
    assert (last.status, last.error, last.text) == (FAILED, "429", "par")
