"""The display servers' listening sockets: connections that never wait on a delayed ACK."""

from __future__ import annotations

import asyncio
import socket

from warnlink.web.serve import listen_socket

PATIENCE_S = 10.0  # a guard against a hang, never expected to elapse


async def test_every_accepted_connection_has_nagle_off() -> None:
    sock = listen_socket("127.0.0.1", 0)
    accepted: asyncio.Queue[int] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = writer.get_extra_info("socket")
        await accepted.put(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(handle, sock=sock)
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
        nodelay = await asyncio.wait_for(accepted.get(), PATIENCE_S)
        writer.close()
    assert nodelay != 0
