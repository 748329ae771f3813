"""The gateway's outbox: every message it sends stays here until the bus acknowledges it.

A publish first appends the message to a durable `QueueStore`, then publishes it; the
entry is removed once the bus answers (a JetStream publish ack: the message is in
the recipient's stream; a `MemoryBus` append: it is in the log). A publish that
fails (`TransportError`: the link is down, no stream answers, a timeout) leaves the
message in the outbox, counted (``outbox.failed``), and `Outbox.flush` sends it
again, on every node tick and at start (after a restart).

Order: messages to one subject leave in the order they were sent. A message whose
subject still has older messages waiting is held behind them (``outbox.held``) and
goes out with the next flush. Other subjects are not held up by one link's outage.

A re-send keeps the message's bus id (`wire.publish_id`), so a message that did
reach the stream before its ack was lost is dropped there as a duplicate
(JetStream's duplicate window, 120 s by default; `MemoryBus` forever), and
receivers apply by message id anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from warnlink.counters import Counters
from warnlink.errors import TransportError
from warnlink.model.time import Clock
from warnlink.transport import Bus, PublishAck
from warnlink.transport.queue_store import QueuedMessage, QueueStore

log = logging.getLogger(__name__)


class Outbox:
    """A `wire.Publisher` that keeps what it could not deliver and sends it again.

    Args:
        bus: where messages go.
        store: the durable queue (memory or SQLite); what it holds at start is sent
            again by the first `flush`.
        clock: stamps entries.
        counters: ``outbox.failed``, ``outbox.held``, ``outbox.resent``.
    """

    def __init__(self, bus: Bus, store: QueueStore, clock: Clock, counters: Counters) -> None:
        self.bus = bus
        self.store = store
        self.clock = clock
        self.counters = counters
        self._pending: dict[int, QueuedMessage] = {e.entry_id: e for e in store.entries()}
        self._waiting: Counter[str] = Counter(e.subject for e in self._pending.values())
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        """How many messages wait for an acknowledgement."""
        return len(self._pending)

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck | None:
        """Keep the message, then publish it unless older ones to `subject` wait.

        Returns:
            The bus's ack, or None if the message stays in the outbox for later.
        """
        async with self._lock:
            entry_id = self.store.append(subject, msg_id, data, self.clock.now_ns())
            entry = QueuedMessage(entry_id, subject, msg_id, data, self.clock.now_ns())
            self._pending[entry_id] = entry
            self._waiting[subject] += 1
            if self._waiting[subject] > 1:
                self.counters.inc("outbox.held")
                return None
            return await self._try(entry)

    async def flush(self) -> int:
        """Send again what waits, oldest first per subject; how many were acknowledged.

        A subject whose oldest message fails again is skipped until the next flush.
        """
        async with self._lock:
            acked = 0
            blocked: set[str] = set()
            for entry in list(self._pending.values()):
                if entry.subject in blocked:
                    continue
                if await self._try(entry) is None:
                    blocked.add(entry.subject)
                else:
                    acked += 1
                    self.counters.inc("outbox.resent")
            return acked

    async def _try(self, entry: QueuedMessage) -> PublishAck | None:
        try:
            ack = await self.bus.publish(entry.subject, entry.data, msg_id=entry.msg_id)
        except TransportError as exc:
            self.counters.inc("outbox.failed")
            log.warning("outbox keeps %s for %s: %s", entry.msg_id, entry.subject, exc)
            return None
        self.store.remove(entry.entry_id)
        del self._pending[entry.entry_id]
        self._waiting[entry.subject] -= 1
        if not self._waiting[entry.subject]:
            del self._waiting[entry.subject]
        return ack
