"""The bus interface: a durable, ordered log with named consumers.

Every transport (the embedded `MemoryBus`, a NATS JetStream bus) implements `Bus`
and `Subscription`, and runs the shared conformance suite in
``tests/conformance/bus_suite.py``. Only what is written here is promised.

Delivery is at least once: a message stays pending for a durable consumer until
that consumer acks it. Receivers make redelivery harmless by deduplicating on
`Delivery.msg_id`; publishers make retries harmless by reusing the same `msg_id`.

Batches: a consumer that keeps up takes what is ready with `Subscription.next_batch`
and acks it with `Subscription.ack_many` once its effects are durable (one write or
one round trip per batch, not per message); `next` and `ack` are the batch of one. A
publisher that sends many sends them with `Bus.publish_pipelined`, in order, and awaits
their answers together.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, Self

from warnlink.errors import BusClosed

#: How many pipelined publishes may wait for their answer at once, per bus.
PIPELINE_WINDOW: Final = 64


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as handed to one consumer.

    Attributes:
        subject: the subject it was published on.
        data: the payload, opaque to the bus.
        seq: its position in the log, increasing from 1.
        msg_id: the publisher's message id (the deduplication key).
        published_ns: clock reading (UTC ns) when the log accepted it.
        redelivered: True if this consumer was given it before and did not ack it.
    """

    subject: str
    data: bytes
    seq: int
    msg_id: str
    published_ns: int
    redelivered: bool


@dataclass(frozen=True, slots=True)
class PublishAck:
    """The log's answer to a publish.

    Attributes:
        seq: the message's position in the log.
        duplicate: True if a message with this msg_id was already in the log;
            nothing was appended and `seq` is the original's.
    """

    seq: int
    duplicate: bool


class Subscription(Protocol):
    """A durable consumer's view of the log: matching messages, in log order."""

    @property
    def subject_filter(self) -> str:
        """The filter this consumer was created with."""
        ...

    @property
    def durable(self) -> str:
        """The consumer's name; its position survives restarts."""
        ...

    def __aiter__(self) -> AsyncIterator[Delivery]:
        """Deliveries, one by one; the iteration ends when the subscription is closed."""
        ...

    async def next(self, timeout_s: float | None = None) -> Delivery | None:
        """The next delivery, waiting up to `timeout_s` (forever if None).

        Returns:
            The delivery, or None if nothing arrived in time.

        Raises:
            BusClosed: the subscription or its bus is closed.
        """
        ...

    async def next_batch(self, max_count: int, timeout_s: float | None = None) -> list[Delivery]:
        """What is ready, in log order: at least one delivery and at most `max_count`,
        waiting up to `timeout_s` (forever if None) for the first; never waits to fill.

        Returns:
            The deliveries, or an empty list if nothing arrived in time.

        Raises:
            TransportError: `max_count` is below 1.
            BusClosed: the subscription or its bus is closed.
        """
        ...

    async def ack(self, delivery: Delivery) -> None:
        """Mark `delivery` as processed; durable when this returns. Acking twice is harmless.

        Raises:
            BusClosed: the subscription or its bus is closed.
        """
        ...

    async def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        """Ack every one of `deliveries` at once (one write, one round trip); all
        durable when this returns. Deliveries acked before are skipped.

        Raises:
            TransportError: one was not given out by this subscription (none is acked).
            BusClosed: the subscription or its bus is closed.
        """
        ...

    async def close(self) -> None:
        """Stop receiving. Unacked deliveries stay pending for the next subscriber."""
        ...


class IterateByNext(ABC):
    """`async for` and `next()` over a subscription's `next_batch`: `async for` calls
    `next()` without a timeout until the bus closes."""

    @abstractmethod
    async def next_batch(self, max_count: int, timeout_s: float | None = None) -> list[Delivery]:
        """What is ready, up to `max_count` (see `Subscription.next_batch`)."""

    async def next(self, timeout_s: float | None = None) -> Delivery | None:
        """The next delivery; None after `timeout_s` (see `Subscription.next`)."""
        batch = await self.next_batch(1, timeout_s)
        return batch[0] if batch else None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Delivery:
        try:
            delivery = await self.next()
        except BusClosed:
            raise StopAsyncIteration from None
        assert delivery is not None  # no timeout was given
        return delivery


class Bus(Protocol):
    """A durable publish/subscribe log."""

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        """Append a message; durable when this returns.

        Idempotent by `msg_id`: publishing an id already in the log appends nothing
        and returns the original seq with ``duplicate=True``.

        Raises:
            TransportError: invalid subject, empty msg_id, or data too large.
            BusClosed: the bus is closed.
            StoreError: the log could not be written.
        """
        ...

    async def publish_pipelined(
        self, subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        """Send a message now, in order after this bus's earlier publishes, without
        waiting for the log's answer: the returned future has it (the ack `publish`
        would return, or the error it would raise). At most `PIPELINE_WINDOW` wait for
        their answer at once; a call waits while that many do.

        Raises:
            TransportError: invalid subject, empty msg_id, or data too large.
            BusClosed: the bus is closed.
        """
        ...

    async def subscribe(self, subject_filter: str, *, durable: str) -> Subscription:
        """Open (or resume) the durable consumer `durable`.

        A new durable starts at the beginning of the log. A known one gets, in log
        order, every matching message it has not acked; those it was given before
        come flagged ``redelivered=True``. Durables are independent of each other.

        Raises:
            TransportError: invalid filter or name, or `durable` exists with another filter.
            BusClosed: the bus is closed.
        """
        ...

    async def close(self) -> None:
        """Close the bus and its subscriptions. Closing twice is harmless."""
        ...


def answered(ack: PublishAck) -> asyncio.Future[PublishAck]:
    """A publish's answer already in: `publish_pipelined` of a bus that answers at once."""
    future: asyncio.Future[PublishAck] = asyncio.get_running_loop().create_future()
    future.set_result(ack)
    return future
