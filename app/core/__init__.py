"""The turn core: one turn of any caller, from a context to a streamed answer (see turn.py)."""

from app.core.problems import MAX_TEXT_CHARS, TurnRejected, check_text_length
from app.core.request import MediaInput, TurnMessage, TurnRequest
from app.core.turn import CoreEvent, TurnCore

__all__ = [
    "MAX_TEXT_CHARS",
    "CoreEvent",
    "MediaInput",
    "TurnCore",
    "TurnMessage",
    "TurnRejected",
    "TurnRequest",
    "check_text_length",
]
