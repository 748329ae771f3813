"""The node's side of ingest over NATS: answer each source's requests, knowing who sent them.

A source sends a request to ``ingest.missiletrack`` on its party's server; its account
delivers it to the party's account as ``ingest.missiletrack.<source>``
(`nats_accounts`). `serve_ingest` subscribes there on the node's own connection, reads
the source's name from the subject, checks it is still live in the registry (the
server has already authenticated the certificate; the registry catches a source
revoked a moment before its server reloaded), and answers with what the handler
returns: the same JSON answer as the HTTP port.

Requests are answered one at a time, in arrival order (one subscription, whose
callback nats-py runs for one message after the other). A handler that raises
`IngestError` gets the refusal as its answer; any other error goes to the client's
error callback (nats-py keeps the subscription), and the source, unanswered, times
out and sends again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from warnlink.errors import IngestError
from warnlink.sharing.nats_topology import INGEST_SUBJECT
from warnlink.sources.base import IngestAnswer, Refusal
from warnlink.sources.registry import SourceRegistry

#: Takes a source's name and its request's body; returns the answer's body.
IngestHandler = Callable[[str, bytes], Awaitable[bytes]]
#: Told of every refusal of a whole request, with the source's name.
OnRefused = Callable[[str, IngestError], None]
_PREFIX: Final = f"{INGEST_SUBJECT}."


def refusal_body(error: IngestError) -> bytes:
    """The answer to a request refused whole, as JSON (`IngestAnswer.as_json`)."""
    return msgspec.json.encode(IngestAnswer(refused=(Refusal.of(error),)).as_json())


async def serve_ingest(
    nc: Client,
    handle: IngestHandler,
    stop: asyncio.Event,
    *,
    registry: SourceRegistry | None = None,
    on_refused: OnRefused | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Answer the party's sources' ingest requests on `nc` until `stop` is set.

    Args:
        nc: the node's connection to its party's server (its user may subscribe to
            ``ingest.missiletrack.>`` and answer: `sharing.nats_topology`).
        handle: what to answer a source's body with; it may raise `IngestError`.
        stop: set to unsubscribe and return.
        registry: when given, a request from a source that is not live in it is
            refused (``unregistered`` or ``revoked``) before `handle` sees it.
        on_refused: told of every request refused whole (to count it, or to note it
            in the source's health).
        ready: set once the server holds the subscription (requests are answered).
    """

    async def answer(message: Msg) -> None:
        source = message.subject.removeprefix(_PREFIX)
        try:
            if registry is not None:
                registry.source(source)
            body = await handle(source, message.data)
        except IngestError as exc:
            if on_refused is not None:
                on_refused(source, exc)
            body = refusal_body(exc)
        if message.reply:
            with contextlib.suppress(NatsError):  # the connection is going: no one to tell
                await message.respond(body)

    subscription = await nc.subscribe(f"{_PREFIX}>", cb=answer)
    await nc.flush()
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(NatsError):
            await subscription.unsubscribe()
