"""Why a turn cannot be sent as it is: the checks every skin's turns go through."""

from __future__ import annotations

from app.i18n import Problem

MAX_TEXT_CHARS = 1_000_000  # one limit for a message on the page and a request through the API


class TurnRejected(Problem):
    """The turn cannot be sent as it is; the text tells the person what to change.

    Raised before anything is stored or sent upstream. The key says which check refused it
    (the HTTP API maps keys to statuses in api/errors.py).
    """


def check_text_length(count: int) -> None:
    if count > MAX_TEXT_CHARS:
        raise TurnRejected("text.too_long", count=count, limit=MAX_TEXT_CHARS)
