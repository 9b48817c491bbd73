"""StartedNow: a stream consumed from the moment it is made, read later in order."""

from __future__ import annotations

import asyncio

import pytest

from app.ui.state import StartedNow


def test_the_stream_runs_before_anyone_reads_and_its_items_keep_their_order():
    started = []

    async def stream():
        started.append("upstream asked")
        for item in ("a", "b", "c"):
            yield item

    async def main():
        items = StartedNow(stream())
        await asyncio.sleep(0)  # the page is busy showing the question
        assert started == ["upstream asked"]
        return [item async for item in items]

    assert asyncio.run(main()) == ["a", "b", "c"]


def test_an_error_reaches_the_reader_after_the_items_before_it():
    async def stream():
        yield 1
        raise ValueError("upstream broke")

    async def main():
        items, seen = StartedNow(stream()), []
        with pytest.raises(ValueError, match="upstream broke"):
            async for item in items:
                seen.append(item)
        return seen

    assert asyncio.run(main()) == [1]


def test_closing_cancels_the_stream_and_waits_for_it_to_unwind():
    unwound = []

    async def stream():
        try:
            yield "first"
            await asyncio.sleep(60)
            yield "never"
        finally:
            await asyncio.sleep(0.01)  # saving what arrived
            unwound.append(True)

    async def main():
        items = StartedNow(stream())
        assert await items.__anext__() == "first"
        await items.aclose()
        return unwound

    assert asyncio.run(main()) == [True]
