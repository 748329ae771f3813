"""How `warnlink feed` sends one party's records: as that party's national system would.

Each sender speaks one of the node's input ports with the source's own certificate:

- `HttpSender`: UDL MissileTrack batches POSTed to ``<http>/udl/missiletrack/createBulk``
  (`sources.udl_encode.udl_body`), over mutual TLS on one kept-alive connection;
- `NatsSender`: the same bodies as requests on ``ingest.missiletrack`` on the party's
  NATS server (the certificate is the NATS user), the reply the same JSON answer;
- `CotSender`: one CoT XML event per record (`sources.cot_encode.record_cot`) on the
  party's CoT TLS stream, whose picture (sent to every client) it reads and drops.

A real C2 system does not drop a batch on a hiccup: a connection error, a timeout, an
HTTP 429 or 5xx is retried with exponential backoff (`RETRY_FIRST_S` doubling to
`RETRY_MAX_S`) until `GIVE_UP_S` after the first try, then counted as ``failed``. A
batch the node refuses (4xx, or refusals in the answer) is counted and not sent again:
sending it again would be refused again. CoT has no acknowledgement: what the stream
took is counted as ``sent``, and a broken stream is opened again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol
from urllib.parse import urlsplit

import httpx2
import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError

from warnlink.errors import ConfigError, TransportError
from warnlink.feed.options import VIAS
from warnlink.model.record import SourceRecord
from warnlink.sharing.nats_topology import INGEST_SUBJECT
from warnlink.sources.cot_encode import record_cot
from warnlink.sources.udl_encode import udl_body
from warnlink.transport.nats import quiet_tls_eof

log = logging.getLogger(__name__)

INGEST_PATH: Final = "/udl/missiletrack/createBulk"
#: Seconds to wait for one answer (HTTP, NATS) or one connection.
REQUEST_TIMEOUT_S: Final = 10.0
RETRY_FIRST_S: Final = 0.25
RETRY_MAX_S: Final = 4.0
#: Seconds after its first try that a batch still unanswered is given up.
GIVE_UP_S: Final = 30.0
#: HTTP statuses worth trying again: the node is busy (429) or failing (5xx).
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


class Retry(Exception):
    """A try that may succeed later (a connection error, a timeout, 429, 5xx)."""


@dataclass
class SendStats:
    """What one party's sender did, for the summary.

    Attributes:
        batches, records: what it sent (each batch counted once, retries not).
        accepted, duplicates: what the node said it took (HTTP, NATS).
        refused: records of batches the node refused, by reason.
        retries: tries again after a `Retry`.
        failed: records of batches given up after `GIVE_UP_S`.
    """

    batches: int = 0
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    failed: int = 0

    def answer(self, body: bytes, records: int) -> None:
        """Count a node's JSON answer (`sources.base.IngestAnswer.as_json`)."""
        try:
            said = json.loads(body)
            self.accepted += int(said.get("accepted", 0))
            self.duplicates += int(said.get("duplicates", 0))
            refusals = list(said.get("refused", ()))
        except (ValueError, TypeError, AttributeError):
            refusals = [{"reason": "unreadable answer"}]
        for refusal in refusals:
            reason = str(refusal.get("reason")) if isinstance(refusal, dict) else "?"
            self.refused[reason] = self.refused.get(reason, 0) + 1
        if refusals:
            log.warning("the node refused a batch of %d records: %s", records, refusals[:3])

    def as_json(self) -> dict[str, object]:
        return {
            "batches": self.batches,
            "records": self.records,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "refused": dict(self.refused),
            "retries": self.retries,
            "failed": self.failed,
        }


class Sender(Protocol):
    """One party's national system's link to its node."""

    stats: SendStats

    async def open(self) -> None:
        """Connect (and fail now, rather than at the first record, if the port is closed)."""
        ...

    async def send(self, records: Sequence[SourceRecord]) -> None:
        """Send one batch, trying again as the module docstring says."""
        ...

    async def close(self) -> None: ...


def source_tls(ca: str, cert: str, key: str) -> ssl.SSLContext:
    """A client context: the source's certificate, the node's server checked by its CA."""
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def with_retries(
    stats: SendStats, records: int, attempt: Callable[[], Awaitable[None]]
) -> None:
    """Run `attempt` until it does not raise `Retry`, backing off, for `GIVE_UP_S` at most."""
    deadline = time.monotonic() + GIVE_UP_S
    pause = RETRY_FIRST_S
    while True:
        try:
            await attempt()
            return
        except Retry as exc:
            if time.monotonic() + pause > deadline:
                stats.failed += records
                log.warning(
                    "gave up a batch of %d records after %.0f s: %s", records, GIVE_UP_S, exc
                )
                return
            stats.retries += 1
            log.info("trying a batch again in %.2f s: %s", pause, exc)
            await asyncio.sleep(pause)
            pause = min(2 * pause, RETRY_MAX_S)


class HttpSender:
    """UDL createBulk over HTTPS (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        tls: ssl.SSLContext,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + INGEST_PATH
        self.tls = tls
        self.stats = SendStats()
        self._client = httpx2.AsyncClient(
            verify=tls, timeout=REQUEST_TIMEOUT_S, transport=transport
        )

    async def open(self) -> None:
        """A TLS handshake with the node (its certificate checked, ours shown), and no
        request: a closed port or a refused certificate is told now."""
        where = urlsplit(self.url)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(where.hostname, where.port or 443, ssl=self.tls),
                REQUEST_TIMEOUT_S,
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot reach {self.url}: {exc!r}") from exc
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def send(self, records: Sequence[SourceRecord]) -> None:
        body = udl_body(records)
        self.stats.batches += 1
        self.stats.records += len(records)

        async def attempt() -> None:
            try:
                response = await self._client.post(
                    self.url, content=body, headers={"Content-Type": "application/json"}
                )
            except httpx2.TransportError as exc:
                raise Retry(repr(exc)) from exc
            if response.status_code in RETRY_STATUSES:
                raise Retry(f"HTTP {response.status_code}")
            self.stats.answer(response.content, len(records))

        await with_retries(self.stats, len(records), attempt)

    async def close(self) -> None:
        await self._client.aclose()


class NatsSender:
    """UDL createBulk bodies as NATS requests (see the module docstring)."""

    def __init__(self, url: str, tls: ssl.SSLContext) -> None:
        self.url = url
        self.tls = tls
        self.stats = SendStats()
        self._client: Client | None = None

    async def open(self) -> None:
        """Connect; once connected, nats-py reconnects by itself whenever it must."""
        quiet_tls_eof()
        try:
            self._client = await asyncio.wait_for(
                nats.connect(
                    self.url,
                    tls=self.tls,
                    connect_timeout=REQUEST_TIMEOUT_S,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=RETRY_FIRST_S,
                ),
                2 * REQUEST_TIMEOUT_S,
            )
        except (OSError, TimeoutError, NatsError) as exc:
            raise TransportError(f"cannot reach {self.url}: {exc!r}") from exc

    async def send(self, records: Sequence[SourceRecord]) -> None:
        assert self._client is not None, "open first"
        client = self._client
        body = udl_body(records)
        self.stats.batches += 1
        self.stats.records += len(records)

        async def attempt() -> None:
            try:
                reply = await client.request(INGEST_SUBJECT, body, timeout=REQUEST_TIMEOUT_S)
            except (NatsError, TimeoutError) as exc:
                raise Retry(repr(exc)) from exc
            self.stats.answer(reply.data, len(records))

        await with_retries(self.stats, len(records), attempt)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(NatsError):
                await self._client.drain()


class CotSender:
    """CoT XML on the party's CoT TLS stream (see the module docstring)."""

    def __init__(self, where: str, tls: ssl.SSLContext) -> None:
        self.host, _, port = where.rpartition(":")
        self.port = int(port)
        self.tls = tls
        self.stats = SendStats()
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None

    async def open(self) -> None:
        try:
            await self._connect()
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot reach {self.host}:{self.port}: {exc!r}") from exc

    async def _connect(self) -> None:
        reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.tls), REQUEST_TIMEOUT_S
        )
        self._reading = asyncio.create_task(_drop_all(reader))

    async def send(self, records: Sequence[SourceRecord]) -> None:
        data = b"".join(record_cot(r, sent_ns=time.time_ns()) for r in records)
        self.stats.batches += 1
        self.stats.records += len(records)

        async def attempt() -> None:
            try:
                if self._writer is None or self._writer.is_closing():
                    await self.close()
                    await self._connect()
                assert self._writer is not None
                self._writer.write(data)
                await asyncio.wait_for(self._writer.drain(), REQUEST_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
                self._writer = None
                raise Retry(repr(exc)) from exc

        await with_retries(self.stats, len(records), attempt)

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
            self._reading = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), REQUEST_TIMEOUT_S)
            self._writer = None


async def _drop_all(reader: asyncio.StreamReader) -> None:
    """Read the party's picture the CoT port sends every client, and drop it."""
    with contextlib.suppress(OSError):
        while await reader.read(65_536):
            pass


def sender_for(via: str, endpoint: dict[str, str], tls: ssl.SSLContext) -> Sender:
    """The sender of `via` (`VIAS`) to one party's endpoints (``http``, ``nats``, ``cot``)."""
    if via == "http":
        return HttpSender(endpoint["http"], tls)
    if via == "nats":
        return NatsSender(endpoint["nats"], tls)
    if via == "cot":
        return CotSender(endpoint["cot"], tls)
    raise ConfigError(f"unknown way in {via!r}; use one of {', '.join(VIAS)}")
