"""The federation on real NATS servers: one per party, leaf links, and what each may do.

The trilateral federation (ROK-USA, JPN-USA, relay at USA) runs on three servers
started once for the module. The negative tests try, with JPN's credentials, what
the issue lists as forbidden and check that the server refuses each attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from tests.conformance.bus_suite import assert_quiet, take
from warnlink.errors import TransportError
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import Topology, grants, plan_topology
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.sharing.wire import publish_id
from warnlink.transport.nats import NatsBus, StreamSpec
from warnlink.transport.nats_server import NatsServer

pytestmark = pytest.mark.nats

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
REFUSED_WITHIN_S = 2.0  # a guard: the server answers a violation at once


@pytest.fixture(scope="module")
def federation() -> Federation:
    return load_federation(SCENARIOS / "trilateral.toml")


@pytest.fixture(scope="module")
def running(
    federation: Federation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Topology, dict[str, NatsServer]]]:
    topology = plan_topology(federation, tmp_path_factory.mktemp("federation"))
    topology.write()
    servers = topology.start()
    yield topology, servers
    topology.stop()


@pytest.fixture
async def buses(
    running: tuple[Topology, dict[str, NatsServer]], federation: Federation
) -> AsyncIterator[dict[str, NatsBus]]:
    topology, servers = running
    opened = {p: await a.connect(federation) for p, a in topology.access.items()}
    await asyncio.to_thread(topology.wait_for_interest, servers)
    yield opened
    for bus in opened.values():
        await bus.close()


class Refusals:
    """A raw client with the given credentials that records what the server refuses."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.client: Client | None = None
        self._error = asyncio.Event()

    async def connect(
        self, url: str, user: str | None, password: str | None, inbox_prefix: str = "_INBOX"
    ) -> Client:
        async def on_error(exc: Exception) -> None:
            # nats-py lowercases the server's message.
            self.errors.append(str(exc).lower())
            self._error.set()

        self.client = await nats.connect(
            url,
            user=user,
            password=password,
            error_cb=on_error,
            inbox_prefix=inbox_prefix,
            allow_reconnect=False,
            connect_timeout=REFUSED_WITHIN_S,
        )
        return self.client

    async def refused(self, what: str, subject: str) -> bool:
        """Whether the server reported a permissions violation for `what` on `subject`."""
        wanted = f'permissions violation for {what} to "{subject.lower()}"'
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REFUSED_WITHIN_S):
                while not any(wanted in e for e in self.errors):
                    self._error.clear()
                    await self._error.wait()
        return any(wanted in e for e in self.errors)


# What flows


async def test_rok_reaches_the_relay_and_the_relay_reaches_jpn(buses: dict[str, NatsBus]) -> None:
    to_relay = relay_inbox("USA", "ROK")
    ack = await buses["ROK"].publish(to_relay, b"rok report", msg_id=f"{to_relay}/r1")
    assert not ack.duplicate
    relay = await buses["USA"].subscribe("wl.relay.USA.from.*", durable="relay-USA")
    (got,) = await take(relay, 1)
    assert (got.subject, got.data, got.msg_id) == (to_relay, b"rok report", f"{to_relay}/r1")
    await relay.ack(got)

    to_jpn = node_inbox("JPN", "USA")
    await buses["USA"].publish(to_jpn, b"released", msg_id=f"{to_jpn}/r1")
    jpn = await buses["JPN"].subscribe("wl.node.JPN.from.*", durable="node-JPN")
    (delivered,) = await take(jpn, 1)
    assert (delivered.subject, delivered.data) == (to_jpn, b"released")
    await jpn.ack(delivered)
    await assert_quiet(jpn)  # ROK's message to the relay never reached JPN's server


async def test_the_same_bus_id_twice_is_stored_once_across_the_link(
    buses: dict[str, NatsBus],
) -> None:
    subject = node_inbox("USA", "JPN")
    first = await buses["JPN"].publish(subject, b"hb", msg_id=f"{subject}/dup")
    again = await buses["JPN"].publish(subject, b"hb", msg_id=f"{subject}/dup")
    assert (again.seq, again.duplicate) == (first.seq, True)


# What is refused


@pytest.mark.parametrize(
    "subject",
    [
        relay_inbox("USA", "ROK"),  # ROK's messages to the relay
        node_inbox("ROK", "USA"),  # what the relay gives ROK
        "wl.node.ROK.>",
        ">",
        "$JS.API.>",
        "$SYS.>",
    ],
)
async def test_jpn_cannot_subscribe_to_what_is_not_its_own(
    running: tuple[Topology, dict[str, NatsServer]], subject: str
) -> None:
    topology, _ = running
    jpn = topology.access["JPN"]
    refusals = Refusals()
    client = await refusals.connect(jpn.url, jpn.user, jpn.password)
    try:
        assert client.is_connected
        await client.subscribe(subject)
        assert await refusals.refused("subscription", subject), refusals.errors
    finally:
        await client.close()


async def test_jpn_may_use_its_own_reply_inbox(
    running: tuple[Topology, dict[str, NatsServer]],
) -> None:
    # The control for the refusals above: an allowed subscription works.
    topology, _ = running
    jpn = topology.access["JPN"]
    refusals = Refusals()
    client = await refusals.connect(jpn.url, jpn.user, jpn.password, "_INBOX_JPN")
    try:
        # The answer comes back on a subscription to _INBOX_JPN.<token>.*
        reply = await client.request("$JS.API.STREAM.INFO.WL_JPN", b"", timeout=REFUSED_WITHIN_S)
        assert reply.data.startswith(b"{")
        assert refusals.errors == []
    finally:
        await client.close()


async def test_jpn_cannot_publish_to_rok(
    running: tuple[Topology, dict[str, NatsServer]], federation: Federation
) -> None:
    topology, _ = running
    jpn = topology.access["JPN"]
    subject = node_inbox("ROK", "JPN")
    assert subject not in grants(federation, "JPN").publish
    refusals = Refusals()
    client = await refusals.connect(jpn.url, jpn.user, jpn.password)
    try:
        await client.publish(subject, b"sneak")
        assert await refusals.refused("publish", subject), refusals.errors
    finally:
        await client.close()


@pytest.mark.parametrize("who", ["nobody", "JPN on USA's server", "JPN's leaf user as a client"])
async def test_connections_without_the_right_credentials_are_refused(
    running: tuple[Topology, dict[str, NatsServer]], who: str
) -> None:
    topology, _ = running
    jpn, usa = topology.access["JPN"], topology.access["USA"]
    leaf_user, leaf_password = topology.leaf_users[("USA", "JPN")]
    url, user, password = {
        "nobody": (jpn.url, None, None),
        "JPN on USA's server": (usa.url, jpn.user, jpn.password),
        "JPN's leaf user as a client": (usa.url, leaf_user, leaf_password),
    }[who]
    refusals = Refusals()
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await refusals.connect(url, user, password)


async def test_the_bus_reports_refused_credentials_as_a_transport_error(
    running: tuple[Topology, dict[str, NatsServer]],
) -> None:
    topology, _ = running
    # The server says why, then closes; on a busy machine the close can reach the client
    # first (seen once in CI: "Connection reset by peer"). Either way: a TransportError.
    with pytest.raises(TransportError, match=r"(?i)authorization|reset by peer"):
        await NatsBus.connect(
            topology.access["JPN"].url,
            stream="WL_JPN",
            user="JPN",
            password="wrong",
            connect_timeout_s=REFUSED_WITHIN_S,
        )


async def test_a_forward_that_kept_the_original_nats_msg_id_would_be_dropped(
    buses: dict[str, NatsBus],
) -> None:
    # The relay at USA stores ROK's original and delivers to USA's own node in the same
    # stream (WL_USA). JetStream dedupes by Nats-Msg-Id across subjects: a forward that
    # copied the original's id is dropped; the bus id of wire.publish_id is not.
    original, forward = relay_inbox("USA", "ROK"), node_inbox("USA", "USA")
    msg_id = "0123456789abcdef0123456789abcdef"
    first = await buses["ROK"].publish(original, b"o", msg_id=publish_id(original, msg_id))
    copied = await buses["USA"].publish(forward, b"f", msg_id=publish_id(original, msg_id))
    assert (copied.duplicate, copied.seq) == (True, first.seq)
    fresh = await buses["USA"].publish(forward, b"f", msg_id=publish_id(forward, msg_id))
    assert not fresh.duplicate


async def test_jpn_owning_its_server_still_gets_nothing_of_rok(
    federation: Federation, tmp_path: Path
) -> None:
    # JPN runs its own server and may configure it as it likes: here with an admin user
    # and a stream that tries to capture ROK's traffic. What crosses the link is decided
    # by USA's server (the leaf user's permissions), so nothing of ROK's arrives.
    topology = plan_topology(federation, tmp_path)
    jpn_account = topology.servers["JPN"].config["accounts"]["JPN"]
    jpn_account["users"].append({"user": "jpn-admin", "password": "local-only"})
    topology.write()
    servers = topology.start()
    buses: dict[str, NatsBus] = {}
    try:
        for party in ("ROK", "USA"):
            buses[party] = await topology.access[party].connect(federation)
        snoop = await NatsBus.connect(
            topology.access["JPN"].url,
            stream="SNOOP",
            ensure=StreamSpec(name="SNOOP", subjects=("wl.relay.USA.from.ROK", "wl.node.ROK.>")),
            user="jpn-admin",
            password="local-only",
        )
        buses["JPN"] = snoop
        watcher = await snoop.subscribe(">", durable="snoop")
        # Each side knows of the other's stream before anyone publishes.
        topology.wait_for_interest_of(servers, "ROK", "USA")
        topology.wait_for_interest_of(servers, "USA", "ROK")
        to_relay = relay_inbox("USA", "ROK")
        await buses["ROK"].publish(to_relay, b"rok only", msg_id=f"{to_relay}/s1")
        to_rok = node_inbox("ROK", "USA")
        usa_to_rok = await buses["USA"].publish(to_rok, b"usa to rok", msg_id=f"{to_rok}/s1")
        assert not usa_to_rok.duplicate  # stored at ROK's server, not at JPN's
        relay = await buses["USA"].subscribe("wl.relay.USA.from.*", durable="relay-USA")
        (got,) = await take(relay, 1)  # ROK's message reached the relay...
        assert got.data == b"rok only"
        await assert_quiet(watcher)  # ...and not JPN's server
    finally:
        for bus in buses.values():
            await bus.close()
        topology.stop()
