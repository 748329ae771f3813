"""MemoryBus: the embedded bus for one process, over a SQLite durable log.

"Memory" because everything lives in the process: no broker to start. The log
itself is durable (`warnlink.transport.sqlite_log`) when given a data folder.

The bus belongs to one event loop. Subscribers waiting for messages are woken by
asyncio events fired on publish; nothing polls. A live subscription redelivers an
unacked message only after it is closed and the durable is subscribed again (there
is no ack timeout here).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from warnlink.errors import BusClosed, ConfigError, StoreError, TransportError
from warnlink.model.time import Clock, SystemClock
from warnlink.transport.base import Delivery, IterateByNext, PublishAck, Subscription
from warnlink.transport.sqlite_log import ConsumerState, SqliteLog
from warnlink.transport.subjects import check_publish, check_subscribe, subject_matches

# How many (seq, subject) rows a subscription scans per query when looking for its
# next match. Payloads are read one at a time on delivery, so memory stays bounded
# whatever the message size.
_SCAN_BATCH: Final = 512


class _Signal:
    """Wakes every task waiting on it; renewed on each fire.

    A waiter takes `current()` *before* checking its condition, so a fire that
    happens between the check and the wait is not lost.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


class MemoryBus:
    """The embedded `Bus`: durable log in SQLite (WAL), wake-ups with asyncio.

    Args:
        data_dir: folder for ``bus.sqlite3``; the log survives closing and reopening.
            None keeps the log in a private in-memory database.
        clock: where `Delivery.published_ns` comes from; the system clock by default.
        max_message_bytes: larger payloads are refused by `publish`.

    Raises:
        StoreError: the database cannot be opened (corrupted, unreadable, locked by
            another bus); the message names the path.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        clock: Clock | None = None,
        max_message_bytes: int = 1 << 20,
    ) -> None:
        if max_message_bytes < 1:
            raise ConfigError(f"max_message_bytes must be positive, got {max_message_bytes}")
        self._clock = clock if clock is not None else SystemClock()
        self._max_message_bytes = max_message_bytes
        self._log = SqliteLog(data_dir)
        self._last_seq = self._log.last_seq()
        self._subscriptions: dict[str, _MemorySubscription] = {}
        self._published = _Signal()  # a message was appended, or something closed
        self._progress = _Signal()  # an ack or a close: wait_idle re-checks
        self._closed = False
        self._unsynced: list[tuple[asyncio.Future[PublishAck], PublishAck]] = []

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        """Append a message (see `Bus.publish`); on disk when this returns."""
        self._check_open()
        check_publish(subject, data, msg_id, limit_bytes=self._max_message_bytes)
        seq, duplicate = self._log.append(subject, bytes(data), msg_id, self._clock.now_ns())
        if not duplicate:
            self._last_seq = seq
            self._published.fire()
        return PublishAck(seq=seq, duplicate=duplicate)

    async def publish_pipelined(
        self, subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        """Append a message at once, its disk sync shared (see `Bus.publish_pipelined`).

        The append is committed without waiting for the disk; the answer comes after one
        sync for every pipelined publish made before the loop's next turn.
        """
        self._check_open()
        check_publish(subject, data, msg_id, limit_bytes=self._max_message_bytes)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[PublishAck] = loop.create_future()
        seq, duplicate = self._log.append(
            subject, bytes(data), msg_id, self._clock.now_ns(), deferred=True
        )
        if not duplicate:
            self._last_seq = seq
            self._published.fire()
        if not self._unsynced:
            loop.call_soon(self._sync_pipelined)
        self._unsynced.append((answer, PublishAck(seq=seq, duplicate=duplicate)))
        return answer

    def _sync_pipelined(self) -> None:
        waiting, self._unsynced = self._unsynced, []
        try:
            self._log.sync()
        except StoreError as exc:
            for answer, _ in waiting:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for answer, ack in waiting:
            if not answer.done():
                answer.set_result(ack)

    async def subscribe(self, subject_filter: str, *, durable: str) -> Subscription:
        """Open or resume a durable consumer (see `Bus.subscribe`).

        Raises:
            TransportError: also if `durable` already has an open subscription on this bus.
        """
        self._check_open()
        check_subscribe(subject_filter, durable, self._subscriptions)
        state = self._log.consumer(durable)
        if state is None:
            state = self._log.create_consumer(durable, subject_filter)
        elif state.subject_filter != subject_filter:
            raise TransportError(
                f"durable {durable!r} exists with filter {state.subject_filter!r}; "
                f"cannot resubscribe with {subject_filter!r}"
            )
        subscription = _MemorySubscription(self, durable, state)
        self._subscriptions[durable] = subscription
        return subscription

    async def wait_idle(self) -> None:
        """Return once every open subscription has been given and has acked every match.

        For simulations that drive several consumers on one event loop: after this
        returns, nothing is in flight, so the clock can move. A handler that publishes
        *before* it acks is waited for too. A subscription nobody reads from keeps
        this waiting; wrap it in `asyncio.timeout` where that can happen.

        Raises:
            BusClosed: the bus is (or gets) closed.
        """
        while True:
            self._check_open()
            # Only an ack or a close can make a subscription idle. Take the event
            # before checking, so a change made during the check still wakes us.
            progress = self._progress.current()
            if all(sub._is_idle() for sub in self._subscriptions.values()):
                return
            await progress.wait()

    async def close(self) -> None:
        """Close every subscription, then the log. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions.values()):
            subscription._mark_closed()
        self._subscriptions.clear()
        if self._unsynced:
            self._sync_pipelined()
        self._log.close()
        self._published.fire()
        self._progress.fire()

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosed("the bus is closed")

    def _forget(self, subscription: _MemorySubscription) -> None:
        if self._subscriptions.get(subscription.durable) is subscription:
            del self._subscriptions[subscription.durable]
        self._published.fire()  # wake its own waiting next(), which then sees it closed
        self._progress.fire()


class _MemorySubscription(IterateByNext):
    """One open durable consumer on a `MemoryBus`.

    Positions, all seqs: `_cursor` is how far the log has been scanned; `_position`
    is the last message given out in this subscription (the stored floor at start);
    `_unacked` holds what was given out and not yet acked, in seq order because
    delivery follows the log. So every unacked match lies in `_unacked` or above
    `_position`, which is what lets an ack move the floor without a query.
    """

    def __init__(self, bus: MemoryBus, durable: str, state: ConsumerState) -> None:
        self.subject_filter: Final = state.subject_filter
        self.durable: Final = durable
        self._bus = bus
        self._log = bus._log
        self._ack_floor = state.ack_floor
        self._acked_above_floor = set(state.acked_above_floor)
        self._delivered_before = state.delivered_seq  # unacked at or below: redelivery
        self._delivered_seq = state.delivered_seq  # the stored mark, kept current
        self._cursor = state.ack_floor
        self._position = state.ack_floor
        self._ready: deque[int] = deque()  # matching, unacked seqs not yet given out
        self._unacked: dict[int, None] = {}  # a dict as an insertion-ordered set
        self._closed = False

    async def next_batch(self, max_count: int, timeout_s: float | None = None) -> list[Delivery]:
        """The matching, unacked messages ready, in log order, up to `max_count`; an
        empty list after `timeout_s` (see `Subscription.next_batch`)."""
        if max_count < 1:
            raise TransportError(f"a batch holds at least one delivery, not {max_count}")
        deadline = None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s
        while True:
            self._check_open()
            published = self._bus._published.current()
            self._scan()
            if self._ready:
                seqs: list[int] = []
                while self._ready and len(seqs) < max_count:
                    seqs.append(self._ready.popleft())
                    self._scan()
                return self._deliver(seqs)
            try:
                async with asyncio.timeout_at(deadline):
                    await published.wait()
            except TimeoutError:
                return []

    async def ack(self, delivery: Delivery) -> None:
        """Ack `delivery`; on disk when this returns. Acking twice is harmless.

        Raises:
            TransportError: `delivery` was not given out by this subscription.
        """
        await self.ack_many((delivery,))

    async def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        """Ack `deliveries` in one transaction; on disk when this returns.

        Raises:
            TransportError: one was not given out by this subscription (none is acked).
        """
        self._check_open()
        acking: set[int] = set()
        for delivery in deliveries:
            seq = delivery.seq
            if seq in self._unacked:
                acking.add(seq)
            elif seq > self._ack_floor and seq not in self._acked_above_floor:
                raise TransportError(
                    f"durable {self.durable!r} cannot ack message {seq}: "
                    "this subscription did not deliver it"
                )
        if not acking:
            return
        # The floor can rise to just below the oldest message still unacked.
        oldest = next((s for s in self._unacked if s not in acking), None)
        floor = oldest - 1 if oldest is not None else self._position
        self._log.record_acks(self.durable, acking, floor)
        for seq in acking:
            del self._unacked[seq]
        self._acked_above_floor.update(s for s in acking if s > floor)
        if floor > self._ack_floor:
            self._ack_floor = floor
            self._acked_above_floor = {s for s in self._acked_above_floor if s > floor}
        self._bus._progress.fire()

    async def close(self) -> None:
        """Stop receiving; unacked deliveries stay pending for the durable."""
        if not self._closed:
            self._mark_closed()
            self._bus._forget(self)

    def _mark_closed(self) -> None:
        self._closed = True
        self._ready.clear()

    def _check_open(self) -> None:
        if self._closed or self._bus._closed:
            raise BusClosed(f"subscription {self.durable!r} is closed")

    def _scan(self) -> None:
        """Scan the log past the cursor until a match is ready or the log ends."""
        while not self._ready and self._cursor < self._bus._last_seq:
            rows = self._log.subjects_after(self._cursor, _SCAN_BATCH)
            if not rows:
                break
            for seq, subject in rows:
                if seq not in self._acked_above_floor and subject_matches(
                    self.subject_filter, subject
                ):
                    self._ready.append(seq)
            self._cursor = rows[-1][0]

    def _deliver(self, seqs: list[int]) -> list[Delivery]:
        stored = [self._log.read(seq) for seq in seqs]
        if seqs[-1] > self._delivered_seq:
            # Written before handing them out, so a crash cannot lose the redelivery flag.
            self._log.mark_delivered(self.durable, seqs[-1])
            self._delivered_seq = seqs[-1]
        self._unacked.update(dict.fromkeys(seqs))
        self._position = seqs[-1]
        return [
            Delivery(
                subject=message.subject,
                data=message.data,
                seq=message.seq,
                msg_id=message.msg_id,
                published_ns=message.published_ns,
                redelivered=message.seq <= self._delivered_before,
            )
            for message in stored
        ]

    def _is_idle(self) -> bool:
        """True if every match in the log has been given out and acked."""
        self._scan()
        return not self._ready and not self._unacked
