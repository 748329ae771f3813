"""The display's WebSocket clients: one state for all of them, each client bounded.

The state is built and encoded once per push (`PUSH_HZ` at most, only while clients
are connected, only sent when it changed) and handed to every client: built per
client, 300 idle clients built it 1,200 times a second and held ``/api/state`` up to
1.2 s. Each client holds at most the latest state not yet sent (a newer one replaces
it), so a slow reader costs one state, not a growing queue; a client whose send does
not complete within `SocketLimits.send_timeout_s` is dropped.

Limits per display (`SocketLimits`), each refusal counted by reason
(``ws.refused.<reason>``, `counters`) and closed with a standard code (RFC 6455 7.4,
IANA registry): ``capacity`` (more than `max_clients` at once: 1013 try again later),
``too_big`` (an inbound message over `max_message_bytes`: 1009), ``rate`` (inbound
messages faster than `max_messages_per_s`, over a burst of `burst`: 1008 policy
violation), ``slow`` (1008). The page sends nothing, so the inbound limits are tight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import msgspec
from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from warnlink.counters import Counters
from warnlink.web.view import StateView

log = logging.getLogger(__name__)

#: Most WebSocket pushes a second.
PUSH_HZ: Final = 4.0
CLOSE_TRY_AGAIN_LATER: Final = 1013
CLOSE_TOO_BIG: Final = 1009
CLOSE_POLICY: Final = 1008


@dataclass(frozen=True, slots=True)
class SocketLimits:
    """Bounds on one display's WebSocket clients.

    Attributes:
        max_clients: connected at once; more are closed with 1013. A party's operators
            watch from a few consoles: 64 leaves room and bounds the work.
        max_message_bytes: the largest message a client may send (the page sends none).
        max_messages_per_s: inbound messages a second a client may keep up...
        burst: ...after this many at once.
        send_timeout_s: a push not taken by the client within this is its end.
    """

    max_clients: int = 64
    max_message_bytes: int = 1024
    max_messages_per_s: float = 1.0
    burst: int = 10
    send_timeout_s: float = 10.0


class _Client:
    """One connected socket: the latest state not yet sent to it, and its inbound budget."""

    def __init__(self, websocket: WebSocket, limits: SocketLimits) -> None:
        self.websocket = websocket
        self.pending: bytes | None = None
        self.ready = asyncio.Event()
        self.tokens = float(limits.burst)
        self.refilled = time.monotonic()

    def offer(self, data: bytes) -> None:
        self.pending = data  # replaces a state the client has not taken yet
        self.ready.set()

    def spend(self, per_s: float, burst: int) -> bool:
        """Take one inbound message from the budget; False when it is spent."""
        now = time.monotonic()
        self.tokens = min(float(burst), self.tokens + (now - self.refilled) * per_s)
        self.refilled = now
        self.tokens -= 1.0
        return self.tokens >= 0.0


class StateFeed:
    """Pushes one display's state to its WebSocket clients, within `limits`."""

    def __init__(
        self,
        state: Callable[[], StateView],
        limits: SocketLimits | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.state = state
        self.limits = limits or SocketLimits()
        self.counters = counters or Counters()
        self.clients: set[_Client] = set()
        self._pusher: asyncio.Task[None] | None = None
        self._last = b""

    async def serve(self, websocket: WebSocket) -> None:
        """Serve one client until it leaves or breaks a limit."""
        await websocket.accept()
        if len(self.clients) >= self.limits.max_clients:
            await self._refuse(websocket, "capacity", CLOSE_TRY_AGAIN_LATER, "too many clients")
            return
        client = _Client(websocket, self.limits)
        self.clients.add(client)
        if self._pusher is None:
            self._pusher = asyncio.create_task(self._push())
        if self._last:
            client.offer(self._last)  # a newcomer gets the current state at once
        sender = asyncio.create_task(self._send(client))
        try:
            await self._read(client)  # until the client leaves, or is closed by a limit
        finally:
            self.clients.discard(client)
            sender.cancel()
            tasks = [sender]
            if not self.clients and self._pusher is not None:
                tasks.append(self._pusher)  # the last one out stops the pushes
                self._pusher.cancel()
                self._pusher, self._last = None, b""
            # Each ends done, cancelled, or failed on the closed socket: all are the end.
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, client: _Client) -> None:
        limits = self.limits
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await client.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                size = len(message.get("text") or "") + len(message.get("bytes") or b"")
                if size > limits.max_message_bytes:
                    await self._refuse(client.websocket, "too_big", CLOSE_TOO_BIG, "too big")
                    return
                if not client.spend(limits.max_messages_per_s, limits.burst):
                    await self._refuse(client.websocket, "rate", CLOSE_POLICY, "too many messages")
                    return

    async def _send(self, client: _Client) -> None:
        while True:
            await client.ready.wait()
            client.ready.clear()
            data, client.pending = client.pending, None
            if data is None:
                continue
            try:
                await asyncio.wait_for(
                    client.websocket.send_text(data.decode()), self.limits.send_timeout_s
                )
            except TimeoutError:
                await self._refuse(client.websocket, "slow", CLOSE_POLICY, "not reading")
                return

    async def _push(self) -> None:
        """Build the state once per tick while anyone listens; offer it when it changed."""
        while True:
            try:
                data = msgspec.json.encode(self.state())
            except Exception:  # a fault in the view must not end the pushes (invariant 5)
                log.exception("display state could not be built")
                data = self._last
            if data != self._last:
                self._last = data
                for client in list(self.clients):
                    client.offer(data)
            await asyncio.sleep(1.0 / PUSH_HZ)

    async def _refuse(self, websocket: WebSocket, reason: str, code: int, why: str) -> None:
        self.counters.inc(f"ws.refused.{reason}")
        log.warning("display WebSocket closed (%s): %s", reason, why)
        with contextlib.suppress(Exception):  # the socket may be broken already
            await asyncio.wait_for(websocket.close(code=code, reason=why), 1.0)
