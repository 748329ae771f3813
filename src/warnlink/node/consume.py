"""The consumer loop of a node's and a relay's inbox: handle, then ack, whatever fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from warnlink.counters import Counters
from warnlink.errors import BusClosed, TransportError
from warnlink.sharing.relay import Relay
from warnlink.transport import Delivery, Subscription

log = logging.getLogger(__name__)

#: Seconds before a consumer tries again after a bus failure.
RETRY_S: Final = 0.5


async def serve_relay(relay: Relay, inbox: Subscription) -> None:
    """Let `relay` decide on everything arriving at its inbox, acking each once handled."""

    async def handle(delivery: Delivery) -> None:
        await relay.handle(delivery)

    await consume(inbox, handle, relay.counters)


async def consume(
    inbox: Subscription,
    handle: Callable[[Delivery], Awaitable[None]],
    counters: Counters,
    *,
    retry_s: float = RETRY_S,
) -> None:
    """Hand every delivery of `inbox` to `handle`, then ack it, until the inbox closes.

    A bus failure (a pull, an ack or a store that fails) is counted
    (``transport.failed``), logged and retried after `retry_s`; it never ends the loop:
    what was not acked comes back after the ack wait, and is handled once.
    """
    while True:
        try:
            async for delivery in inbox:
                await handle(delivery)
                await inbox.ack(delivery)
            return
        except BusClosed:
            return
        except TransportError as exc:
            counters.inc("transport.failed")
            log.warning("%s: %s; retrying", inbox.durable, exc)
            await asyncio.sleep(retry_s)
