"""The durable pull consumer behind one `NatsBus.subscribe` (see `warnlink.transport.nats`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
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

    Messages arrive on a private inbox. One pull request (for one message) is sent at a
    time, so a message rarely waits here unasked for (only when a pull answered after
    its caller gave up, or a late status of an expired pull let a second one go out).
    """

    def __init__(self, bus: NatsBus, durable: str, subject_filter: str) -> None:
        self.subject_filter: Final = subject_filter
        self.durable: Final = durable
        self._bus = bus
        self._client = bus._client
        self._inbox = bus._client.new_inbox()
        self._inbox_sub: CoreSubscription | None = None
        self._ready: deque[Msg] = deque()
        self._unacked: dict[int, Msg] = {}  # handed out, not acked: seq -> message
        self._highest_given = 0
        self._pull_until: float | None = None  # loop time after which the pull is lost
        self._wake = asyncio.Event()
        self._closed = False

    async def _open(self) -> None:
        self._inbox_sub = await self._client.subscribe(self._inbox, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        if msg.reply and msg.reply.startswith("$JS.ACK."):
            self._ready.append(msg)
        # Either a message or a status (404, 408, 409): the pull request is over.
        self._pull_until = None
        self._wake.set()

    async def next(self, timeout_s: float | None = None) -> Delivery | None:
        """The next matching, unacked message in log order; None after `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while True:
            self._check_open()
            if self._ready:
                return self._deliver(self._ready.popleft())
            now = loop.time()
            if deadline is not None and now >= deadline:
                return None
            if self._pull_until is None or now > self._pull_until:
                wait_s = LONG_POLL_S if deadline is None else max(deadline - now, 0.001)
                await self._pull(min(wait_s, LONG_POLL_S))
            self._wake.clear()
            if self._ready or self._closed or self._pull_until is None:
                continue  # something arrived (or ended the pull) while it was sent
            until = self._pull_until if deadline is None else min(self._pull_until, deadline)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(until):
                    await self._wake.wait()

    async def ack(self, delivery: Delivery) -> None:
        """Ack `delivery` and wait for the server to confirm. Acking twice is harmless.

        Raises:
            TransportError: `delivery` was not given out by this subscription, or the
                server did not confirm.
        """
        self._check_open()
        msg = self._unacked.get(delivery.seq)
        if msg is None:
            if delivery.seq <= self._highest_given:
                return
            raise TransportError(
                f"durable {self.durable!r} cannot ack message {delivery.seq}: "
                "this subscription did not deliver it"
            )
        assert msg.reply is not None
        await self._bus._send_and_flush(msg.reply, js.ACK)
        # A close while the ack was on its way has already let go of it.
        self._unacked.pop(delivery.seq, None)

    async def close(self) -> None:
        """Stop receiving; hand back (NAK) what was taken and not acked, oldest first."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._inbox_sub is not None:
            with contextlib.suppress(NatsError, OSError):
                await self._inbox_sub.unsubscribe()
        held = sorted(
            [*self._unacked.values(), *self._ready], key=lambda m: _ack_info(m).stream_seq
        )
        self._unacked.clear()
        self._ready.clear()
        if not self._bus._closed:
            for msg in held:
                assert msg.reply is not None
                # Best effort: if it fails, the ack wait redelivers the message anyway.
                with contextlib.suppress(TransportError):
                    await self._bus._send_and_flush(msg.reply, js.NAK)
        if self._bus._subscriptions.get(self.durable) is self:
            del self._bus._subscriptions[self.durable]

    def _check_open(self) -> None:
        if self._closed or self._bus._closed:
            raise BusClosed(f"subscription {self.durable!r} is closed")

    async def _pull(self, wait_s: float) -> None:
        request = js.PullRequest(batch=1, expires=js.seconds_to_ns(wait_s))
        subject = f"{self._bus._api}.CONSUMER.MSG.NEXT.{self._bus.stream}.{self.durable}"
        self._pull_until = asyncio.get_running_loop().time() + wait_s + _PULL_GRACE_S
        try:
            await self._client.publish(subject, msgspec.json.encode(request), reply=self._inbox)
        except (NatsError, OSError) as exc:
            self._pull_until = None
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
