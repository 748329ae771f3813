"""Who may write over NATS: sources on their party's real server, added and revoked live.

The trilateral federation runs on three servers with certificates (`plan_topology`),
each mapping a client's certificate to its user. ROK's node answers ingest requests
(`serve_ingest`); sources are added and revoked with `admin` while the servers run,
which rewrites ROK's configuration and has the server reload. A source sends to
``ingest.missiletrack`` with nats-py and its certificate alone; the node learns its
name from the subject its account remaps the request to.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client

from warnlink.security.certs import CERTS_DIR, init_certs, party_certs
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import Topology, plan_topology
from warnlink.sources.admin import Change, add_source, revoke_source
from warnlink.sources.nats_accounts import add_sources
from warnlink.sources.nats_ingest import serve_ingest
from warnlink.sources.registry import SourceRegistry, read_registry, write_registry
from warnlink.transport.nats import NatsBus
from warnlink.transport.nats_server import NatsServer

pytestmark = pytest.mark.nats

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PATIENCE_S = 10.0  # a guard against a hang, never expected to elapse


@dataclass
class Running:
    folder: Path
    topology: Topology
    servers: dict[str, NatsServer]


@dataclass
class Node:
    """ROK's node answering ingest requests: what it was asked, and by whom."""

    bus: NatsBus
    seen: list[tuple[str, bytes]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def federation() -> Federation:
    return load_federation(SCENARIOS / "trilateral.toml")


@pytest.fixture(scope="module")
def running(federation: Federation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("sources")
    links = [link.parties for link in federation.links]
    init_certs(folder / CERTS_DIR, federation.parties, links=links)
    add_source(folder, "ROK", "before-up", now_ns=time.time_ns())  # registered before start
    topology = plan_topology(federation, folder, certs=folder / CERTS_DIR)
    add_sources(topology)
    topology.write()
    servers = topology.start()
    yield Running(folder, topology, servers)
    topology.stop()


@pytest.fixture
async def node(running: Running, federation: Federation) -> AsyncIterator[Node]:
    bus = await running.topology.access["ROK"].connect(federation)
    answering = Node(bus)
    registry = SourceRegistry(running.folder, "ROK")

    async def handle(source: str, body: bytes) -> bytes:
        answering.seen.append((source, body))
        return json.dumps({"source": source, "bytes": len(body)}).encode()

    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        serve_ingest(
            bus.client,
            handle,
            stop,
            registry=registry,
            on_refused=lambda s, e: answering.refused.append((s, e.reason)),
            ready=ready,
        )
    )
    async with asyncio.timeout(PATIENCE_S):
        await ready.wait()
    yield answering
    stop.set()
    await task
    await bus.close()


def _tls(folder: Path, server_party: str, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=party_certs(folder / CERTS_DIR, server_party).ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


@dataclass
class Source:
    client: Client
    errors: list[str]
    closed: asyncio.Event


async def _connect(
    running: Running, server_party: str, cert: Path | None, key: Path | None
) -> Source:
    errors: list[str] = []
    closed = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc).lower())

    async def on_closed() -> None:
        closed.set()

    client = await nats.connect(
        running.topology.access[server_party].url,
        tls=_tls(running.folder, server_party, cert, key),
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=PATIENCE_S,
        error_cb=on_error,
        closed_cb=on_closed,
    )
    return Source(client, errors, closed)


async def _refused_connection(
    running: Running, server_party: str, cert: Path | None, key: Path | None
) -> str:
    try:
        source = await _connect(running, server_party, cert, key)
    except Exception as exc:  # nats-py raises several kinds
        return repr(exc)
    await source.client.close()
    raise AssertionError(f"{cert} connected to {server_party}'s server")


async def _add(running: Running, party: str, name: str) -> Change:
    change = await asyncio.to_thread(add_source, running.folder, party, name, now_ns=time.time_ns())
    assert change.cert is not None
    return change


async def test_a_source_registered_before_up_is_answered_by_name(
    running: Running, node: Node
) -> None:
    (entry,) = read_registry(running.folder, "ROK")
    certs = party_certs(running.folder / CERTS_DIR, "ROK").sources
    cert = next(certs.glob(f"before-up-{entry.serial}.pem"))
    source = await _connect(running, "ROK", cert, cert.with_suffix(".key"))
    reply = await source.client.request("ingest.missiletrack", b"[]", timeout=PATIENCE_S)
    await source.client.close()
    assert json.loads(reply.data) == {"source": "before-up", "bytes": 2}
    assert node.seen == [("before-up", b"[]")]


async def test_a_source_added_while_the_server_runs_is_answered_and_kept_in_its_lane(
    running: Running, node: Node
) -> None:
    change = await _add(running, "ROK", "c2.radar-1")
    assert change.reloaded
    source = await _connect(running, "ROK", change.cert, change.key)
    reply = await source.client.request("ingest.missiletrack", b"[{}]", timeout=PATIENCE_S)
    assert json.loads(reply.data) == {"source": "c2.radar-1", "bytes": 4}
    # It may not name another subject, its own included, nor listen to any.
    await source.client.publish("ingest.missiletrack.before-up", b"[]")
    await source.client.publish("ingest.missiletrack.c2.radar-1", b"[]")
    await source.client.subscribe("ingest.missiletrack.>")
    await source.client.flush()
    async with asyncio.timeout(PATIENCE_S):
        while len(source.errors) < 3:
            await asyncio.sleep(0.01)
    await source.client.close()
    assert all("permissions violation" in e for e in source.errors)
    assert node.seen == [("c2.radar-1", b"[{}]")]


async def test_an_operator_or_another_partys_source_does_not_get_in(
    running: Running, node: Node
) -> None:
    rok = party_certs(running.folder / CERTS_DIR, "ROK")
    said = await _refused_connection(running, "ROK", rok.cert("operator"), rok.key("operator"))
    assert "authorization violation" in said.lower()  # a certificate of ROK's, no user
    # The relay is a user of ROK's account, but it may not pose as a source.
    relay = await _connect(running, "ROK", rok.cert("relay"), rok.key("relay"))
    await relay.client.publish("ingest.missiletrack.before-up", b"[]")
    await relay.client.flush()
    async with asyncio.timeout(PATIENCE_S):
        while not relay.errors:
            await asyncio.sleep(0.01)
    await relay.client.close()
    assert "permissions violation" in relay.errors[0]
    jpn = await _add(running, "JPN", "c2.radar-1")
    await _refused_connection(running, "ROK", jpn.cert, jpn.key)  # JPN's CA: the handshake
    await _refused_connection(running, "ROK", None, None)  # no certificate: the handshake
    # On its own server, JPN's source reaches JPN's ingest (where no one answers), never ROK's.
    source = await _connect(running, "JPN", jpn.cert, jpn.key)
    with pytest.raises(nats.errors.NoRespondersError):
        await source.client.request("ingest.missiletrack", b"[]", timeout=PATIENCE_S)
    await source.client.close()
    assert node.seen == []


async def test_a_revoked_source_is_cut_off_and_refused_after_the_reload(
    running: Running, node: Node
) -> None:
    change = await _add(running, "ROK", "doomed")
    source = await _connect(running, "ROK", change.cert, change.key)
    assert (await source.client.request("ingest.missiletrack", b"1", timeout=PATIENCE_S)).data
    revoked = await asyncio.to_thread(
        revoke_source, running.folder, "ROK", "doomed", now_ns=time.time_ns()
    )
    assert revoked.reloaded
    async with asyncio.timeout(PATIENCE_S):
        await source.closed.wait()  # the server closed its connection at the reload
    said = await _refused_connection(running, "ROK", change.cert, change.key)
    assert "authorization violation" in said.lower()
    # A new certificate under the same name gets in; the revoked one stays out.
    renewed = await _add(running, "ROK", "doomed")
    again = await _connect(running, "ROK", renewed.cert, renewed.key)
    reply = await again.client.request("ingest.missiletrack", b"2", timeout=PATIENCE_S)
    await again.client.close()
    assert json.loads(reply.data)["source"] == "doomed"
    await _refused_connection(running, "ROK", change.cert, change.key)
    assert node.seen == [("doomed", b"1"), ("doomed", b"2")]


async def test_the_node_refuses_a_source_revoked_before_its_server_reloaded(
    running: Running, node: Node
) -> None:
    change = await _add(running, "ROK", "racing")
    source = await _connect(running, "ROK", change.cert, change.key)
    # The registry says revoked; the server has not reloaded yet (as in the moment
    # between `sources revoke` writing the registry and the server's reload).
    entries = read_registry(running.folder, "ROK")
    write_registry(
        running.folder,
        "ROK",
        tuple(
            msgspec.structs.replace(e, revoked_ns=time.time_ns()) if e.name == "racing" else e
            for e in entries
        ),
    )
    reply = await source.client.request("ingest.missiletrack", b"[]", timeout=PATIENCE_S)
    await source.client.close()
    answer = json.loads(reply.data)
    assert answer["accepted"] == 0
    assert [r["reason"] for r in answer["refused"]] == ["revoked"]
    assert node.seen == []
    assert node.refused == [("racing", "revoked")]
