"""`/api/state` latency with idle WebSocket clients on the display (issue 17, finding 5).

Starts ``warnlink demo --serve`` in a child process, waits for the scenario to end (the
final picture is then static), and times sequential ``GET /api/state`` on JPN's display
with no WebSocket client, then with `--clients` idle ones (connected, reading what is
pushed, sending nothing). Prints the median and p95 of each, and how many clients the
display took.

    PYTHONPATH=src python bench/ws_idle_clients.py --clients 300 [--cap 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


async def _start(port: int, cap: int | None) -> tuple[asyncio.subprocess.Process, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "warnlink",
        "demo",
        "--serve",
        "--speed",
        "1000",
        "--port",
        str(port),
        *([] if cap is None else ["--ws-clients", str(cap)]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    url = ""
    while not url:
        line = (await child.stdout.readline()).decode()
        if not line:
            raise RuntimeError("the demo ended before serving")
        if line.startswith("JPN display:"):
            url = line.split(": ", 1)[1].strip()
    while b"scenario over" not in await child.stderr.readline():
        pass
    return child, url


async def _latencies_ms(client: httpx.AsyncClient, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        (await client.get(f"{url}api/state")).raise_for_status()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


async def _idle(socket: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in socket:
            pass


def _summary(name: str, values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20)[-1]
    return f"{name}: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms"


async def main(clients: int, requests: int, port: int, cap: int | None) -> None:
    child, url = await _start(port, cap)
    sockets: list[ClientConnection] = []
    readers: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient(timeout=120.0) as http:
            await _latencies_ms(http, url, 5)  # warm up
            print(_summary("0 WebSocket clients", await _latencies_ms(http, url, requests)))
            ws_url = url.replace("http", "ws", 1) + "ws"
            for _ in range(clients):
                try:
                    socket = await asyncio.wait_for(connect(ws_url, max_size=None), 30.0)
                except (OSError, TimeoutError, ConnectionClosed, InvalidStatus):
                    continue  # refused, or the display too busy to answer in time
                sockets.append(socket)
                readers.append(asyncio.create_task(_idle(socket)))
            await asyncio.sleep(2.0)  # let every client settle into idling
            open_now = sum(1 for s in sockets if s.close_code is None)
            refused = clients - open_now
            print(
                _summary(f"{clients} idle clients", await _latencies_ms(http, url, requests))
                + f" ({open_now} held open, {refused} refused or closed by the display)"
            )
    finally:
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.close()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        os.kill(child.pid, signal.SIGINT)
        await child.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--port", type=int, default=18_700, help="the first display's port")
    parser.add_argument("--cap", type=int, help="the displays' WebSocket client cap (--ws-clients)")
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.requests, args.port, args.cap))
