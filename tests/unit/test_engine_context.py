"""app/engine.py `context_of`: which stored messages a new question is sent with."""

from __future__ import annotations

import itertools

import pytest

from app.core import MediaInput, TurnMessage
from app.engine import context_of
from app.store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    STOPPED,
    STREAMING,
    MediaRef,
    Message,
    MessageStatus,
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


class History:
    """Messages as the store hands them out, oldest first, with increasing ids."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._ids = itertools.count(1)

    def ask(self, text: str, *media: MediaRef) -> int:
        message = Message(next(self._ids), "c1", "user", text, media=tuple(media))
        self.messages.append(message)
        return message.id

    def answer(
        self, text: str, status: MessageStatus = COMPLETE, thinking: str = "", **fields
    ) -> int:
        message = Message(
            next(self._ids), "c1", "assistant", text, thinking=thinking, status=status, **fields
        )
        self.messages.append(message)
        return message.id


def test_answered_turns_are_kept_in_order():
    history = History()
    history.ask("Capital of France?")
    history.answer("Paris.")
    history.ask("And of Italy?")
    history.answer("Rome.")
    current = history.ask("And of Spain?")
    messages, skipped = context_of(history.messages, current)
    assert messages == [
        TurnMessage("user", "Capital of France?"),
        TurnMessage("assistant", "Paris."),
        TurnMessage("user", "And of Italy?"),
        TurnMessage("assistant", "Rome."),
        TurnMessage("user", "And of Spain?"),
    ]
    assert skipped == 0


def test_thinking_is_never_sent_back():
    history = History()
    history.ask("2+2?")
    history.answer("4.", thinking="Two plus two is four.", usage={"prompt_tokens": 3})
    current = history.ask("Times 3?")
    messages, _ = context_of(history.messages, current)
    assert messages[1] == TurnMessage("assistant", "4.")
    assert all("Two plus two" not in m.text for m in messages)


@pytest.mark.parametrize(
    ("status", "text", "kept"),
    [
        (COMPLETE, "Paris.", True),
        (STOPPED, "Par", True),  # stopped after some text: what arrived is an answer
        (INTERRUPTED, "Par", True),
        (COMPLETE, " \n ", False),  # nothing but whitespace is no answer
        (STOPPED, "", False),
        (STOPPED, "   ", False),
        (INTERRUPTED, "", False),
        (FAILED, "Par", False),  # failed, even with partial text
        (FAILED, "", False),
        (STREAMING, "Par", False),  # still being written
    ],
)
def test_a_question_without_a_usable_answer_is_left_out_with_its_answer(status, text, kept):
    history = History()
    history.ask("Capital of France?")
    history.answer(text, status, error={"key": "backend.rate_limited", "params": {}})
    current = history.ask("Capital of France, please?")
    messages, skipped = context_of(history.messages, current)
    if kept:
        assert [m.role for m in messages] == ["user", "assistant", "user"]
        assert messages[1].text == text
        assert skipped == 0
    else:
        assert messages == [TurnMessage("user", "Capital of France, please?")]
        assert skipped == 1


def test_a_question_that_has_no_answer_at_all():
    history = History()
    history.ask("first, never answered")
    current = history.ask("second")
    messages, skipped = context_of(history.messages, current)
    assert messages == [TurnMessage("user", "second")]
    assert skipped == 1


def test_only_unanswered_questions_directly_before_are_counted():
    history = History()
    history.ask("q1")
    history.answer("", FAILED)
    history.ask("q2")
    history.answer("a2")
    history.ask("q3")
    history.answer("", FAILED)
    history.ask("q4")  # no answer row at all (e.g. the page was closed before it started)
    history.ask("q5")
    history.answer("", STOPPED)
    current = history.ask("q6")
    messages, skipped = context_of(history.messages, current)
    assert [(m.role, m.text) for m in messages] == [
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q6"),
    ]
    assert skipped == 3
    # An answered question in between starts the count again.
    history = History()
    history.ask("q1")
    history.answer("", FAILED)
    history.ask("q2")
    history.answer("a2")
    current = history.ask("q3")
    assert context_of(history.messages, current)[1] == 0


def test_the_failed_text_never_merges_into_the_next_question():
    history = History()
    history.ask("Describe the image", IMG)
    history.answer("It shows a ca", FAILED)
    current = history.ask("Describe the image", IMG)
    messages, _ = context_of(history.messages, current)
    assert len(messages) == 1 and messages[0].text == "Describe the image"
    assert len(messages[0].media) == 1  # the image once, not twice


def test_messages_after_the_question_are_not_sent():
    history = History()
    history.ask("q1")
    history.answer("a1")
    current = history.ask("q2")
    history.answer("a2")
    history.ask("q3")
    messages, skipped = context_of(history.messages, current)
    assert [m.text for m in messages] == ["q1", "a1", "q2"] and skipped == 0


def test_media_go_as_media_inputs_named_as_the_message_named_them():
    history = History()
    history.ask("What is this?", IMG)
    history.answer("A cat.")
    current = history.ask("And this?", VID, IMG)
    messages, _ = context_of(history.messages, current)
    assert messages[0].media == (MediaInput("image", "cat.png", ref=IMG),)
    assert messages[1].media == ()
    assert messages[2] == TurnMessage(
        "user",
        "And this?",
        (MediaInput("video", "clip.mp4", ref=VID), MediaInput("image", "cat.png", ref=IMG)),
    )
    for item in messages[2].media:  # stored media: nothing to fetch or store again
        assert item.data is None and item.url is None and item.detail is None


def test_a_question_with_only_media():
    history = History()
    current = history.ask("", IMG)
    messages, skipped = context_of(history.messages, current)
    assert messages == [TurnMessage("user", "", (MediaInput("image", "cat.png", ref=IMG),))]
    assert skipped == 0
