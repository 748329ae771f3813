"""A party's CoT events written out to every connected TAK client, none holding up another.

The picture is published as a whole about once a second (`CotFanout.run`); a client
that connects later gets the latest event of every uid at once. Each event goes out
after an XML declaration: a PyTAK reader in TAK protocol mode tells XML from protobuf by
it (without it, PyTAK drops the event). Events go out as XML to every client, whatever
it sends.

A slow client never blocks the others: each client has its own writer task and its own
pending events, one per uid, so an event not yet written is replaced by its uid's newer
one (the oldest state is dropped: the client gets the latest picture, later). At most
`MAX_PENDING` uids wait per client (beyond, the oldest is dropped and counted as
``cot_out.dropped``). A client whose connection has not taken `WRITE_CHUNK_BYTES` in
`STALL_S` seconds is disconnected (``cot_out.stalled``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Final

from warnlink.counters import Counters
from warnlink.interop.cot import CotEvent

log = logging.getLogger(__name__)

#: Written before every event.
DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
#: Seconds between two publications of the picture: TAK clients expect about 1 Hz.
PUBLISH_EVERY_S: Final = 1.0
#: The most uids waiting for one client.
MAX_PENDING: Final = 10_000
#: Seconds a client's connection may take to accept `WRITE_CHUNK_BYTES` before it is
#: disconnected.
STALL_S: Final = 30.0
#: Bytes written to a client before waiting for its connection to take them.
WRITE_CHUNK_BYTES: Final = 64 * 1024


class FanoutClient:
    """One connected client: its pending events and the task that writes them."""

    def __init__(self, writer: asyncio.StreamWriter, fanout: CotFanout) -> None:
        self.writer = writer
        self._fanout = fanout
        self._pending: dict[str, bytes] = {}
        self._wake = asyncio.Event()
        self.task = asyncio.create_task(self._write())

    def offer(self, uid: str, data: bytes) -> None:
        """Queue `data` for `uid`, replacing what of that uid was not yet written."""
        self._pending.pop(uid, None)
        self._pending[uid] = data
        if len(self._pending) > self._fanout.max_pending:
            del self._pending[next(iter(self._pending))]
            self._fanout.counters.inc("cot_out.dropped")
        self._wake.set()

    async def _write(self) -> None:
        stall_s = self._fanout.stall_s
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    uid = next(iter(self._pending))
                    self.writer.write(self._pending.pop(uid))
                    if self.writer.transport.get_write_buffer_size() >= WRITE_CHUNK_BYTES:
                        await asyncio.wait_for(self.writer.drain(), stall_s)
                await asyncio.wait_for(self.writer.drain(), stall_s)
        except TimeoutError:
            self._fanout.counters.inc("cot_out.stalled")
            log.warning(
                "CoT client %s took no write for %.0f s: disconnected",
                self.writer.get_extra_info("peername"),
                self._fanout.stall_s,
            )
        except ConnectionError:
            pass
        finally:
            self._fanout.forget(self)
            self.writer.close()


class CotFanout:
    """Writes published CoT events to every client; keeps the latest of each uid."""

    def __init__(
        self,
        counters: Counters | None = None,
        *,
        max_pending: int = MAX_PENDING,
        stall_s: float = STALL_S,
    ) -> None:
        self.counters = counters if counters is not None else Counters()
        self.max_pending = max_pending
        self.stall_s = stall_s
        self._latest: dict[str, bytes] = {}
        self._clients: set[FanoutClient] = set()
        self._joined = asyncio.Event()

    @property
    def clients(self) -> frozenset[FanoutClient]:
        """The connected clients."""
        return frozenset(self._clients)

    def add(self, writer: asyncio.StreamWriter) -> FanoutClient:
        """Start writing to a new client, first the latest event of every uid."""
        client = FanoutClient(writer, self)
        for uid, data in self._latest.items():
            client.offer(uid, data)
        self._clients.add(client)
        self._joined.set()
        return client

    def remove(self, client: FanoutClient) -> None:
        """Stop writing to `client` and close its connection."""
        self._clients.discard(client)
        client.task.cancel()

    def forget(self, client: FanoutClient) -> None:
        """Drop a client whose writer task ended (its connection broke or stalled)."""
        self._clients.discard(client)

    def publish(self, events: Iterable[CotEvent]) -> int:
        """Send events to every client and keep the latest of each uid; returns how many."""
        count = 0
        for event in events:
            data = DECLARATION + event.xml
            self._latest[event.uid] = data
            for client in self._clients:
                client.offer(event.uid, data)
            count += 1
        return count

    async def run(
        self,
        events: Callable[[], Iterable[CotEvent]],
        stop: asyncio.Event,
        every_s: float = PUBLISH_EVERY_S,
    ) -> None:
        """Publish what `events` gives every `every_s` seconds until `stop` is set.

        While no client is connected nothing is built (projecting a picture is most of
        an idle node's work: ground tracks flown for every event) and the kept events
        are dropped, being out of date; a client that connects wakes the loop, and gets
        the picture at once.
        """
        while not stop.is_set():
            self._joined.clear()
            if self._clients:
                self.publish(events())
            else:
                self._latest.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._joined.wait())]
            await asyncio.wait(waits, timeout=every_s, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    async def close(self) -> None:
        """Disconnect every client."""
        clients = list(self._clients)
        for client in clients:
            self.remove(client)
        await asyncio.gather(*(c.task for c in clients), return_exceptions=True)
