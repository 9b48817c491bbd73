"""Fixtures for the in-process integration tests (the services driven without a server)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop per test: the HTTP client's connections belong to the loop that made them."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()
