"""The consumer loop of a node's and a relay's inbox: handle, then ack, whatever fails.

A delivery the handler refuses with a `MessageError` that reaches the loop, or fails on
with any other exception, is counted (``rejected.<counter_key>``; ``consume.failed``
for the unexpected, its traceback logged once per exception type), kept as a dead
letter (`transport.dead_letters`) and acknowledged: one poison message costs one
counter, not a link, and the next delivery on the inbox is handled. Only a bus failure
(`TransportError`) leaves a delivery unacked, to be handled again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from warnlink.counters import Counters
from warnlink.errors import BusClosed, MessageError, TransportError
from warnlink.model.time import Clock, SystemClock
from warnlink.sharing.relay import Relay
from warnlink.transport import Delivery, Subscription
from warnlink.transport.dead_letters import DeadLetters, MemoryDeadLetters

log = logging.getLogger(__name__)

#: Seconds before a consumer tries again after a bus failure.
RETRY_S: Final = 0.5


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
    """Let `relay` decide on everything arriving at its inbox, acking each once handled."""
    rejects = Rejects(relay.counters, relay.clock) if rejects is None else rejects
    relay.on_rejected = rejects.refused

    async def handle(delivery: Delivery) -> None:
        await relay.handle(delivery)

    await consume(inbox, handle, relay.counters, rejects=rejects)


async def consume(
    inbox: Subscription,
    handle: Callable[[Delivery], Awaitable[None]],
    counters: Counters,
    *,
    rejects: Rejects | None = None,
    retry_s: float = RETRY_S,
) -> None:
    """Hand every delivery of `inbox` to `handle`, then ack it, until the inbox closes.

    A bus failure (a pull, an ack or a store that fails) is counted
    (``transport.failed``), logged and retried after `retry_s`; it never ends the loop:
    what was not acked comes back after the ack wait, and is handled once. Any other
    failure is the delivery's: see the module's docstring (`rejects` keeps it; by
    default in memory, timed by the system clock).
    """
    rejects = Rejects(counters, SystemClock()) if rejects is None else rejects
    while True:
        try:
            async for delivery in inbox:
                await _handle_one(delivery, handle, counters, rejects)
                await inbox.ack(delivery)
            return
        except BusClosed:
            return
        except TransportError as exc:
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
