"""A TCP proxy that can cut a link: what the fault suite puts between two servers.

It runs its own event loop in a thread, so a caller that blocks (starting servers,
waiting for leaf links) does not stop it. `cut` closes every connection through it and
refuses new ones (accepted, then closed at once), as a broken link looks to both
ends; `heal` lets connections through again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Final

CHUNK: Final = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`.

    Args:
        target_port: where connections go.
        port: where it listens (0: any free port; read `port` after `start`).
    """

    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self._listen = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listen.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.cut_now = False
        self.connections = 0

    def start(self) -> TcpProxy:
        """Start listening and forwarding."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(5)
        return self

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._client, sock=self._listen)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            transport = writer.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        """Break every connection through the proxy and refuse new ones."""
        self.cut_now = True
        self._loop.call_soon_threadsafe(self._close_all)

    def heal(self) -> None:
        """Let connections through again."""
        self.cut_now = False

    def stop(self) -> None:
        """Close everything and end the thread."""
        if self._server is not None:
            server = self._server

            async def close() -> None:
                server.close()
                self._close_all()

            with contextlib.suppress(RuntimeError, TimeoutError):
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
