"""The CoT fan-out builds the picture only for someone: no client, no projection; a
client that connects is served at once."""

from __future__ import annotations

import asyncio

from warnlink.interop.cot import CotEvent
from warnlink.interop.cot_fanout import CotFanout


async def test_the_picture_is_built_only_while_a_client_reads_it() -> None:
    built: list[int] = []

    def events() -> list[CotEvent]:
        built.append(len(built))
        return [CotEvent("warnlink.JPN.JPN-E1.track", b"<event/>")]

    fanout = CotFanout()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fanout.add(writer)

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    # A period far longer than the test: only a client's arrival can make it publish.
    running = asyncio.create_task(fanout.run(events, stop, every_s=3600.0))
    try:
        for _ in range(10):
            await asyncio.sleep(0)  # the loop's first turn, with nobody connected
        assert built == []
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = await asyncio.wait_for(reader.readuntil(b"<event/>"), timeout=10)
        assert data.endswith(b"<event/>")
        assert len(built) == 1
        writer.close()
    finally:
        stop.set()
        await running
        server.close()
        await fanout.close()
