"""Serving displays from the program's own event loop.

Each display gets its own port and its own uvicorn server, run as a task in the
running asyncio loop beside the nodes it reads (the picture is in-process; nothing is
copied). Sockets are bound up front, so a taken port is a clear error and port 0
picks a free one. The program owns its signals: the servers stop when `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import msgspec
import uvicorn
from fastapi import FastAPI

from warnlink.deploy import relay_audit_path
from warnlink.errors import ConfigError
from warnlink.interop.party import PartyView
from warnlink.sharing.audit import AuditEntry, DecisionRecord, decode_line
from warnlink.sharing.federation import Federation
from warnlink.web.app import create_app
from warnlink.web.display import Display, no_decisions
from warnlink.web.peer import PeerCertProtocol

#: Seconds given to open connections (WebSockets) to close when stopping.
SHUTDOWN_GRACE_S: Final = 2.0
#: The largest WebSocket message the server reads at all (the app refuses above
#: `web.sockets.SocketLimits.max_message_bytes`, counted).
MAX_WS_FRAME_BYTES: Final = 64 * 1024
#: Decisions of its relay's log a display keeps (it shows the newest `RECENT_DECISIONS`).
TAIL_KEEP: Final = 1000


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program embedding it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_config(app: Callable[..., Any], ssl_context: ssl.SSLContext | None) -> uvicorn.Config:
    """How every display's server runs `app`: HTTPS with `ssl_context` (None: plain
    HTTP), each request carrying its client's certificate (`web.peer`)."""
    return uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
        ssl_context_factory=None if ssl_context is None else lambda _c, _d: ssl_context,
        http=PeerCertProtocol,
        # A ceiling below the app's own count (`web.sockets`): a client's frames are
        # refused before 16 MiB of them (uvicorn's default) sit in memory.
        ws_max_size=MAX_WS_FRAME_BYTES,
    )


class DisplayServers:
    """One web server per display, on ports `base_port`, +1, +2... (0: any free port).

    Args:
        displays: the displays, in port order.
        host: the address to listen on.
        base_port: the first display's port; 0 picks free ports.
        ssl_context: serve HTTPS (mTLS when the context asks for client certificates,
            as `security.certs.server_ssl_context` will; each request then carries its
            client's certificate, `web.peer`); None serves plain HTTP.
        app_for: the web app of a display (`app.create_app`; a node process adds its
            ingest route to it).

    Raises:
        ConfigError: a port cannot be bound.
    """

    def __init__(
        self,
        displays: Sequence[Display],
        *,
        host: str = "127.0.0.1",
        base_port: int = 8000,
        ssl_context: ssl.SSLContext | None = None,
        app_for: Callable[[Display], FastAPI] = create_app,
    ) -> None:
        self.displays = list(displays)
        self.app_for = app_for
        self.host = host
        self.ssl_context = ssl_context
        self._sockets: list[socket.socket] = []
        try:
            for i in range(len(self.displays)):
                self._sockets.append(listen_socket(host, base_port + i if base_port else 0))
        except OSError as exc:
            self.close()
            raise ConfigError(f"cannot serve the displays on {host}: {exc}") from exc

    @property
    def urls(self) -> dict[str, str]:
        """Party -> its display's URL."""
        scheme = "https" if self.ssl_context else "http"
        return {
            d.party: f"{scheme}://{self.host}:{s.getsockname()[1]}/"
            for d, s in zip(self.displays, self._sockets, strict=True)
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then close every connection and socket."""
        servers = [
            EmbeddedServer(server_config(self.app_for(display), self.ssl_context))
            for display in self.displays
        ]
        tasks = [
            asyncio.create_task(server.serve(sockets=[sock]))
            for server, sock in zip(servers, self._sockets, strict=True)
        ]
        try:
            await stop.wait()
        finally:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            self.close()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on `host`:`port` (0: a free port) for a uvicorn server.

    Made with its protocol named (``IPPROTO_TCP``): asyncio turns Nagle's algorithm off
    (``TCP_NODELAY``) only on connections accepted from such a socket. Without it, every
    answer written in two parts (head, body) waits for the client's delayed ACK: about
    40 ms a request on Linux.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


async def serve_node(
    node: PartyView,
    federation: Federation,
    folder: Path,
    *,
    port: int,
    stop: asyncio.Event,
    host: str = "127.0.0.1",
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Serve one running node's display until `stop` is set (``warnlink up --port``).

    Where the party hosts a relay, its decisions are read from the relay process's audit
    log in the data folder (`deploy.relay_audit_path`); other parties see none, since
    only the relay's host holds that log.
    """
    party = node.party
    log = relay_audit_path(folder, party)
    display = Display(
        party,
        federation.parties[party],
        federation.peers(party),
        decisions=AuditTail(log) if party in federation.relays else no_decisions,
    )
    display.attach(node)
    await DisplayServers([display], host=host, base_port=port, ssl_context=ssl_context).run(stop)


class AuditTail:
    """The newest decisions of an audit log another process is writing, read as it grows.

    Each call reads only what was appended since the last one (complete lines; a line
    still being written waits for the next call) and keeps the newest `keep` entries,
    so following a long-running relay's log costs the new bytes, not the whole file.
    A line that does not decode is skipped (`audit verify` is the tool that judges a
    log; the display only shows it).
    """

    def __init__(self, path: Path, keep: int = TAIL_KEEP) -> None:
        self.path = path
        self._offset = 0
        self._recent: deque[DecisionRecord] = deque(maxlen=keep)

    def __call__(self) -> Sequence[DecisionRecord]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return tuple(self._recent)  # not written yet, or gone: what was seen stands
        complete = data.rfind(b"\n") + 1
        for line in data[:complete].splitlines():
            with contextlib.suppress(msgspec.DecodeError):
                parsed = decode_line(line)
                if isinstance(parsed, AuditEntry):
                    self._recent.append(parsed)
        self._offset += complete
        return tuple(self._recent)
