"""A fourth party, linked only to USA, runs on NATS with nothing changed but the federation file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conformance.bus_suite import assert_quiet, take
from warnlink.sharing.federation import Federation, parse_federation
from warnlink.sharing.nats_topology import grants, hub_of, plan_topology
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.transport.nats import NatsBus

pytestmark = pytest.mark.nats

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

FOURTH_PARTY = """
[parties.AUS]
name = "Australia"

[[links]]
id = "AUS-USA"
parties = ["AUS", "USA"]

[[release]]
originator = "AUS"
kinds = ["launch_report", "track_report", "impact_prediction", "event_status"]
to = ["USA", "ROK", "JPN"]

[[release]]
originator = "USA"
kinds = ["launch_report", "track_report", "impact_prediction", "event_status"]
to = ["AUS"]

[[release]]
originator = "ROK"
kinds = ["launch_report", "impact_prediction", "event_status"]
to = ["AUS"]
"""


@pytest.fixture(scope="module")
def federation() -> Federation:
    text = (SCENARIOS / "trilateral.toml").read_text(encoding="utf-8") + FOURTH_PARTY
    return parse_federation(text, source="four-parties")


@pytest.fixture
async def buses(federation: Federation, tmp_path: Path) -> AsyncIterator[dict[str, NatsBus]]:
    topology = plan_topology(federation, tmp_path)
    topology.write()
    servers = topology.start()
    opened: dict[str, NatsBus] = {}
    try:
        for party, access in topology.access.items():
            opened[party] = await access.connect(federation)
        topology.wait_for_interest(servers)
        yield opened
    finally:
        for bus in opened.values():
            await bus.close()
        topology.stop()


def test_the_fourth_party_gets_its_own_server_link_and_grants(federation: Federation) -> None:
    aus = grants(federation, "AUS")
    assert aus.publish == (node_inbox("USA", "AUS"), relay_inbox("USA", "AUS"))
    assert aus.consume == ("wl.node.AUS.from.*",)
    usa = grants(federation, "USA")
    assert node_inbox("AUS", "USA") in usa.publish
    assert [hub_of(federation, link) for link in federation.links] == ["USA", "USA", "USA"]


async def test_aus_reaches_rok_only_through_the_relay(buses: dict[str, NatsBus]) -> None:
    to_relay = relay_inbox("USA", "AUS")
    await buses["AUS"].publish(to_relay, b"aus report", msg_id=f"{to_relay}/a1")
    relay = await buses["USA"].subscribe("wl.relay.USA.from.*", durable="relay-USA")
    (got,) = await take(relay, 1)
    assert (got.subject, got.data) == (to_relay, b"aus report")
    await relay.ack(got)

    to_rok = node_inbox("ROK", "USA")
    await buses["USA"].publish(to_rok, b"released to ROK", msg_id=f"{to_rok}/a1")
    rok = await buses["ROK"].subscribe("wl.node.ROK.from.*", durable="node-ROK")
    (delivered,) = await take(rok, 1)
    assert (delivered.subject, delivered.data) == (to_rok, b"released to ROK")
    await rok.ack(delivered)
    await assert_quiet(rok)
