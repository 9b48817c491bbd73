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
    conv = store.create_conversation("anon:x", model="Step3-VL-10B", effort=None, detail="high")
    store.add_user_message("anon:x", conv.id, "What is in these?", [IMG, VID])
    answer_id = store.start_assistant_message(conv.id, model="Step3-VL-10B", effort=None)
    store.save_assistant_message(
        answer_id,
        text="A cat.",
        thinking="Looking…",
        status=COMPLETE,
        notes=["sent frames"],
        usage={"prompt_tokens": 5},
    )
    messages = store.messages("anon:x", conv.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert [m.filename for m in messages[0].media] == ["cat.png", "clip.mp4"]
    assert messages[0].media[1].duration_s == 10.0
    assert messages[1].text == "A cat." and messages[1].thinking == "Looking…"
    assert messages[1].notes == ("sent frames",) and messages[1].usage == {"prompt_tokens": 5}
    assert store.get_conversation("anon:x", conv.id).title == "What is in these?"
    assert store.get_conversation("anon:x", conv.id).detail == "high"


def test_owners_cannot_see_each_other(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.create_conversation("anon:alice", model="m", effort=None)
    store.add_user_message("anon:alice", conv.id, "secret", [IMG])
    assert store.get_conversation("anon:bob", conv.id) is None
    assert store.messages("anon:bob", conv.id) == []
    assert store.list_conversations("anon:bob") == []
    assert not store.update_conversation("anon:bob", conv.id, title="pwned")
    assert store.delete_conversation("anon:bob", conv.id) == []
    assert not store.owner_has_media("anon:bob", IMG.sha256)
    assert store.owner_has_media("anon:alice", IMG.sha256)
    try:
        store.add_user_message("anon:bob", conv.id, "hi")
    except KeyError:
        pass
    else:
        raise AssertionError("bob wrote into alice's conversation")
    assert len(store.messages("anon:alice", conv.id)) == 1


def test_interrupted_answers_are_marked_on_recovery(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.create_conversation("o", model="m", effort=None)
    store.add_user_message("o", conv.id, "q")
    answer_id = store.start_assistant_message(conv.id, model="m", effort=None)
    store.save_assistant_message(answer_id, text="partial", thinking="", status=STREAMING)
    assert Store(tmp_path / "db.sqlite3").recover_interrupted() == 1
    last = store.messages("o", conv.id)[-1]
    assert (last.status, last.text) == (INTERRUPTED, "partial")


def test_delete_then_forget_only_unshared_media(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    a = store.create_conversation("o", model="m", effort=None)
    b = store.create_conversation("o", model="m", effort=None)
    store.add_user_message("o", a.id, "one", [IMG, VID])
    store.add_user_message("o", b.id, "two", [IMG])
    store.set_remote_file_id(VID.sha256, "stepfun", "video", "file-1")
    assert sorted(store.delete_conversation("o", a.id)) == sorted([IMG.sha256, VID.sha256])
    assert store.forget_unreferenced_media([IMG.sha256, VID.sha256]) == [VID.sha256]
    assert store.remote_file_id(VID.sha256, "stepfun", "video") is None
    assert store.owner_has_media("o", IMG.sha256) and not store.owner_has_media("o", VID.sha256)
    assert store.referenced_media() == {IMG.sha256}


def test_search_and_order(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    first = store.create_conversation("o", model="m", effort=None)
    store.add_user_message("o", first.id, "invoice from ACME 100% paid")
    second = store.create_conversation("o", model="m", effort=None)
    store.add_user_message("o", second.id, "holiday photos")
    assert [c.id for c in store.list_conversations("o")] == [second.id, first.id]
    assert [c.id for c in store.list_conversations("o", "acme")] == [first.id]
    assert [c.id for c in store.list_conversations("o", "100%")] == [first.id]
    assert store.list_conversations("o", "nothing-like-this") == []


def test_remote_file_ids(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    assert store.remote_file_id("s", "stepfun", "image-low") is None
    store.set_remote_file_id("s", "stepfun", "image-low", "file-abc")
    assert store.remote_file_id("s", "stepfun", "image-low") == "file-abc"
    store.forget_remote_file("stepfun", "file-abc")
    assert store.remote_file_id("s", "stepfun", "image-low") is None


def test_concurrent_writers(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.create_conversation("o", model="m", effort=None)
    errors = []

    def write(n):
        try:
            for i in range(25):
                store.add_user_message("o", conv.id, f"{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.messages("o", conv.id)) == 200


def test_title_from():
    assert title_from("  hello\n world ") == "hello world"
    assert title_from("x" * 100).endswith("…") and len(title_from("x" * 100)) == 60


def test_failed_answer_keeps_error(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv = store.create_conversation("o", model="m", effort=None)
    store.add_user_message("o", conv.id, "q")
    answer_id = store.start_assistant_message(conv.id, model="m", effort=None)
    store.save_assistant_message(answer_id, text="par", thinking="", status=FAILED, error="429")
    last = store.messages("o", conv.id)[-1]
    assert (last.status, last.error, last.text) == (FAILED, "429", "par")
