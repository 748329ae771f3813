"""A node's CoT port over TLS with PyTAK as the TAK sources and clients.

Real certificates of the party's CA (`init_certs`): the operator's and the relay's client
certificates stand for two registered TAK sources, the node's for a client that only
receives. PyTAK sends CoT XML and TAK protocol (``TAK_PROTO=1``, via takproto) and reads
the picture back; an in-memory sink stands for the node's intake.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import socket
import ssl
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import takproto
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.cot_events import missile_event, other_event
from tests.watched import WatchedCounters
from warnlink.errors import IngestError
from warnlink.interop.cot import CotEvent
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import ManualClock
from warnlink.security.certs import init_certs, party_certs, server_ssl_context
from warnlink.sources.base import IngestAnswer, Refusal
from warnlink.sources.cot_stream import CotStreamLimits, CotStreamServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pytak warns that optional aiohttp is missing
    import pytak

PATIENCE_S = 10.0  # a guard against a hang: everything here happens at once
PARTY = "JPN"
SOURCES = {"operator": "tak-a", "relay": "tak-b"}  # the node's certificate: receive only


class MemorySink:
    """The node's intake, in memory: takes every batch, or refuses what `refuse` says."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[SourceRecord]]] = []
        self.refuse: Callable[[Sequence[SourceRecord]], tuple[Refusal, ...]] = lambda _: ()
        self._changed = asyncio.Condition()

    @property
    def records(self) -> list[SourceRecord]:
        return [r for _, batch in self.batches for r in batch]

    async def take(self, source: str, records: Sequence[SourceRecord]) -> IngestAnswer:
        refused = self.refuse(records)
        if refused:
            return IngestAnswer(refused=refused)
        async with self._changed:
            self.batches.append((source, list(records)))
            self._changed.notify_all()
        return IngestAnswer(accepted=len(records))

    async def wait_for(self, count: int) -> list[SourceRecord]:
        """The records once at least `count` have arrived."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.records) >= count), PATIENCE_S
            )
        return self.records


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    init_certs(folder, [PARTY, "ROK"])
    return folder


def _der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)


@pytest.fixture
def identify(certs: Path) -> Callable[[bytes], str | None]:
    files = party_certs(certs, PARTY)
    known = {_der(files.cert(role)): name for role, name in SOURCES.items()}
    return known.get


Serve = Callable[..., Any]


@pytest.fixture
async def serve(
    certs: Path, identify: Callable[[bytes], str | None]
) -> AsyncIterator[Callable[..., Any]]:
    servers: list[CotStreamServer] = []

    async def start(**options: Any) -> tuple[CotStreamServer, MemorySink, WatchedCounters]:
        sink = MemorySink()
        server = CotStreamServer(
            PARTY,
            sink,
            identify=options.pop("identify", identify),
            default_mode=lambda _source: DataMode.REAL,
            ssl_context=server_ssl_context(certs, PARTY),
            counters=WatchedCounters(),
            **options,
        )
        await server.start("127.0.0.1", 0)
        servers.append(server)
        assert isinstance(server.counters, WatchedCounters)
        return server, sink, server.counters

    yield start
    for server in servers:
        await server.close()


def _config(
    certs: Path, port: int, role: str = "operator", *, party: str = PARTY, tak: bool = False
) -> configparser.SectionProxy:
    files = party_certs(certs, party)
    config = configparser.ConfigParser()
    config["pytak"] = {
        "COT_URL": f"tls://127.0.0.1:{port}",
        "PYTAK_TLS_CLIENT_CERT": str(files.cert(role)),
        "PYTAK_TLS_CLIENT_KEY": str(files.key(role)),
        "PYTAK_TLS_CLIENT_CAFILE": str(party_certs(certs, PARTY).ca),
        "TAK_PROTO": "1" if tak else "0",
    }
    return config["pytak"]


class Client:
    """A PyTAK client: its TX and RX workers on one TLS connection."""

    def __init__(self, config: configparser.SectionProxy, reader: Any, writer: Any) -> None:
        self.writer = writer
        self.tx = pytak.TXWorker(asyncio.Queue(), config, writer)
        self.rx = pytak.RXWorker(asyncio.Queue(), config, reader)

    @classmethod
    async def connect(cls, config: configparser.SectionProxy) -> Client:
        reader, writer = await asyncio.wait_for(pytak.protocol_factory(config), PATIENCE_S)
        return cls(config, reader, writer)

    async def send(self, *events: bytes) -> None:
        for event in events:
            await self.tx.send_data(event)

    async def receive(self) -> Any:
        return await asyncio.wait_for(self.rx.readcot(), PATIENCE_S)

    async def closed(self) -> bool:
        """Whether the server closes the connection (within patience; what it sent is read)."""
        return await _closed(self.rx.reader)

    def close(self) -> None:
        self.writer.close()


async def _closed(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await asyncio.wait_for(reader.read(), PATIENCE_S)
    return True


def _context(certs: Path, role: str, party: str = PARTY) -> ssl.SSLContext:
    """A TLS client context: `party`'s `role` certificate, trusting the node's CA."""
    files = party_certs(certs, party)
    context = ssl.create_default_context(cafile=str(party_certs(certs, PARTY).ca))
    context.load_cert_chain(files.cert(role), files.key(role))
    return context


def _picture(*uids: str, version: str = "1") -> list[CotEvent]:
    return [
        CotEvent(uid, missile_event(uid, start=f"2026-11-24T00:0{version}:00Z")) for uid in uids
    ]


@pytest.mark.parametrize("tak", [False, True], ids=["xml", "takproto"])
async def test_a_tak_source_sends_missiles_in_and_receives_the_picture(
    serve: Serve, certs: Path, tak: bool
) -> None:
    server, sink, counters = await serve()
    client = await Client.connect(_config(certs, server.port, tak=tak))
    await client.send(missile_event("m1"), other_event(), missile_event("m2"))
    records = await sink.wait_for(2)
    assert [r.track_id for r in records] == ["m1", "m2"]
    assert {r.source for r in records} == {"tak-a"}
    assert {r.party for r in records} == {PARTY}
    assert counters.get("ingest_rejected.not_a_missile") == 1
    server.publish(_picture("warnlink.JPN.E1.track"))
    received = await client.receive()
    if tak:  # PyTAK in TAK protocol mode turns what it reads into a TakMessage
        assert received.cotEvent.uid == "warnlink.JPN.E1.track"
    else:
        assert received.startswith(b"<?xml ")
        assert b'uid="warnlink.JPN.E1.track"' in received
    client.close()


async def test_a_client_that_is_no_source_only_receives_the_latest_of_every_uid_at_once(
    serve: Serve, certs: Path
) -> None:
    server, sink, _ = await serve()
    server.publish(_picture("a", "b", version="1"))
    server.publish(_picture("a", version="2"))
    watcher = await Client.connect(_config(certs, server.port, "node"))
    await watcher.send(missile_event("ignored"))
    first, second = await watcher.receive(), await watcher.receive()
    assert b'uid="a"' in first
    assert b"00:02:00Z" in first
    assert b'uid="b"' in second
    source = await Client.connect(_config(certs, server.port))
    await source.send(missile_event("taken"))
    assert [r.track_id for r in await sink.wait_for(1)] == ["taken"]
    for client in (watcher, source):
        client.close()


async def test_a_malformed_event_is_refused_alone_and_the_stream_goes_on(
    serve: Serve, certs: Path
) -> None:
    server, sink, counters = await serve()
    client = await Client.connect(_config(certs, server.port))
    bad = missile_event("bad").replace(b'callsign="bad"', b'callsign="A&B"')
    untimely = missile_event("late", start="yesterday")
    await client.send(missile_event("m1"), bad, untimely, missile_event("m2"))
    assert [r.track_id for r in await sink.wait_for(2)] == ["m1", "m2"]
    assert counters.get("ingest_rejected.not_xml") == 1
    assert counters.get("ingest_rejected.epoch") == 1
    client.close()


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not_xml"),
        (b'<event uid="' + b"x" * 200_000 + b'"/>', "too_large"),
        (b"\xbf\xff\xff\x7f", "too_large"),
    ],
    ids=["not cot", "huge xml", "huge tak"],
)
async def test_a_stream_that_cannot_go_on_is_closed_and_the_server_goes_on(
    serve: Serve, certs: Path, garbage: bytes, reason: str
) -> None:
    server, sink, counters = await serve()
    bad = await Client.connect(_config(certs, server.port))
    good = await Client.connect(_config(certs, server.port, "relay"))
    await bad.send(missile_event("before"), garbage)
    assert await bad.closed()
    assert counters.get(f"ingest_rejected.{reason}") == 1
    await good.send(missile_event("after"))
    records = await sink.wait_for(2)
    assert {(r.source, r.track_id) for r in records} == {("tak-a", "before"), ("tak-b", "after")}
    good.close()


async def test_a_flood_from_one_source_is_capped_and_another_keeps_flowing(
    serve: Serve, certs: Path
) -> None:
    clock = ManualClock(1_000_000_000)
    limits = CotStreamLimits(events_per_s=10.0, burst_events=20.0)
    server, sink, counters = await serve(limits=limits, clock=clock)
    flood = await Client.connect(_config(certs, server.port))
    other = await Client.connect(_config(certs, server.port, "relay"))
    await flood.send(*(missile_event(f"f{i}") for i in range(50)))
    await other.send(missile_event("o1"))
    await counters.wait_for("ingest_rejected.flood", 30)  # the burst taken, then no refill
    records = await sink.wait_for(21)
    assert [r.track_id for r in records if r.source == "tak-a"] == [f"f{i}" for i in range(20)]
    assert ("tak-b", "o1") in {(r.source, r.track_id) for r in records}
    clock.advance_s(0.1)  # one more event's worth
    await flood.send(missile_event("last"))
    assert (await sink.wait_for(22))[-1].track_id == "last"
    assert counters.get("ingest_rejected.flood") == 30
    for client in (flood, other):
        client.close()


class SteppingClock(ManualClock):
    """A fake clock that moves a second on every reading: the server's, on every read."""

    def monotonic_ns(self) -> int:
        self.advance_s(1.0)
        return super().monotonic_ns()


async def test_an_event_that_drips_in_too_slowly_closes_its_stream(
    serve: Serve, certs: Path
) -> None:
    limits = CotStreamLimits(whole_event_s=10.0)
    server, sink, counters = await serve(clock=SteppingClock(), limits=limits)
    client = await Client.connect(_config(certs, server.port))
    await client.send(missile_event("whole"))
    assert [r.track_id for r in await sink.wait_for(1)] == ["whole"]
    await client.send(missile_event()[:40])
    assert await client.closed()
    assert counters.get("ingest_rejected.slow") == 1


async def test_a_client_that_stops_reading_holds_up_no_other(serve: Serve, certs: Path) -> None:
    server, _, counters = await serve(limits=CotStreamLimits(stall_s=1.0))
    stuck_socket = socket.create_connection(("127.0.0.1", server.port))
    stuck_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck_socket.setblocking(False)
    _, stuck = await asyncio.open_connection(
        sock=stuck_socket, ssl=_context(certs, "node"), server_hostname="127.0.0.1"
    )
    reader = await Client.connect(_config(certs, server.port))
    await reader.send(missile_event("hello"))
    assert len(server.fanout.clients) == 2
    big = missile_event("x", marks={"note": "n" * 8_000})
    for round_ in range(4):
        server.publish(CotEvent(f"uid-{round_}-{i}", big) for i in range(200))
        for _ in range(200):
            await reader.receive()
    tasks = [c.task for c in server.fanout.clients]
    done, _ = await asyncio.wait(tasks, timeout=PATIENCE_S, return_when=asyncio.FIRST_COMPLETED)
    assert done, "the client that reads nothing was not disconnected"
    assert counters.get("cot_out.stalled") == 1
    assert len(server.fanout.clients) == 1
    server.publish(_picture("after"))
    assert b'uid="after"' in await reader.receive()
    stuck.close()
    reader.close()


async def test_clients_without_the_partys_certificate_are_refused(
    serve: Serve, certs: Path
) -> None:
    server, sink, _ = await serve()
    server.publish(_picture("secret"))
    no_certificate = ssl.create_default_context(cafile=str(party_certs(certs, PARTY).ca))
    for context in (_context(certs, "operator", party="ROK"), no_certificate):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=context)
            writer.write(missile_event())
            received = await asyncio.wait_for(reader.read(), PATIENCE_S)
        except (ssl.SSLError, ConnectionError):
            received = b""
        assert received == b""
    assert sink.records == []


async def test_a_revoked_source_is_hung_up_on(serve: Serve, certs: Path) -> None:
    def identify(der: bytes) -> str | None:
        if der == _der(party_certs(certs, PARTY).cert("relay")):
            raise IngestError("tak-b was revoked", reason="revoked")
        return "tak-a"

    server, sink, counters = await serve(identify=identify)
    revoked = await Client.connect(_config(certs, server.port, "relay"))
    assert await revoked.closed()
    assert counters.get("ingest_rejected.revoked") == 1
    client = await Client.connect(_config(certs, server.port))
    sink.refuse = lambda records: (Refusal(None, "", "revoked", "tak-a was revoked"),)
    await client.send(missile_event())
    assert await client.closed()


async def test_what_the_sink_refuses_is_dropped_and_the_rest_of_the_batch_taken(
    serve: Serve, certs: Path
) -> None:
    server, sink, _ = await serve()
    sink.refuse = lambda records: tuple(
        Refusal(i, "epoch", "stale", "too old")
        for i, r in enumerate(records)
        if r.track_id.startswith("old")
    )
    client = await Client.connect(_config(certs, server.port))
    await client.send(missile_event("old1"), missile_event("new1"), missile_event("new2"))
    assert [r.track_id for r in await sink.wait_for(2)] == ["new1", "new2"]
    client.close()


def test_takproto_frames_what_pytak_sends() -> None:
    """The TAK protocol test above is only a test if PyTAK really sends protobuf."""
    frame = bytes(takproto.xml2proto(missile_event(), takproto.TAKProtoVer.STREAM))
    assert frame[0] == 0xBF
