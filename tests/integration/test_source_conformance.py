"""Every real source port passes the source conformance suite (tests/conformance/source_suite.py).

Each driver sends the suite's records through one port, with a real client, as a
national system would, in front of the suite's real `Intake` (its memory journal and a
node that records what it is handed). The source is registered in a data folder
(`sources.admin.add_source`) and named by its certificate, as a node names it:

- UDL over HTTPS: the node's ingest route (`web.ingest.ingest_router`) served as a node
  serves it (`web.serve.server_config`: mutual TLS, each request carrying its client's
  certificate, `web.peer.source_of` naming the source); udl-sdk's async client posts,
  and its raw response gives the answer;
- UDL over NATS: `sources.nats_ingest.serve_ingest` answering with `sources.udl.ingest_udl`
  on a real nats-server, as a node does; nats-py requests on the subject the source's
  account maps its ``ingest.missiletrack`` requests to (that mapping, from the
  source's certificate, is tests/integration/test_source_nats.py's);
- CoT over TLS: `sources.cot_stream.CotStreamServer` with PyTAK sending. CoT answers
  nothing, so the driver reads the intake's answers, and the port's counters for what
  it refuses before the intake.
"""

from __future__ import annotations

import asyncio
import configparser
import json
import socket
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Final

import httpx
import msgspec
import nats
import pytest
from fastapi import FastAPI
from unifieddatalibrary import APIStatusError, AsyncUnifieddatalibrary

from tests.conformance.source_suite import (
    PARTY,
    RecordingNode,
    SourceConformance,
    intake_for,
    track,
)
from tests.cot_events import missile_event
from tests.udl_records import sdk_params
from tests.watched import WatchedCounters
from warnlink.counters import Counters
from warnlink.model.record import DataMode, SourceRecord
from warnlink.security.certs import CERTS_DIR, init_certs, party_certs, server_ssl_context
from warnlink.sharing.nats_topology import ingest_subject
from warnlink.sources.admin import Change, add_source
from warnlink.sources.base import IngestAnswer, Refusal
from warnlink.sources.cot_encode import record_cot
from warnlink.sources.cot_stream import CotStreamServer
from warnlink.sources.intake import Intake
from warnlink.sources.nats_ingest import serve_ingest
from warnlink.sources.registry import SourceRegistry
from warnlink.sources.udl import ingest_udl
from warnlink.sources.udl_encode import udl_body, udl_track
from warnlink.transport.nats_server import NatsServer
from warnlink.web.ingest import ingest_router
from warnlink.web.peer import source_of
from warnlink.web.serve import EmbeddedServer, server_config

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pytak warns that optional aiohttp is missing
    import pytak

PATIENCE_S: Final = 10.0  # a guard against a hang: everything here happens at once
SOURCE: Final = "c2-conformance"


def answer_of(data: Any) -> IngestAnswer:
    """A port's JSON answer (`IngestAnswer.as_json`) as an `IngestAnswer`."""
    return IngestAnswer(
        accepted=data["accepted"],
        duplicates=data["duplicates"],
        refused=tuple(Refusal(**r) for r in data["refused"]),
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the party's certificates and one registered source."""
    data = tmp_path_factory.mktemp("conformance")
    init_certs(data / CERTS_DIR, [PARTY])
    return data


@pytest.fixture(scope="module")
def source(folder: Path) -> Change:
    return add_source(folder, PARTY, SOURCE, now_ns=time.time_ns())


class UdlHttpsDriver:
    """udl-sdk posting createBulk to the node's ingest route over mutual TLS."""

    name = SOURCE
    carries_covariance = True
    position_m = 1e-6  # km in decimal and back
    velocity_mps = 1e-9
    time_ns = 0

    def __init__(self, udl: AsyncUnifieddatalibrary, intake: Intake, node: RecordingNode) -> None:
        self.udl = udl
        self.intake = intake
        self.node = node

    async def send(self, records: Sequence[SourceRecord]) -> IngestAnswer:
        return await self._post([sdk_params(udl_track(r)) for r in records])

    async def send_malformed(self) -> IngestAnswer:
        (record,) = [sdk_params(udl_track(r)) for r in _one_record()]
        return await self._post([{**record, "data_mode": "LIVE"}])

    async def _post(self, body: list[dict[str, Any]]) -> IngestAnswer:
        try:
            response = await self.udl.missile_tracks.with_raw_response.create_bulk(body=body)  # type: ignore[arg-type]
        except APIStatusError as refused:  # udl-sdk raises on a 4xx: its body is the answer
            return answer_of(refused.body)
        return answer_of(await response.json())


class UdlNatsDriver:
    """nats-py requesting with createBulk bodies; the node answers with `ingest_udl`."""

    name = SOURCE
    carries_covariance = True
    position_m = 1e-6
    velocity_mps = 1e-9
    time_ns = 0

    def __init__(self, client: nats.NATS, intake: Intake, node: RecordingNode) -> None:
        self.client = client
        self.intake = intake
        self.node = node

    async def send(self, records: Sequence[SourceRecord]) -> IngestAnswer:
        return await self._request(udl_body(records))

    async def send_malformed(self) -> IngestAnswer:
        return await self._request(b'[{"trackId": ')

    async def _request(self, body: bytes) -> IngestAnswer:
        reply = await self.client.request(ingest_subject(self.name), body, timeout=PATIENCE_S)
        return answer_of(json.loads(reply.data))


class AnswerTap:
    """The intake with its answers kept, for a port that tells its sender nothing (CoT)."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.answers: list[tuple[int, IngestAnswer]] = []
        self._changed = asyncio.Condition()

    async def take(self, source: str, records: Sequence[SourceRecord]) -> IngestAnswer:
        answer = await self.intake.take(source, records)
        async with self._changed:
            self.answers.append((len(records), answer))
            self._changed.notify_all()
        return answer

    async def answered(self, since: int, records: int) -> IngestAnswer:
        """The intake's answers from the `since`-th on, once they cover `records` records."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: sum(n for n, _ in self.answers[since:]) >= records),
                PATIENCE_S,
            )
        answers = [a for _, a in self.answers[since:]]
        return IngestAnswer(
            accepted=sum(a.accepted for a in answers),
            duplicates=sum(a.duplicates for a in answers),
            refused=tuple(r for a in answers for r in a.refused),
        )


class CotTlsDriver:
    """PyTAK streaming CoT XML events, one per record, to the node's CoT port."""

    name = SOURCE
    carries_covariance = False  # ce and le only: docs/integration-cot.md
    position_m = 1e-2  # degrees to 9 decimals, height to 1 mm
    velocity_mps = 1e-3  # course, speed and slope in decimal
    time_ns = 0

    def __init__(
        self, sender: Any, tap: AnswerTap, counters: WatchedCounters, node: RecordingNode
    ) -> None:
        self.sender = sender
        self.tap = tap
        self.counters = counters
        self.intake = tap.intake
        self.node = node

    async def send(self, records: Sequence[SourceRecord]) -> IngestAnswer:
        since = len(self.tap.answers)
        for record in records:
            await self.sender.send_data(record_cot(record))
        return await self.tap.answered(since, len(records))

    async def send_malformed(self) -> IngestAnswer:
        """Not well-formed XML (a bare ``&``): the port refuses it, counted, and goes on."""
        key = "ingest_rejected.not_xml"
        before = self.counters.get(key)
        await self.sender.send_data(missile_event(SOURCE).replace(b'callsign="', b'callsign="&'))
        await self.counters.wait_for(key, before + 1)
        return IngestAnswer(refused=(Refusal(None, "", "not_xml", "counted by the CoT port"),))


def _one_record() -> list[SourceRecord]:
    return [msgspec.structs.replace(r, source=SOURCE) for r in track("X", n=1)]


class TestUdlOverHttps(SourceConformance):
    @pytest.fixture
    async def driver(self, folder: Path, source: Change) -> AsyncIterator[UdlHttpsDriver]:
        intake, node = intake_for()
        registry = SourceRegistry(folder, PARTY)
        app = FastAPI()
        app.include_router(
            ingest_router(intake, PARTY, lambda request: source_of(request, registry), Counters())
        )
        server = EmbeddedServer(server_config(app, server_ssl_context(folder / CERTS_DIR, PARTY)))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        tls = _client_tls(folder, source)
        udl = AsyncUnifieddatalibrary(
            base_url=f"https://127.0.0.1:{sock.getsockname()[1]}",
            access_token="not-used-by-warnlink",
            http_client=httpx.AsyncClient(verify=tls, timeout=PATIENCE_S),
            max_retries=0,
        )
        try:
            async with udl:
                yield UdlHttpsDriver(udl, intake, node)
        finally:
            server.should_exit = True
            await serving
            sock.close()


@pytest.mark.nats
class TestUdlOverNats(SourceConformance):
    @pytest.fixture
    async def driver(
        self, folder: Path, source: Change, nats_server: NatsServer
    ) -> AsyncIterator[UdlNatsDriver]:
        intake, node = intake_for()

        async def handle(name: str, body: bytes) -> bytes:
            _, answer = await ingest_udl(intake, name, PARTY, body)
            return msgspec.json.encode(answer)

        node_client = await nats.connect(nats_server.url)
        source_client = await nats.connect(nats_server.url)
        stop, ready = asyncio.Event(), asyncio.Event()
        answering = asyncio.create_task(
            serve_ingest(
                node_client, handle, stop, registry=SourceRegistry(folder, PARTY), ready=ready
            )
        )
        try:
            await asyncio.wait_for(ready.wait(), PATIENCE_S)
            await _answered(source_client)
            yield UdlNatsDriver(source_client, intake, node)
        finally:
            stop.set()
            await answering
            await source_client.close()
            await node_client.close()


async def _answered(client: nats.NATS) -> None:
    """Once the node answers: an empty batch (refused, ``shape``) until it does.

    nats-server now and then finds no responder for a request sent just after the
    responder's subscription was flushed, when another connection had just dropped the
    same subject (about 1 in 200 in a loop): each test here subscribes anew.
    """
    async with asyncio.timeout(PATIENCE_S):
        while True:
            try:
                await client.request(ingest_subject(SOURCE), b"[]", timeout=PATIENCE_S)
            except nats.errors.NoRespondersError:
                continue
            return


class TestCotOverTls(SourceConformance):
    @pytest.fixture
    async def driver(self, folder: Path, source: Change) -> AsyncIterator[CotTlsDriver]:
        intake, node = intake_for()
        tap, counters = AnswerTap(intake), WatchedCounters(PATIENCE_S)
        registry = SourceRegistry(folder, PARTY)
        server = CotStreamServer(
            PARTY,
            tap,
            identify=lambda der: registry.authenticate(der).name,
            default_mode=lambda _: DataMode.REAL,
            ssl_context=server_ssl_context(folder / CERTS_DIR, PARTY),
            counters=counters,
        )
        port = await server.start("127.0.0.1", 0)
        config = configparser.ConfigParser()
        config["tak"] = {
            "COT_URL": f"tls://127.0.0.1:{port}",
            "PYTAK_TLS_CLIENT_CERT": str(source.cert),
            "PYTAK_TLS_CLIENT_KEY": str(source.key),
            "PYTAK_TLS_CLIENT_CAFILE": str(party_certs(folder / CERTS_DIR, PARTY).ca),
            "TAK_PROTO": "0",
        }
        _, writer = await asyncio.wait_for(pytak.protocol_factory(config["tak"]), PATIENCE_S)
        try:
            yield CotTlsDriver(
                pytak.TXWorker(asyncio.Queue(), config["tak"], writer), tap, counters, node
            )
        finally:
            writer.close()
            await server.close()


def _client_tls(folder: Path, source: Change) -> ssl.SSLContext:
    """The source's client context: its certificate, trusting the party's CA."""
    context = ssl.create_default_context(cafile=party_certs(folder / CERTS_DIR, PARTY).ca)
    assert source.cert is not None
    context.load_cert_chain(source.cert, source.key)
    return context
