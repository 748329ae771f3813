"""The durable pull consumer behind one `NatsBus.subscribe` (see `warnlink.transport.nats`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as CoreSubscription
from nats.errors import Error as NatsError

from warnlink.errors import BusClosed, TransportError
from warnlink.transport import jetstream as js
from warnlink.transport.base import Delivery, IterateByNext

if TYPE_CHECKING:
    from warnlink.transport.nats import NatsBus

# How long one pull request waits at the server when the caller waits forever;
# renewed as it ends. Short enough that a lost request is noticed soon.
LONG_POLL_S: Final = 10.0
_PULL_GRACE_S: Final = 1.0  # after its expiry, a pull request with no answer is taken as lost


class NatsSubscription(IterateByNext):
    """One open durable pull consumer on a `NatsBus`.

    Messages arrive on a private inbox. One pull request is open at a time, for as many
    messages as the caller asked for (`next_batch`'s `max_count`; one for `next`): the
    server sends them as they come until the request is filled or expires, so a
    consumer that keeps up pays one request per batch, and what is ready is handed out
    at once, never held back to fill a batch. A message the server sends again while
    this subscription still holds it (its ack wait ran out in a long batch) is not
    handed out twice: the latest delivery replaces the one held, and is what an ack
    answers.

    Order after a crash: a consumer left with `orphans` (messages an earlier process
    took and never acked, `ConsumerInfo.num_ack_pending` at subscribe time) gets them
    back from the server only after the ack wait, while newer messages could go on.
    Messages above the highest delivered then (`ConsumerInfo.delivered`) are held
    back until the orphans are back (or the ack wait and a grace have passed), and
    handed out after them, so the inbox keeps its log order.
    """

    def __init__(
        self,
        bus: NatsBus,
        durable: str,
        subject_filter: str,
        *,
        orphans: int = 0,
        delivered_seq: int = 0,
    ) -> None:
        self.subject_filter: Final = subject_filter
        self.durable: Final = durable
        self._bus = bus
        self._client = bus._client
        self._inbox = bus._client.new_inbox()
        self._inbox_sub: CoreSubscription | None = None
        self._ready: dict[int, Msg] = {}  # arrived, not handed out: seq -> message
        self._unacked: dict[int, Msg] = {}  # handed out, not acked: seq -> message
        self._highest_given = 0
        self._pull_until: float | None = None  # loop time after which the pull is lost
        self._pull_left = 0  # messages the open pull may still bring
        self._wake = asyncio.Event()
        self._closed = False
        self._orphans = orphans
        self._orphans_below = delivered_seq  # orphans have seqs at or below it
        self._hold_until: float | None = None  # loop time after which nothing is held
        self._reorder = orphans > 0

    async def _open(self) -> None:
        if self._orphans:
            wait_s = self._bus._ack_wait_s + _PULL_GRACE_S
            self._hold_until = asyncio.get_running_loop().time() + wait_s
        self._inbox_sub = await self._client.subscribe(self._inbox, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        if msg.reply and msg.reply.startswith("$JS.ACK."):
            self._pull_left -= 1
            seq = _ack_info(msg).stream_seq
            if seq in self._unacked:
                # Its ack wait ran out while it was in hand: not handled twice, acked
                # by its latest delivery.
                self._unacked[seq] = msg
            elif seq in self._ready:
                self._ready[seq] = msg
            else:
                self._ready[seq] = msg
                if seq <= self._orphans_below:
                    self._orphans = max(self._orphans - 1, 0)
        else:
            self._pull_left = 0  # a status (404, 408, 409): the pull request is over
        if self._pull_left <= 0:
            self._pull_until = None
        self._wake.set()

    async def next_batch(self, max_count: int, timeout_s: float | None = None) -> list[Delivery]:
        """The matching, unacked messages ready, in log order, up to `max_count`; an
        empty list after `timeout_s` (see `Subscription.next_batch`)."""
        if max_count < 1:
            raise TransportError(f"a batch holds at least one delivery, not {max_count}")
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while True:
            self._check_open()
            batch = self._take(max_count, loop.time())
            if batch:
                return batch
            now = loop.time()
            if deadline is not None and now >= deadline:
                return []
            if self._pull_until is None or now > self._pull_until:
                wait_s = LONG_POLL_S if deadline is None else max(deadline - now, 0.001)
                await self._pull(max_count, min(wait_s, LONG_POLL_S))
            self._wake.clear()
            if self._closed or self._pull_until is None or self._takeable(loop.time()):
                continue  # something arrived (or ended the pull) while it was sent
            until = min(t for t in (self._pull_until, deadline, self._hold_until) if t is not None)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(until):
                    await self._wake.wait()

    async def ack(self, delivery: Delivery) -> None:
        """Ack `delivery` and wait for the server to confirm. Acking twice is harmless.

        Raises:
            TransportError: `delivery` was not given out by this subscription, or the
                server did not confirm.
        """
        await self.ack_many((delivery,))

    async def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        """Ack `deliveries`, then wait for one round trip: the server has read every ack
        when this returns.

        Raises:
            TransportError: one was not given out by this subscription (none is acked),
                or the server did not confirm.
        """
        self._check_open()
        acking: dict[int, Msg] = {}
        for delivery in deliveries:
            msg = self._unacked.get(delivery.seq)
            if msg is not None:
                acking[delivery.seq] = msg
            elif delivery.seq > self._highest_given:
                raise TransportError(
                    f"durable {self.durable!r} cannot ack message {delivery.seq}: "
                    "this subscription did not deliver it"
                )
        if not acking:
            return
        await self._bus._send_and_flush([(msg.reply or "", js.ACK) for msg in acking.values()])
        for seq in acking:
            # A close while the acks were on their way has already let go of them.
            self._unacked.pop(seq, None)

    async def close(self) -> None:
        """Stop receiving; hand back (NAK) what was taken and not acked, oldest first."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._inbox_sub is not None:
            with contextlib.suppress(NatsError, OSError):
                await self._inbox_sub.unsubscribe()
        held = [m for _, m in sorted({**self._ready, **self._unacked}.items())]
        self._unacked.clear()
        self._ready.clear()
        if held and not self._bus._closed:
            # Best effort: if it fails, the ack wait redelivers the messages anyway.
            with contextlib.suppress(TransportError):
                await self._bus._send_and_flush([(msg.reply or "", js.NAK) for msg in held])
        if self._bus._subscriptions.get(self.durable) is self:
            del self._bus._subscriptions[self.durable]

    def _check_open(self) -> None:
        if self._closed or self._bus._closed:
            raise BusClosed(f"subscription {self.durable!r} is closed")

    def _holding(self, now: float) -> bool:
        """True while messages above the orphans wait for them (see the class docstring)."""
        if self._orphans and self._hold_until is not None and now < self._hold_until:
            return True
        self._orphans = 0
        self._hold_until = None
        return False

    def _takeable(self, now: float) -> bool:
        if not self._ready:
            return False
        if not self._holding(now):
            return True
        return any(seq <= self._orphans_below for seq in self._ready)

    def _take(self, max_count: int, now: float) -> list[Delivery]:
        """Up to `max_count` ready messages, in log order, none of those held back."""
        if not self._takeable(now):
            return []
        if self._reorder:
            # Orphans come back after newer messages may have: hand out in log order.
            self._ready = dict(sorted(self._ready.items()))
            self._reorder = self._holding(now)
        taken: list[Delivery] = []
        for seq in list(self._ready):
            if len(taken) == max_count or (self._holding(now) and seq > self._orphans_below):
                break
            taken.append(self._deliver(self._ready.pop(seq)))
        return taken

    async def _pull(self, batch: int, wait_s: float) -> None:
        request = js.PullRequest(batch=batch, expires=js.seconds_to_ns(wait_s))
        subject = f"{self._bus._api}.CONSUMER.MSG.NEXT.{self._bus.stream}.{self.durable}"
        self._pull_until = asyncio.get_running_loop().time() + wait_s + _PULL_GRACE_S
        self._pull_left = batch
        try:
            await self._client.publish(subject, msgspec.json.encode(request), reply=self._inbox)
        except (NatsError, OSError) as exc:
            self._pull_until = None
            self._pull_left = 0
            raise TransportError(f"pull from durable {self.durable!r} failed: {exc!r}") from exc

    def _deliver(self, msg: Msg) -> Delivery:
        info = _ack_info(msg)
        headers = msg.headers or {}
        self._unacked[info.stream_seq] = msg
        self._highest_given = max(self._highest_given, info.stream_seq)
        return Delivery(
            subject=self._bus._from_nats(msg.subject),
            data=msg.data,
            seq=info.stream_seq,
            msg_id=headers.get(js.MSG_ID_HEADER, ""),
            published_ns=info.timestamp_ns,
            redelivered=info.num_delivered > 1,
        )


def _ack_info(msg: Msg) -> js.AckSubject:
    return js.parse_ack_subject(msg.reply or "")
