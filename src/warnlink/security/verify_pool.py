"""Signature checks off the event loop: a small thread pool.

Ed25519 verification is native code that releases the GIL while it runs
(`cryptography`'s Rust bindings, libsodium through cffi), so a check handed to a
thread costs the event loop only the hand-over: the loop goes on moving messages
while the pool verifies. A batch of checks goes to the pool as one job, so the
hand-over is paid once per batch, not once per message; the key set's
`signing.VerifyCache` makes a batch's one root signature cost one check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

from warnlink.errors import MessageError

#: Threads verifying signatures: one per core of the reference machine.
VERIFY_THREADS: Final = 2

T = TypeVar("T")
R = TypeVar("R")


class VerifyPool:
    """Runs signature checks in `threads` worker threads."""

    def __init__(self, threads: int = VERIFY_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="warnlink-verify")

    async def map(self, check: Callable[[T], R], items: Sequence[T]) -> list[R | MessageError]:
        """`check` of every item, in one job off the loop: for each item, what it
        returned or the typed error it raised. Any other exception propagates."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, map_checked, check, items)

    def close(self) -> None:
        """Stop the threads once the checks running finish."""
        self._pool.shutdown(wait=True)


def map_checked(check: Callable[[T], R], items: Sequence[T]) -> list[R | MessageError]:
    """`check` of every item, here: what it returned or the typed error it raised."""
    results: list[R | MessageError] = []
    for item in items:
        try:
            results.append(check(item))
        except MessageError as exc:
            results.append(exc)
    return results
