"""The display's WebSocket is bounded: clients, inbound size and rate, slow readers (issue 17).

It took any number of clients and built the state once per client four times a second
(300 idle clients held ``/api/state`` up to 1.2 s), read messages of any size at any
rate, and queued pushes for a client that does not read.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from warnlink.web.app import create_app
from warnlink.web.display import Display
from warnlink.web.sockets import SocketLimits, StateFeed


@pytest.fixture
def display() -> Display:
    """A display with no node yet: its state is small and fixed."""
    return Display("JPN", "Japan", ["USA"])


def _drain(ws: Any) -> None:
    while True:
        ws.receive_text()


def _closed_with(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as info:
        _drain(ws)
    return info.value.code


def test_clients_beyond_the_cap_are_refused_with_1013_and_counted(display: Display) -> None:
    with TestClient(create_app(display, sockets=SocketLimits(max_clients=2))) as client:
        with client.websocket_connect("/ws") as one, client.websocket_connect("/ws") as two:
            assert one.receive_json()["party"] == "JPN"
            assert two.receive_json()["party"] == "JPN"
            with client.websocket_connect("/ws") as three:
                assert _closed_with(three) == 1013
            metrics = client.get("/metrics").text
        assert 'warnlink_websocket_refused_total{reason="capacity"} 1.0' in metrics
        assert "warnlink_websocket_clients 2.0" in metrics
        with client.websocket_connect("/ws") as again:  # room again once they left
            assert again.receive_json()["party"] == "JPN"


def test_an_inbound_message_over_the_limit_closes_with_1009(display: Display) -> None:
    with TestClient(create_app(display)) as client, client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_text("x" * 2_000)
        assert _closed_with(ws) == 1009


def test_inbound_messages_over_the_rate_close_with_1008(display: Display) -> None:
    limits = SocketLimits(max_messages_per_s=1e-6, burst=3)
    with TestClient(create_app(display, sockets=limits)) as client:
        with client.websocket_connect("/ws") as ws:
            ws.receive_json()
            for _ in range(5):
                ws.send_text("hello")
            assert _closed_with(ws) == 1008
        assert 'reason="rate"' in client.get("/metrics").text


class _Stuck:
    """A client that never reads: every send waits forever."""

    def __init__(self) -> None:
        self.closed: int | None = None
        self.forever = asyncio.Event()

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        await self.forever.wait()
        return {"type": "websocket.disconnect"}

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed = code
        self.forever.set()  # as a server's close ends the connection: receive sees it


async def test_a_client_that_does_not_read_is_dropped_not_buffered() -> None:
    builds = SimpleNamespace(n=0)

    def state() -> dict[str, int]:
        builds.n += 1
        return {"n": builds.n}  # a new state on every push: all would pile up

    feed = StateFeed(state, SocketLimits(send_timeout_s=0.05))  # type: ignore[arg-type]
    stuck = _Stuck()
    await asyncio.wait_for(feed.serve(stuck), 10.0)  # type: ignore[arg-type]
    assert stuck.closed == 1008
    assert feed.counters.get("ws.refused.slow") == 1
    assert feed.clients == set()
