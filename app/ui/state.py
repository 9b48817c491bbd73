"""What one open page remembers between its events (held by Gradio on the server, per page:
a client cannot set it), and the answer it is streaming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from app.engine import PreparedTurn
from app.ui import render

T = TypeVar("T")


@dataclass
class LiveTurn:
    """An answer in progress: the rendered chat before it, and the engine's turn."""

    turn: PreparedTurn
    base: list[render.ChatMessage]
    base_ids: list[int | None]
    lang: str
    # Set when the streaming handler has finished (normally or by cancellation), so the Stop
    # handler renders after the stream's last update instead of racing it.
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: tuple[str, Any] | None = None

    def rows(self, status: str, error: Any = None) -> list[render.ChatMessage]:
        turn = self.turn
        answer = render.render_answer(
            turn.result,
            status=status,
            error=error,
            model=turn.spec.id,
            effort=turn.effort,
            lang=self.lang,
        )
        return [*self.base, *answer]

    def ids(self, rows: list[render.ChatMessage]) -> list[int | None]:
        return [*self.base_ids, *[None] * (len(rows) - len(self.base_ids))]


@dataclass
class PageState:
    conversation_id: str | None = None
    ids: list[int | None] = field(default_factory=list)  # the stored message of each chat row
    live: LiveTurn | None = None
    timezone: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # for a chat not stored yet

    def message_at(self, index: Any) -> int | None:
        """The stored message behind the chat row `index` (from the client: checked here)."""
        if isinstance(index, int) and 0 <= index < len(self.ids):
            return self.ids[index]
        return None


class StartedNow(Generic[T]):
    """An async stream consumed from now on in a task of its own, its items kept in order until
    they are read. A Gradio handler asks for its next item only after the previous update has
    been processed and sent; started this way, the answer's upstream request does not wait for
    the question to be shown first. Closing it cancels the task and waits for it to unwind."""

    def __init__(self, stream: AsyncIterator[T]):
        self._items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._pump(stream))

    async def _pump(self, stream: AsyncIterator[T]) -> None:
        try:
            async for item in stream:
                self._items.put_nowait(("item", item))
        except Exception as exc:  # handed to the reader, who raises it
            self._items.put_nowait(("error", exc))
        finally:
            self._items.put_nowait(("end", None))

    def __aiter__(self) -> StartedNow[T]:
        return self

    async def __anext__(self) -> T:
        kind, value = await self._items.get()
        if kind == "item":
            return value
        if kind == "error":
            raise value
        self._items.put_nowait((kind, value))  # the end stays the end
        raise StopAsyncIteration

    async def aclose(self) -> None:
        if not self._task.done():
            self._task.cancel()
        await asyncio.wait({self._task})
