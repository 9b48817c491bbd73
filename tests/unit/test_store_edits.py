"""The store operations behind regenerate, edit and undo: truncate after a message and replace a
question, each only in the owner's own conversations, media references kept only where used."""

from __future__ import annotations

from app.store import COMPLETE, MediaRef, Store

OWNER, OTHER = "anon:owner", "anon:other"
PHOTO = MediaRef(sha256="c" * 64, filename="p.png", kind="image", mime="image/png", size_bytes=9)
CHART = MediaRef(sha256="d" * 64, filename="c.png", kind="image", mime="image/png", size_bytes=9)


def three_turns(store: Store) -> tuple[str, list[int]]:
    """A conversation of three answered questions; the first with PHOTO, the third with CHART."""
    conv = store.conversations.create(OWNER, model="Step3-VL-10B", effort=None, detail="low")
    ids = []
    for n, media in ((1, [PHOTO]), (2, []), (3, [CHART])):
        ids.append(store.messages.add_user(OWNER, conv.id, f"question {n}", media).id)
        answer = store.messages.start_answer(conv.id, model="Step3-VL-10B", effort=None)
        store.messages.save_answer(answer, text=f"answer {n}", thinking="", status=COMPLETE)
        ids.append(answer)
    return conv.id, ids


def texts(store: Store, conversation_id: str) -> list[str]:
    return [m.text for m in store.messages.list(OWNER, conversation_id)]


def test_truncate_after_a_question_keeps_it_and_drops_what_follows(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv, ids = three_turns(store)
    assert store.media.owned_by(OWNER, CHART.sha256)  # before: the third question holds it
    assert store.messages.truncate_after(OWNER, conv, ids[0]) == 5
    assert texts(store, conv) == ["question 1"]
    # The first question's photo is still referenced; the third's chart no longer is.
    assert store.media.owned_by(OWNER, PHOTO.sha256)
    assert not store.media.owned_by(OWNER, CHART.sha256)
    assert CHART.sha256 not in store.media.referenced()


def test_truncate_inclusive_takes_the_last_turn_back(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv, ids = three_turns(store)
    assert store.messages.truncate_after(OWNER, conv, ids[4], inclusive=True) == 2
    assert texts(store, conv) == ["question 1", "answer 1", "question 2", "answer 2"]


def test_truncate_in_someone_elses_conversation_deletes_nothing(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv, ids = three_turns(store)
    assert store.messages.truncate_after(OTHER, conv, ids[0]) == 0
    assert len(texts(store, conv)) == 6


def test_replace_a_question_keeps_its_media_and_the_conversation_order(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv, ids = three_turns(store)
    assert store.messages.replace_question(OWNER, ids[0], "question 1, edited")
    messages = store.messages.list(OWNER, conv)
    assert messages[0].text == "question 1, edited"
    assert [m.sha256 for m in messages[0].media] == [PHOTO.sha256]
    assert [m.id for m in messages] == ids


def test_replace_refuses_answers_and_other_owners(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    conv, ids = three_turns(store)
    assert not store.messages.replace_question(OWNER, ids[1], "an answer is not a question")
    assert not store.messages.replace_question(OTHER, ids[0], "not yours")
    assert texts(store, conv)[:2] == ["question 1", "answer 1"]
