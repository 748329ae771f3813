"""Who is at the other end of an HTTPS request: its client certificate, and the source it names.

uvicorn does not put the client's certificate in the ASGI scope. `PeerCertProtocol`
(uvicorn's h11 HTTP protocol, `DisplayServers` serves with it) reads the certificate
the TLS handshake verified, once per connection, and gives every request on that
connection the ASGI TLS extension, ``scope["extensions"]["tls"]``, whose
``client_cert_chain`` holds it (PEM; the client's own certificate only, which is all
Python's `ssl` hands over). WebSocket connections do not get it (nothing asks).

`source_of` turns a request into the national source that sent it, by the party's
registry (`sources.registry.SourceRegistry.authenticate`). A display's server asks
every client for a certificate of its party's CA (`security.certs.server_ssl_context`),
so a client with none, or with another party's, is refused in the handshake and
never reaches a route; `source_of` refuses it too, for servers that do not ask.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Final

from starlette.requests import Request
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.h11_impl import H11Protocol

from warnlink.sources.registry import SourceRegistry

#: The ASGI TLS extension's key in ``scope["extensions"]``.
TLS_EXTENSION: Final = "tls"
_TLS_VERSIONS: Final = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class PeerCertProtocol(H11Protocol):
    """uvicorn's h11 protocol, adding the ASGI TLS extension to every request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.app = _with_extension(self.app, tls_extension(ssl_object))


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> dict[object, object]:
    """The ASGI TLS extension of one connection (the spec's keys; unknowns are None)."""
    der = ssl_object.getpeercert(binary_form=True)
    version = ssl_object.version()
    return {
        "server_cert": None,
        "client_cert_chain": [] if der is None else [ssl.DER_cert_to_PEM_cert(der)],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": None if version is None else _TLS_VERSIONS.get(version),
        "cipher_suite": None,
    }


def peer_certificate(scope: Any) -> bytes | None:
    """The client's certificate (DER) from an ASGI scope's TLS extension, if it has one."""
    extension = (scope.get("extensions") or {}).get(TLS_EXTENSION) or {}
    chain = extension.get("client_cert_chain") or []
    return ssl.PEM_cert_to_DER_cert(chain[0]) if chain else None


def source_of(request: Request, registry: SourceRegistry) -> str:
    """The name of the live source whose certificate `request` came with.

    Raises:
        IngestError: ``unauthenticated``, ``unregistered`` or ``revoked``
            (`SourceRegistry.authenticate`).
    """
    return registry.authenticate(peer_certificate(request.scope)).name


def _with_extension(app: ASGI3Application, extension: dict[object, object]) -> ASGI3Application:
    async def with_tls(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "lifespan":
            extensions = dict(scope.get("extensions") or {})
            extensions[TLS_EXTENSION] = extension
            scope["extensions"] = extensions
        await app(scope, receive, send)

    return with_tls
