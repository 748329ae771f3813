"""A small TCP server streaming CoT events to TAK clients (plain TCP, one event per write).

Clients connect (ATAK, WinTAK, PyTAK: ``tcp://host:port``) and receive, first, the
latest event of every uid published so far, then every event as it is published. What
clients send is read and ignored. No TLS here: put it behind TAK Server or a TLS
terminator for anything but a local display.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Final

from warnlink.interop.cot import CotEvent

#: Seconds a client may take to accept one publication before it is disconnected.
DRAIN_TIMEOUT_S: Final = 1.0


class CotServer:
    """Streams published CoT events to every connected client."""

    def __init__(self) -> None:
        self._latest: dict[str, bytes] = {}
        self._clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (an ephemeral one when `port` is 0)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def publish(self, events: Iterable[CotEvent]) -> None:
        """Send events to every client and keep the latest of each uid for newcomers."""
        batch = list(events)
        for event in batch:
            self._latest[event.uid] = event.xml
        for writer in list(self._clients):
            for event in batch:
                writer.write(event.xml)
            try:
                # A client that stops reading must not hold up the others.
                await asyncio.wait_for(writer.drain(), DRAIN_TIMEOUT_S)
            except (ConnectionError, TimeoutError):
                self._clients.discard(writer)
                writer.close()

    async def close(self) -> None:
        """Stop listening and disconnect every client."""
        for writer in list(self._clients):
            writer.close()
        self._clients.clear()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for xml in self._latest.values():
            writer.write(xml)
        self._clients.add(writer)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            while await reader.read(4096):
                pass  # what a client sends is not for us
        self._clients.discard(writer)
        writer.close()
