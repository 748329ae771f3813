"""A plain TCP server streaming a party's CoT events to TAK clients, for a local display.

Clients connect (ATAK, WinTAK, PyTAK: ``tcp://host:port``) and receive, first, the
latest event of every uid published so far, then every event as it is published
(`cot_fanout.CotFanout`). What clients send is read and thrown away. No TLS and no
input here: this is `warnlink demo --serve --cot-port`'s feed. A node's own CoT port,
TLS with client certificates, taking CoT from the party's TAK sources as well, is
`sources.cot_stream.CotStreamServer`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Final

from warnlink.interop.cot import CotEvent
from warnlink.interop.cot_fanout import CotFanout

#: Bytes read at a time from a client whose input is thrown away.
DISCARD_READ_BYTES: Final = 65_536


async def discard_input(reader: asyncio.StreamReader) -> None:
    """Read and throw away what a receive-only client sends, until it closes."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(DISCARD_READ_BYTES):
            pass


class CotServer:
    """Streams published CoT events to every connected client over plain TCP."""

    def __init__(self) -> None:
        self.fanout = CotFanout()
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (an ephemeral one when `port` is 0)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def publish(self, events: Iterable[CotEvent]) -> int:
        """Send events to every client and keep the latest of each uid; returns how many."""
        return self.fanout.publish(events)

    async def close(self) -> None:
        """Stop listening and disconnect every client."""
        if self._server is not None:
            self._server.close()
        await self.fanout.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = self.fanout.add(writer)
        try:
            await discard_input(reader)
        finally:
            self.fanout.remove(client)
