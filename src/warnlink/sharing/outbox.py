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

Two ways to keep: `store_first` (the gateway) appends every message before publishing
it, so a crash between originating and publishing loses nothing. Inside
`Outbox.batch` (the gateway's signed batches) its publishes are appended together (one
disk sync), then pipelined in order, their answers awaited together at the batch's end:
one sync and one round trip for the batch, not one each. Otherwise (the
relay, whose input stays unacked in its inbox until the outbox answers) a message is
published at once, pipelined (`Bus.publish_pipelined`: in order, its answer awaited
later, by `Outbox.settle` before the input is acked), and stored only when that fails
or older ones to its subject wait. A pipelined message that fails while later ones to
its subject were already sent goes again after them; receivers take it (by its seq,
within the freshness window).
The append is on disk before `publish` returns (``synchronous=FULL`` for a SQLite
store); the removal is not waited for (a removal lost to a power cut means one more
re-send, which the stream drops).

The sent-archive (the gateway's, optional): what the bus acknowledged is kept there for
`retain_s` (an hour by default), so a receiver that finds its own store damaged can ask
for it again (`Gateway.answer`, docs/reliability.md case 6). Appends to it are not
waited onto disk (``synchronous=NORMAL``): a power cut may cost its last entries, which
only narrows what can be asked for again. Entries older than `retain_s` are pruned
at flushes, a tenth of `retain_s` apart.

A damaged entry (`QueuedMessage.intact` False: the file changed under it) found at start
is reported (``outbox.damaged``, an error naming the file and entry) and removed: its
bytes cannot be sent (a receiver's edge would refuse them), and nothing of the
original is left to rebuild it from.

A re-send keeps the message's bus id (`wire.publish_id`), so a message that did
reach the stream before its ack was lost is dropped there as a duplicate
(JetStream's duplicate window, 120 s by default; `MemoryBus` forever), and
receivers apply by message id anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence

from warnlink.counters import Counters
from warnlink.errors import StoreError, TransportError
from warnlink.model.time import NS_PER_S, Clock
from warnlink.transport import Bus, PublishAck
from warnlink.transport.queue_store import QueuedMessage, QueueStore

log = logging.getLogger(__name__)

DEFAULT_RETAIN_S = 3600.0


class Outbox:
    """A `wire.Publisher` that keeps what it could not deliver and sends it again.

    Args:
        bus: where messages go.
        store: the durable queue (memory or SQLite); what it holds at start is sent
            again by the first `flush`.
        clock: stamps entries.
        counters: ``outbox.failed``, ``outbox.held``, ``outbox.resent``.
        store_first: append every message before publishing it (else only what fails
            or must wait).
        archive: where acknowledged messages are kept for `retain_s` (None: forgotten).
        retain_s: how long the archive keeps a message, seconds.
    """

    def __init__(
        self,
        bus: Bus,
        store: QueueStore,
        clock: Clock,
        counters: Counters,
        *,
        store_first: bool = True,
        archive: QueueStore | None = None,
        retain_s: float = DEFAULT_RETAIN_S,
    ) -> None:
        self.bus = bus
        self.store_first = store_first
        self.store = store
        self.clock = clock
        self.counters = counters
        self.archive = archive
        self.retain_ns = round(retain_s * NS_PER_S)
        self._next_prune_ns = 0
        self._pruned_before = archive.pruned_before() if archive is not None else 0
        self._pending: dict[int, QueuedMessage] = {}
        for entry in store.entries():
            if entry.intact:
                self._pending[entry.entry_id] = entry
                continue
            self.counters.inc("outbox.damaged")
            log.error(
                "outbox entry %d (%s, for %s) is damaged (its digest does not match); "
                "removed, it cannot be sent",
                entry.entry_id,
                entry.msg_id,
                entry.subject,
            )
            store.remove(entry.entry_id)
        self._waiting: Counter[str] = Counter(e.subject for e in self._pending.values())
        self._busy: Counter[str] = Counter()  # subjects with a publish on its way
        self._in_flight: dict[asyncio.Future[PublishAck], tuple[str, str, bytes]] = {}
        self._unkept: list[BaseException] = []  # failed pipelined publishes not kept
        self._batch: list[QueuedMessage] | None = None  # kept inside `batch`, to send
        self._batched: Counter[str] = Counter()
        self._flying: dict[asyncio.Future[PublishAck], QueuedMessage] = {}  # kept, sent
        self._flying_to: Counter[str] = Counter()

    @property
    def pending(self) -> int:
        """How many messages wait for an acknowledgement."""
        return len(self._pending)

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck | None:
        """Publish the message unless older ones to `subject` wait (or, with
        `store_first`, one is on its way), keeping it first (`store_first`) or only if
        it cannot go now.

        Never waits behind another publish: a message that cannot go at once is kept
        and held (``outbox.held``), so a link that hangs costs its sender one request
        timeout, not one per message.

        Returns:
            The bus's ack, or None if the message stays in the outbox for later or
            (not `store_first`) is on its way, pipelined.
        """
        if self._batch is not None:
            self._add_to_batch(self._batch, subject, msg_id, data)
            return None
        if self._waiting[subject] or (self.store_first and self._busy[subject]):
            self._keep(subject, msg_id, data)
            self.counters.inc("outbox.held")
            return None
        if not self.store_first:
            await self._send(subject, msg_id, data)
            return None
        self._busy[subject] += 1
        try:
            return await self._try(self._keep(subject, msg_id, data))
        finally:
            self._busy[subject] -= 1

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Publishes inside (`store_first` only) are kept as they come, synced to disk
        once, then sent pipelined, in order, at the end, without waiting for their
        answers: once kept they are safe, and the next batch follows them on the wire.
        Each acknowledged one leaves the outbox when its answer comes, each failed one
        stays for `flush` (``outbox.failed``). A message to a subject with older ones
        waiting (neither in the batch nor on their way) is held, as always.

        A pipelined one that fails while later ones to its subject were sent goes again
        after them; receivers take it (by its seq, within the freshness window).
        """
        if not self.store_first or self._batch is not None:
            yield
            return
        batch: list[QueuedMessage] = []
        self._batch = batch
        try:
            yield
        finally:
            self._batch = None
            self._batched.clear()
            self.store.sync()
        await self._send_batch(batch)

    def _add_to_batch(
        self, batch: list[QueuedMessage], subject: str, msg_id: str, data: bytes
    ) -> None:
        on_their_way = self._batched[subject] + self._flying_to[subject]
        held = self._waiting[subject] > on_their_way or self._busy[subject]
        entry = self._keep(subject, msg_id, data, deferred=True)
        if held:
            self.counters.inc("outbox.held")
            return
        self._batched[subject] += 1
        batch.append(entry)

    async def _send_batch(self, batch: list[QueuedMessage]) -> None:
        for entry in batch:
            try:
                answer = await self.bus.publish_pipelined(
                    entry.subject, entry.data, msg_id=entry.msg_id
                )
            except TransportError as exc:
                self.counters.inc("outbox.failed")
                log.warning("outbox keeps %s for %s: %s", entry.msg_id, entry.subject, exc)
                continue
            self._flying[answer] = entry
            self._flying_to[entry.subject] += 1
            answer.add_done_callback(self._kept_answered)

    def _kept_answered(self, answer: asyncio.Future[PublishAck]) -> None:
        """A kept message's answer: out of the outbox, or left there for `flush`."""
        entry = self._flying.pop(answer, None)
        if entry is None:
            return
        self._flying_to[entry.subject] -= 1
        if not self._flying_to[entry.subject]:
            del self._flying_to[entry.subject]
        failure = answer.exception() if not answer.cancelled() else TransportError("cancelled")
        if failure is None:
            self._sent(entry)
            return
        self.counters.inc("outbox.failed")
        log.warning("outbox keeps %s for %s: %s", entry.msg_id, entry.subject, failure)

    async def _send(self, subject: str, msg_id: str, data: bytes) -> None:
        """Publish pipelined (`Bus.publish_pipelined`); `_answered` takes the answer."""
        try:
            answer = await self.bus.publish_pipelined(subject, data, msg_id=msg_id)
        except TransportError as exc:
            self._failed(subject, msg_id, data, exc)
            return
        self._busy[subject] += 1
        self._in_flight[answer] = (subject, msg_id, data)
        answer.add_done_callback(self._answered)

    def _answered(self, answer: asyncio.Future[PublishAck]) -> None:
        sent = self._in_flight.pop(answer, None)
        if sent is None:
            return
        subject, msg_id, data = sent
        self._busy[subject] -= 1
        exc = answer.exception()
        if exc is None:
            self._archive(subject, msg_id, data, self.clock.now_ns())
        elif isinstance(exc, TransportError):
            try:
                self._failed(subject, msg_id, data, exc)
            except StoreError as lost:
                self._unkept.append(lost)
        else:
            self._unkept.append(exc)

    def _failed(self, subject: str, msg_id: str, data: bytes, exc: TransportError) -> None:
        self.counters.inc("outbox.failed")
        log.warning("outbox keeps %s for %s: %s", msg_id, subject, exc)
        self._keep(subject, msg_id, data)

    async def settle(self) -> None:
        """Wait for the answer of every pipelined publish; each failed one is kept then
        (a batch's, already kept, stays for `flush`).

        Raises:
            StoreError: a failed one could not be kept (the disk): its input must come
                again (not acked) to be handled once more.
        """
        answers = list(self._in_flight)
        kept = list(self._flying)
        await asyncio.gather(*answers, *kept, return_exceptions=True)
        for answer in answers:
            self._answered(answer)
        for answer in kept:
            self._kept_answered(answer)
        unkept, self._unkept = self._unkept, []
        if unkept:
            raise StoreError(f"{len(unkept)} unsent messages could not be kept") from unkept[0]

    def _archive(self, subject: str, msg_id: str, data: bytes, time_ns: int) -> None:
        if self.archive is not None:
            self.archive.append(subject, msg_id, data, time_ns)

    @property
    def retained_since(self) -> int:
        """Messages kept from this time on (UTC ns) are all in the archive: 0 when it
        never lost any to its retention, now without an archive."""
        return self._pruned_before if self.archive is not None else self.clock.now_ns()

    def waiting(self) -> list[QueuedMessage]:
        """The messages not acknowledged yet, oldest first."""
        return sorted(self._pending.values(), key=lambda e: e.entry_id)

    def retained(
        self,
        first_ns: int,
        last_ns: int,
        *,
        subjects: Sequence[str] = (),
        after_id: int = 0,
        limit: int = 500,
    ) -> list[QueuedMessage]:
        """A page of the archived messages kept (appended to the outbox) from `first_ns`
        to `last_ns`, UTC ns, to `subjects` (all when empty), after entry `after_id`,
        oldest first (at most `limit`; an empty page: no more). Damaged ones are
        counted (``archive.damaged``), reported and left out of the page."""
        if self.archive is None:
            return []
        kept = []
        page = self.archive.between(
            first_ns, last_ns, subjects=subjects, after_id=after_id, limit=limit
        )
        for entry in page:
            if entry.intact:
                kept.append(entry)
                continue
            self.counters.inc("archive.damaged")
            log.error("sent-archive entry %d is damaged; it cannot be sent again", entry.entry_id)
        if page and not kept:  # a page of damaged entries only: the next one
            return self.retained(
                first_ns, last_ns, subjects=subjects, after_id=page[-1].entry_id, limit=limit
            )
        return kept

    def prune(self) -> None:
        """Forget archived messages older than the retention (at most every tenth of it)."""
        now = self.clock.now_ns()
        if self.archive is None or now < self._next_prune_ns:
            return
        self.archive.remove_before(max(now - self.retain_ns, 0))
        self._pruned_before = self.archive.pruned_before()
        self._next_prune_ns = now + self.retain_ns // 10

    def _keep(
        self, subject: str, msg_id: str, data: bytes, *, deferred: bool = False
    ) -> QueuedMessage:
        now = self.clock.now_ns()
        entry_id = self.store.append(subject, msg_id, data, now, deferred=deferred)
        entry = QueuedMessage(entry_id, subject, msg_id, data, now)
        self._pending[entry.entry_id] = entry
        self._waiting[subject] += 1
        return entry

    async def flush(self) -> int:
        """Send again what waits, oldest first per subject; how many were acknowledged.

        A subject whose oldest message fails again, or that has a publish on its way,
        is skipped until the next flush.
        """
        self.prune()
        acked = 0
        blocked: set[str] = set()
        for entry in sorted(self._pending.values(), key=lambda e: e.entry_id):
            subject = entry.subject
            if (
                subject in blocked
                or self._busy[subject]
                or self._flying_to[subject]
                or entry.entry_id not in self._pending
            ):
                blocked.add(subject)
                continue
            self._busy[subject] += 1
            try:
                ack = await self._try(entry)
            finally:
                self._busy[subject] -= 1
            if ack is None:
                blocked.add(subject)
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
        self._sent(entry)
        return ack

    def _sent(self, entry: QueuedMessage) -> None:
        """The bus acknowledged `entry`: out of the outbox, into the archive."""
        self.store.remove(entry.entry_id)
        self._archive(entry.subject, entry.msg_id, entry.data, entry.time_ns)
        del self._pending[entry.entry_id]
        self._waiting[entry.subject] -= 1
        if not self._waiting[entry.subject]:
            del self._waiting[entry.subject]
