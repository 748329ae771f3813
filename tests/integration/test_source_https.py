"""Who may write over HTTPS: a real TLS server (the displays' configuration), httpx2 clients.

The server is ROK's, with `server_ssl_context` (a client certificate of ROK's CA
required) and `web.serve.server_config` (every display server's: each request carries
its client's certificate). Its one route answers with `source_of`. A client without
a certificate, or with another party's, is refused in the TLS handshake, before any
route; an operator's certificate reaches the route and is not a source; a registered
source is named; once revoked, it is refused at its next request, on the same server
and the same connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from warnlink.errors import IngestError
from warnlink.security.certs import CERTS_DIR, init_certs, party_certs, server_ssl_context
from warnlink.sources.admin import add_source, revoke_source
from warnlink.sources.registry import SourceRegistry
from warnlink.web.peer import source_of
from warnlink.web.serve import EmbeddedServer, server_config

PATIENCE_S = 10.0  # a guard against a hang, never expected to elapse


@dataclass(frozen=True)
class Running:
    url: str
    data: Path


def _app(registry: SourceRegistry) -> FastAPI:
    app = FastAPI()

    @app.post("/whoami")
    async def whoami(request: Request) -> JSONResponse:
        try:
            return JSONResponse({"source": source_of(request, registry)})
        except IngestError as exc:
            return JSONResponse({"reason": exc.reason, "message": str(exc)}, status_code=403)

    return app


@pytest.fixture
async def rok(tmp_path: Path) -> AsyncIterator[Running]:
    init_certs(tmp_path / CERTS_DIR, ["ROK", "JPN"], links=[("ROK", "JPN")])
    registry = SourceRegistry(tmp_path, "ROK")
    server = EmbeddedServer(
        server_config(_app(registry), server_ssl_context(tmp_path / CERTS_DIR, "ROK"))
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(PATIENCE_S):
        while not server.started:
            await asyncio.sleep(0.01)
    yield Running(f"https://127.0.0.1:{sock.getsockname()[1]}", tmp_path)
    server.should_exit = True
    await task
    sock.close()


def _client(data: Path, cert: Path | None = None, key: Path | None = None) -> httpx2.AsyncClient:
    context = ssl.create_default_context(cafile=party_certs(data / CERTS_DIR, "ROK").ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return httpx2.AsyncClient(verify=context, timeout=PATIENCE_S)


async def _whoami(client: httpx2.AsyncClient, url: str) -> tuple[int, dict[str, str]]:
    response = await client.post(f"{url}/whoami", json=[])
    return response.status_code, response.json()


async def test_a_registered_source_is_named_until_it_is_revoked(rok: Running) -> None:
    change = add_source(rok.data, "ROK", "c2.radar-1", now_ns=time.time_ns())
    async with _client(rok.data, change.cert, change.key) as client:
        assert await _whoami(client, rok.url) == (200, {"source": "c2.radar-1"})
        revoke_source(rok.data, "ROK", "c2.radar-1", now_ns=time.time_ns())
        status, body = await _whoami(client, rok.url)  # the same connection, kept alive
    assert (status, body["reason"]) == (403, "revoked")
    async with _client(rok.data, change.cert, change.key) as client:  # a new connection
        status, body = await _whoami(client, rok.url)
    assert (status, body["reason"]) == (403, "revoked")


async def test_an_operator_is_not_a_source(rok: Running) -> None:
    rok_certs = party_certs(rok.data / CERTS_DIR, "ROK")
    async with _client(rok.data, rok_certs.cert("operator"), rok_certs.key("operator")) as client:
        status, body = await _whoami(client, rok.url)
    assert (status, body["reason"]) == (403, "unregistered")
    assert "CN=ROK operator" in body["message"]


async def test_a_source_added_while_the_server_runs_is_named_at_once(rok: Running) -> None:
    async with _client(rok.data, *_operator(rok.data)) as client:
        assert (await _whoami(client, rok.url))[0] == 403
    change = add_source(rok.data, "ROK", "late", now_ns=time.time_ns())
    async with _client(rok.data, change.cert, change.key) as client:
        assert await _whoami(client, rok.url) == (200, {"source": "late"})


@pytest.mark.parametrize("who", ["no certificate", "JPN's source"])
async def test_the_handshake_refuses_who_has_no_certificate_of_this_party(
    rok: Running, who: str
) -> None:
    cert = key = None
    if who == "JPN's source":
        change = add_source(rok.data, "JPN", "c2.radar-1", now_ns=time.time_ns())
        cert, key = change.cert, change.key
    async with _client(rok.data, cert, key) as client:
        # TLS 1.3: the client learns of the refusal when it reads, as an alert or a close.
        with pytest.raises((httpx2.ConnectError, httpx2.ReadError, httpx2.RemoteProtocolError)):
            await _whoami(client, rok.url)


def _operator(data: Path) -> tuple[Path, Path]:
    rok = party_certs(data / CERTS_DIR, "ROK")
    return rok.cert("operator"), rok.key("operator")
