"""A short signing window: messages ready close together share one signature.

The first message into an empty window opens it; the window closes `window_s` later,
or at once when it holds `max_batch` messages, and what it holds is signed as one
batch (`signing.sign_batch`: one Ed25519 signature over a Merkle root, each message
with its path, so each verifies, is redacted and audited alone). A message ready alone
therefore waits at most `window_s`: the latency a batch may cost is bounded by
construction, and under load one signature serves up to `max_batch` messages.

Signed batches are handed on (`on_signed`) one after the other, in the order they were
signed, so an originator's messages leave in its sequence order. `settle` closes the
open window and waits until every batch signed so far was handed on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from warnlink.model import Envelope
from warnlink.security.signing import PartyKey, sign_batch

log = logging.getLogger(__name__)

#: How long the first message of a batch waits for others, s: a fraction of the
#: warning's latency budget (`docs/performance.md`: e2e p99 <= 10 ms).
SIGN_WINDOW_S: Final = 0.005
#: The most messages one window signs at once (one Ed25519 signature, paths of depth 6).
SIGN_BATCH_MAX: Final = 64


class Cancellable(Protocol):
    """A scheduled call that can be called off (`asyncio.TimerHandle`)."""

    def cancel(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], Cancellable]
"""Calls a function after a delay in seconds (the loop's `call_later`; a fake in tests)."""


class SignWindow:
    """Collects one issuer's envelopes and signs them in batches.

    Args:
        key: the issuer's signing key.
        on_signed: what to do with each signed batch (send it), awaited in order.
        window_s: the longest a message waits for others, s (0: signed alone at once).
        max_batch: the most messages in one batch.
        call_later: the scheduler of the window's end; the running loop's by default.
    """

    def __init__(
        self,
        key: PartyKey,
        on_signed: Callable[[list[Envelope]], Awaitable[None]],
        *,
        window_s: float = SIGN_WINDOW_S,
        max_batch: int = SIGN_BATCH_MAX,
        call_later: Scheduler | None = None,
    ) -> None:
        self.key = key
        self.window_s = window_s
        self.max_batch = max_batch
        self._on_signed = on_signed
        self._call_later = call_later
        self._open: list[Envelope] = []
        self._timer: Cancellable | None = None
        self._last: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """How many messages the open window holds."""
        return len(self._open)

    def submit(self, envelope: Envelope) -> None:
        """Add `envelope` (issued by the key's party, unsigned) to the open window."""
        self._open.append(envelope)
        if len(self._open) >= self.max_batch or self.window_s <= 0:
            self.close()
        elif self._timer is None:
            schedule = self._call_later or asyncio.get_running_loop().call_later
            self._timer = schedule(self.window_s, self.close)

    def close(self) -> None:
        """Sign what the window holds now and hand it on after the batches before it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._open:
            return
        batch, self._open = self._open, []
        self._last = asyncio.get_running_loop().create_task(
            self._hand_on(sign_batch(batch, self.key), self._last)
        )

    async def settle(self) -> None:
        """Close the window and wait until every batch signed so far was handed on."""
        self.close()
        if self._last is not None:
            await asyncio.shield(self._last)

    async def _hand_on(self, batch: list[Envelope], before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self._on_signed(batch)
        except Exception:  # one failed batch must not hold up the next (invariant 5)
            log.exception("%s: a signed batch of %d could not be sent", self.key.party, len(batch))
