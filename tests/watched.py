"""Counters a test can wait on: a port counts what it refuses, and tells nobody else."""

from __future__ import annotations

import asyncio

from warnlink.counters import Counters


class WatchedCounters(Counters):
    """Counters whose changes a test can wait for.

    Args:
        patience_s: the longest `wait_for` waits (a guard against a hang).
    """

    def __init__(self, patience_s: float = 10.0) -> None:
        super().__init__()
        self.patience_s = patience_s
        self._changed = asyncio.Event()

    def inc(self, key: str, by: int = 1) -> None:
        super().inc(key, by)
        self._changed.set()

    async def wait_for(self, key: str, value: int) -> None:
        """Until counter `key` reaches `value` (within patience)."""
        async with asyncio.timeout(self.patience_s):
            while self.get(key) < value:
                self._changed.clear()
                await self._changed.wait()
