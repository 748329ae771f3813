"""Mutual TLS on the federation's servers: who gets in, who is refused, and what each side says.

The trilateral federation runs on three servers with certificates from `init_certs`
(client and leaf connections both verified). JPN's server is the one knocked on: the
right certificate connects and publishes across the TLS leaf links; a certificate from
another party's CA, no certificate and no TLS at all are refused, with a
`TransportError` naming the client, the URL and the reason, and a line in the
server's log. A leaf connection with a stranger's certificate is refused too.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conformance.bus_suite import take
from warnlink.errors import TransportError
from warnlink.security.certs import init_certs, party_certs
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import Topology, plan_topology, stream_name
from warnlink.sharing.subjects import relay_inbox
from warnlink.transport.nats import NatsBus
from warnlink.transport.nats_server import NatsServer, free_port, write_config

pytestmark = pytest.mark.nats

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PATIENCE_S = 10.0  # a guard against a hang, never expected to elapse


@dataclass(frozen=True)
class Running:
    topology: Topology
    servers: dict[str, NatsServer]
    certs: Path
    strangers: Path


@pytest.fixture(scope="module")
def federation() -> Federation:
    return load_federation(SCENARIOS / "trilateral.toml")


@pytest.fixture(scope="module")
def running(federation: Federation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("tls")
    links = [link.parties for link in federation.links]
    init_certs(folder / "certs", federation.parties, links=links)
    init_certs(folder / "strangers", federation.parties, links=links)
    topology = plan_topology(federation, folder, certs=folder / "certs")
    # nats-server logs a plaintext client's refusal at debug level only.
    topology.servers["JPN"].config["debug"] = True
    topology.write()
    servers = topology.start()
    yield Running(topology, servers, folder / "certs", folder / "strangers")
    topology.stop()


def _trusting_jpn(running: Running) -> ssl.SSLContext:
    """A client context that verifies JPN's server, with no certificate of its own."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(party_certs(running.certs, "JPN").ca)
    return context


def _log_size(server: NatsServer) -> int:
    return server.log_file.stat().st_size


async def _log_line(server: NatsServer, since: int, wanted: str) -> str:
    """The first line of the server's log written after `since` that contains `wanted`."""
    async with asyncio.timeout(PATIENCE_S):
        while True:
            with server.log_file.open("rb") as log:
                log.seek(since)
                for line in log.read().decode(errors="replace").splitlines():
                    if wanted in line:
                        return line
            await asyncio.sleep(0.02)


def _leafs(monitor_port: int) -> list[object]:
    url = f"http://127.0.0.1:{monitor_port}/leafz"
    with urllib.request.urlopen(url, timeout=2.0) as response:
        leafs: list[object] = json.load(response)["leafs"]
    return leafs


async def test_the_right_certificates_connect_and_publish_across_the_tls_links(
    running: Running, federation: Federation
) -> None:
    buses = {p: await a.connect(federation) for p, a in running.topology.access.items()}
    try:
        await asyncio.to_thread(running.topology.wait_for_interest, running.servers)
        subject = relay_inbox("USA", "ROK")
        await buses["ROK"].publish(subject, b"over tls", msg_id=f"{subject}/t1")
        relay = await buses["USA"].subscribe("wl.relay.USA.from.*", durable="relay-USA")
        (got,) = await take(relay, 1)
        assert (got.subject, got.data) == (subject, b"over tls")
        await relay.ack(got)
    finally:
        for bus in buses.values():
            await bus.close()
    relay_bus = await running.topology.access["USA"].connect(federation, role="relay")
    await relay_bus.close()


@pytest.mark.parametrize(
    ("who", "said", "logged"),
    [
        (
            "ROK's node certificate",
            r"TLS handshake refused by NATS at \S+: the server (refused this client's "
            r"certificate \(tlsv1 alert unknown ca\)|closed the connection in the TLS handshake)",
            "TLS handshake error: tls: failed to verify certificate: x509: certificate signed "
            "by unknown authority (CN=ROK node,O=ROK",
        ),
        (
            "a stranger CA's JPN node certificate",
            r"TLS handshake refused by NATS at \S+: the server (refused this client's "
            r"certificate \(tlsv1 alert unknown ca\)|closed the connection in the TLS handshake)",
            # Same name as JPN's CA, another key: Go says so, then names the certificate.
            'while trying to verify candidate authority certificate "JPN warnlink CA") '
            "(CN=JPN node,O=JPN",
        ),
        (
            "no certificate",
            r"TLS handshake refused by NATS at \S+: (certificate required: the server wants a "
            r"client certificate|the server closed the connection in the TLS handshake: "
            r"certificate required)",
            "TLS handshake error: tls: client didn't provide a certificate",
        ),
        (
            "no TLS configured",
            r"TLS handshake refused by NATS at \S+: the server requires TLS and this client "
            r"has no certificates \(unable to get local issuer certificate\)",
            # The client gives up on the server's certificate; the server sees it go.
            "TLS handshake error: EOF",
        ),
    ],
)
async def test_clients_without_the_right_certificate_are_refused(
    running: Running, who: str, said: str, logged: str
) -> None:
    jpn = running.topology.access["JPN"]
    tls: ssl.SSLContext | None = _trusting_jpn(running)
    assert tls is not None
    if who == "ROK's node certificate":
        rok = party_certs(running.certs, "ROK")
        tls.load_cert_chain(rok.cert("node"), rok.key("node"))
    elif who == "a stranger CA's JPN node certificate":
        stranger = party_certs(running.strangers, "JPN")
        tls.load_cert_chain(stranger.cert("node"), stranger.key("node"))
    elif who == "no TLS configured":
        tls = None
    server = running.servers["JPN"]
    since = _log_size(server)
    with pytest.raises(TransportError) as refused:
        await NatsBus.connect(
            jpn.url,
            stream=stream_name("JPN"),
            user=jpn.user,
            password=jpn.password,  # the right password: the certificate is what is wrong
            name="warnlink-JPN-node",
            connect_timeout_s=PATIENCE_S,
            tls=tls,
        )
    message = str(refused.value)
    print(f"{who}: {message}\n  server: {await _log_line(server, since, logged)}")
    assert message.startswith(f"warnlink-JPN-node: TLS handshake refused by NATS at {jpn.url}: ")
    assert refused.match(said)
    assert isinstance(refused.value.__cause__, OSError)  # ssl.SSLError is an OSError


async def test_a_plaintext_client_is_refused(running: Running) -> None:
    jpn = running.topology.access["JPN"]
    server = running.servers["JPN"]
    since = _log_size(server)
    async with asyncio.timeout(PATIENCE_S):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        info = json.loads((await reader.readline()).removeprefix(b"INFO "))
        assert info["tls_required"] is True
        connect = {"verbose": False, "user": jpn.user, "pass": jpn.password}
        writer.write(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        await writer.drain()
        answer = await reader.read()  # the server hangs up: no PONG, no -ERR
        writer.close()
    assert answer == b""
    line = await _log_line(server, since, "TLS handshake error")
    print(f"server: {line}")
    assert "first record does not look like a TLS handshake" in line


async def test_a_leaf_connection_with_a_stranger_certificate_is_refused(
    running: Running, tmp_path: Path
) -> None:
    # An impostor JPN server: JPN's leaf password, a stranger CA's JPN leaf certificate.
    hub = running.topology.servers["USA"]
    user, password = running.topology.leaf_users[("USA", "JPN")]
    stranger = party_certs(running.strangers, "JPN")
    port, monitor_port = free_port(), free_port()
    config = {
        "server_name": "IMPOSTOR",
        "host": "127.0.0.1",
        "port": port,
        "http": f"127.0.0.1:{monitor_port}",
        "leafnodes": {
            "remotes": [
                {
                    "url": f"nats-leaf://{user}:{password}@127.0.0.1:{hub.leaf_port}",
                    "tls": {
                        "cert_file": str(stranger.cert("leaf")),
                        "key_file": str(stranger.key("leaf")),
                        # It trusts USA's real CA, so only USA can refuse.
                        "ca_file": str(party_certs(running.certs, "USA").ca),
                    },
                }
            ]
        },
    }
    usa = running.servers["USA"]
    since = _log_size(usa)
    impostor = NatsServer(
        write_config(tmp_path / "impostor.conf", config), port=port, monitor_port=monitor_port
    ).start()
    try:
        line = await _log_line(usa, since, "TLS leafnode handshake error")
        print(f"USA's server: {line}")
        assert "certificate signed by unknown authority" in line
        assert "(CN=JPN leaf,O=JPN" in line
        assert await asyncio.to_thread(_leafs, monitor_port) == []
    finally:
        impostor.stop()
