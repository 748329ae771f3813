"""The ingest benchmark's reference: a party's two ingest transports with nothing behind.

A process of its own, as a node is, started by the benchmark once the party's node
process has stopped (``python -m warnlink.benchmarks.ingest_bare DATA PARTY``):

- HTTPS: uvicorn set up as every node's server is (`web.serve.server_config`: the
  party's server certificate, a client certificate of its CA required, each request
  carrying it; the listening socket of `web.serve.listen_socket`), with one route,
  ``POST /udl/missiletrack/createBulk``, that reads the body and answers 200 with an
  answer of the node's shape;
- NATS: the party's ingest requests (``ingest.missiletrack``, from its sources'
  certificates) answered at once, on the node's connection and user
  (`sources.nats_ingest.serve_ingest` with a handler that only returns the answer).

It prints one line of JSON, ``{"http": URL}``, once both listen, and runs until SIGTERM
or SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Final

import nats
from fastapi import FastAPI, Request
from fastapi.responses import Response

from warnlink.benchmarks.ingest_load import INGEST_PATH
from warnlink.deploy import read_access
from warnlink.security.certs import CERTS_DIR, client_ssl_context, server_ssl_context
from warnlink.sources.nats_ingest import serve_ingest
from warnlink.web.serve import EmbeddedServer, listen_socket, server_config

#: What the bare servers answer: the node's answer to an accepted batch of 100.
ANSWER: Final = json.dumps({"accepted": 100, "duplicates": 0, "refused": []}).encode()
HOST: Final = "127.0.0.1"


def bare_app() -> FastAPI:
    """One route: read the body, answer 200."""
    app = FastAPI()

    @app.post(INGEST_PATH)
    async def create_bulk(request: Request) -> Response:
        await request.body()
        return Response(ANSWER, 200, media_type="application/json")

    return app


async def serve_bare(data: Path, party: str, stop: asyncio.Event) -> None:
    """Serve both transports of `party` (data folder `data`) until `stop` is set."""
    server = EmbeddedServer(server_config(bare_app(), server_ssl_context(data / CERTS_DIR, party)))
    sock = listen_socket(HOST, 0)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    access = read_access(data, party)
    tls = None if access.certs is None else client_ssl_context(access.certs, party, "node")
    client = await nats.connect(
        access.url, user=access.user, password=access.password, tls=tls, name=f"bare-{party}"
    )

    async def answer(source: str, body: bytes) -> bytes:
        return ANSWER

    ready = asyncio.Event()
    responding = asyncio.create_task(serve_ingest(client, answer, stop, ready=ready))
    try:
        await ready.wait()
        while not server.started:
            await asyncio.sleep(0.01)
        print(json.dumps({"http": f"https://{HOST}:{sock.getsockname()[1]}"}), flush=True)
        await stop.wait()
    finally:
        server.should_exit = True
        await asyncio.gather(serving, responding, return_exceptions=True)
        await client.close()
        sock.close()


def main(argv: list[str]) -> int:
    """``python -m warnlink.benchmarks.ingest_bare DATA PARTY``."""
    data, party = Path(argv[0]), argv[1]

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve_bare(data, party, stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
