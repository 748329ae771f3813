"""The consumer loop of a node's and a relay's inbox: handle, then ack, whatever fails.

Deliveries come in batches of what is ready (up to `BATCH_MAX`): each is handled in
order, then the batch's writes are made durable at once (`node.stores.GroupCommit`),
then the batch is acked at once. Handling is per message: what follows applies to
each delivery alone, so one bad message in a batch costs only itself.

A delivery the handler refuses with a `MessageError` that reaches the loop, or fails on
with any other exception, is counted (``rejected.<counter_key>``; ``consume.failed``
for the unexpected, its traceback logged once per exception type), kept as a dead
letter (`transport.dead_letters`) and acknowledged: one poison message costs one
counter, not a link, and the next delivery on the inbox is handled. Only a bus failure
(`TransportError`) leaves a delivery unacked: the loop waits and takes the batch up
again where it failed (a failed handling from that delivery on, a failed commit from
the batch's start, a failed ack alone), so the inbox keeps its order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final

from warnlink.counters import Counters
from warnlink.errors import BusClosed, MessageError, TransportError
from warnlink.model.time import Clock, SystemClock
from warnlink.node.stores import GroupCommit
from warnlink.sharing.relay import Relay
from warnlink.transport import Delivery, Subscription
from warnlink.transport.dead_letters import DeadLetters, MemoryDeadLetters

log = logging.getLogger(__name__)

#: Seconds before a consumer tries again after a bus failure.
RETRY_S: Final = 0.5
#: The most deliveries a consumer takes at once: one commit and one ack for them all.
BATCH_MAX: Final = 256


class Rejects:
    """What a consumer does with a delivery it cannot handle: count, log, keep, go on."""

    def __init__(self, counters: Counters, clock: Clock, letters: DeadLetters | None = None):
        self.counters = counters
        self.clock = clock
        self.letters: DeadLetters = MemoryDeadLetters() if letters is None else letters
        self._traced: set[type[BaseException]] = set()

    def refused(self, subject: str, data: bytes, exc: MessageError) -> None:
        """Keep a delivery refused with a typed error (counted where it was refused)."""
        rule = getattr(exc, "rule", exc.counter_key)
        self.letters.add(self.clock.now_ns(), subject, data, str(exc), str(rule))

    def failed(self, delivery: Delivery, exc: Exception) -> None:
        """Count, log and keep a delivery whose handling raised something unexpected."""
        self.counters.inc("consume.failed")
        if type(exc) in self._traced:
            log.error("%s: handling failed again: %r", delivery.subject, exc)
        else:
            self._traced.add(type(exc))
            log.error("%s: handling failed", delivery.subject, exc_info=exc)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        self.letters.add(self.clock.now_ns(), delivery.subject, delivery.data, error, "failed")


def watch_consumers(name: str, tasks: Iterable[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Log a consumer task of `name` that ends before `stop` is set, and set `stop`.

    A process whose consumer ended must not look alive: its owner (`runtime`, `deploy`)
    then stops and raises `ConsumerEnded`, so `warnlink up`'s health shows it down.
    """

    def ended(task: asyncio.Task[None]) -> None:
        if stop.is_set():
            return
        failure = None if task.cancelled() else task.exception()
        log.error("%s: its inbox consumer ended; stopping", name, exc_info=failure)
        stop.set()

    for task in tasks:
        task.add_done_callback(ended)


async def serve_relay(relay: Relay, inbox: Subscription, rejects: Rejects | None = None) -> None:
    """Let `relay` decide on everything arriving at its inbox, acking each batch once
    handled and its seen entries written."""
    rejects = Rejects(relay.counters, relay.clock) if rejects is None else rejects
    relay.on_rejected = rejects.refused

    async def handle(delivery: Delivery) -> None:
        await relay.handle(delivery)

    async def handle_many(batch: Sequence[Delivery]) -> None:
        await relay.handle_batch(batch)

    group = GroupCommit(seen=(relay.replay.store,), outboxes=(relay.outbox,))
    await consume(
        inbox, handle, relay.counters, rejects=rejects, group=group, handle_many=handle_many
    )


async def consume(
    inbox: Subscription,
    handle: Callable[[Delivery], Awaitable[None]],
    counters: Counters,
    *,
    rejects: Rejects | None = None,
    retry_s: float = RETRY_S,
    group: GroupCommit | None = None,
    batch_max: int = BATCH_MAX,
    handle_many: Callable[[Sequence[Delivery]], Awaitable[None]] | None = None,
) -> None:
    """Hand every delivery of `inbox` to `handle`, batch by batch: commit `group`, then
    ack the batch, until the inbox closes.

    With `handle_many` (a handler that refuses bad deliveries itself, such as
    `Relay.handle_batch`: one countersignature for a batch's products), each batch goes
    to it whole; if it fails unexpectedly (``consume.batch_failed``), the batch is
    handled again one delivery at a time, so the delivery at fault costs only itself.

    A bus failure (a pull, an ack, a commit or a store that fails) is counted
    (``transport.failed``), logged and retried after `retry_s`; it never ends the loop
    (see the module's docstring). Any other failure is the delivery's: `rejects` keeps
    it (by default in memory, timed by the system clock).
    """
    rejects = Rejects(counters, SystemClock()) if rejects is None else rejects
    group = GroupCommit() if group is None else group
    while True:
        try:
            batch = await inbox.next_batch(batch_max)
        except BusClosed:
            return
        except TransportError as exc:
            await _bus_failed(inbox, exc, counters, retry_s)
            continue
        handlers = (handle, handle_many)
        if not await _settle(inbox, batch, handlers, counters, rejects, group, retry_s):
            return


async def _settle(
    inbox: Subscription,
    batch: Sequence[Delivery],
    handlers: tuple[
        Callable[[Delivery], Awaitable[None]],
        Callable[[Sequence[Delivery]], Awaitable[None]] | None,
    ],
    counters: Counters,
    rejects: Rejects,
    group: GroupCommit,
    retry_s: float,
) -> bool:
    """Handle, commit and ack `batch`, taking it up again after each bus failure;
    False if the inbox closed first (the rest of the batch stays unacked)."""
    handle, handle_many = handlers
    handled = 0
    group.begin()
    while True:
        try:
            if handle_many is not None and handled == 0:
                handled = await _handle_whole(batch, handle_many, counters)
            for delivery in batch[handled:]:
                await _handle_one(delivery, handle, counters, rejects)
                handled += 1
        except BusClosed:
            return False
        except TransportError as exc:
            await _bus_failed(inbox, exc, counters, retry_s)
            continue
        try:
            await group.commit()
        except BusClosed:
            return False
        except TransportError as exc:
            # What the batch did is not all durable: handle it all again (once more is
            # harmless: applied by message id, products deduplicated by the bus).
            await _bus_failed(inbox, exc, counters, retry_s)
            handled = 0
            group.begin()
            continue
        try:
            await inbox.ack_many(batch)
            return True
        except BusClosed:
            return False
        except TransportError as exc:
            await _bus_failed(inbox, exc, counters, retry_s)


async def _handle_whole(
    batch: Sequence[Delivery],
    handle_many: Callable[[Sequence[Delivery]], Awaitable[None]],
    counters: Counters,
) -> int:
    """How many of `batch` `handle_many` handled: all, or none if it failed unexpectedly
    (bus failures are raised, for the loop to take the batch up again)."""
    try:
        await handle_many(batch)
    except (TransportError, BusClosed):
        raise
    except Exception as exc:  # one delivery at a time finds the one at fault
        counters.inc("consume.batch_failed")
        log.error("a batch of %d failed (%r); handling each alone", len(batch), exc)
        return 0
    return len(batch)


async def _bus_failed(
    inbox: Subscription, exc: TransportError, counters: Counters, retry_s: float
) -> None:
    counters.inc("transport.failed")
    log.warning("%s: %s; retrying", inbox.durable, exc)
    await asyncio.sleep(retry_s)


async def _handle_one(
    delivery: Delivery,
    handle: Callable[[Delivery], Awaitable[None]],
    counters: Counters,
    rejects: Rejects,
) -> None:
    try:
        await handle(delivery)
    except TransportError:
        raise
    except MessageError as exc:
        counters.inc(f"rejected.{exc.counter_key}")
        log.warning("%s: refused: %s", delivery.subject, exc)
        rejects.refused(delivery.subject, delivery.data, exc)
    except Exception as exc:  # the last resort: one message must not end the loop
        rejects.failed(delivery, exc)
