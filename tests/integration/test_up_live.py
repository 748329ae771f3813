"""`warnlink up` carries a live missile from three parties' national systems, each with its
own real client, to every other party's picture, alerts and CAP.

One missile of the default scenario: each party's simulated national tracker
(`sources.simulation.SimulatedSource`) with the scenario's epoch moved so that the states
fed (boost to late midcourse) lie around now, inside the freshness window, played as fast
as the clients send. ROK's system posts UDL MissileTracks with the official udl-sdk over
HTTPS, JPN's sends the same JSON as NATS requests with nats-py, USA's TAK gateway streams
CoT with PyTAK; each with a certificate `warnlink sources add` issued while `up` ran.
Then, through each party's HTTPS API (its operator's certificate) and data folder: every
party holds the one missile with every originator's launch point and impact prediction,
and exactly what the federation's release rules give it (scenarios/trilateral.toml:
JPN's raw tracks go to USA only, ROK's sensor names not to JPN); JPN is alerted of the
impact in its EEZ and its CAP file validates against the OASIS CAP 1.2 schema; and every
display says the data is SIMULATED.
"""

from __future__ import annotations

import asyncio
import configparser
import json
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import httpx
import nats
import pytest
from lxml import etree
from unifieddatalibrary import Unifieddatalibrary

from tests.integration.running_up import PARTIES, PATIENCE_S, RunningUp, Source, wait_until
from tests.udl_records import sdk_params
from warnlink.alerting.cap import CAP_NS, cap_status
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.security.certs import party_certs
from warnlink.sharing.nats_topology import INGEST_SUBJECT
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_scenario
from warnlink.sources.cot_encode import record_cot
from warnlink.sources.simulation import SimulatedSource, simulate_trackers
from warnlink.sources.udl_encode import udl_body, udl_track

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pytak warns that optional aiohttp is missing
    import pytak

pytestmark = [pytest.mark.nats, pytest.mark.slow]

CAP_XSD: Final = Path(__file__).parents[1] / "data" / "cap" / "CAP-v1.2.xsd"
#: The scenario seconds fed (launch at 60 s, impact near 780 s): boost to late midcourse,
#: 400 s, so that around now every state is inside the 300 s freshness window.
FED_S: Final = (100.0, 500.0)
STATES: Final = 30
BATCH: Final = 5


def national_tracks(epoch_ns: int) -> dict[str, list[SourceRecord]]:
    """Each party's simulated tracker of the default scenario: about `STATES` states of
    `FED_S`, the scenario starting at `epoch_ns`."""
    scenario = load_scenario(default_scenario_path())
    trackers = simulate_trackers(scenario, simulate_scenario(scenario), PARTIES, seed=1)
    tracks = {}
    for party, estimates in trackers.items():
        fed = [e for e in estimates if FED_S[0] <= e.time_s <= FED_S[1]]
        tracker = SimulatedSource(party, fed[:: len(fed) // STATES], epoch_ns)
        tracks[party] = [due.record for due in tracker.due(epoch_ns + 3600 * NS_PER_S)]
    return tracks


def _batches(records: Sequence[SourceRecord]) -> Iterator[Sequence[SourceRecord]]:
    for start in range(0, len(records), BATCH):
        yield records[start : start + BATCH]


def feed_with_udl_sdk(up: RunningUp, source: Source, records: Sequence[SourceRecord]) -> list[Any]:
    """ROK's C2 system: udl-sdk's createBulk, as its integrators would call it."""
    udl = Unifieddatalibrary(
        base_url=up.http(source.party),
        access_token="not-used-by-warnlink",  # udl-sdk insists; the certificate is the identity
        http_client=httpx.Client(verify=up.source_tls(source), timeout=PATIENCE_S),
        max_retries=0,
    )
    with udl:
        return [
            udl.missile_tracks.with_raw_response.create_bulk(
                body=[sdk_params(udl_track(r)) for r in batch]  # type: ignore[misc]
            ).json()
            for batch in _batches(records)
        ]


async def feed_with_nats(
    up: RunningUp, source: Source, records: Sequence[SourceRecord]
) -> list[Any]:
    """JPN's system: the createBulk JSON as requests on its party's NATS server."""
    client = await nats.connect(
        up.endpoints[source.party]["nats"],
        tls=up.source_tls(source),
        allow_reconnect=False,
        connect_timeout=PATIENCE_S,
    )
    try:
        return [
            json.loads((await client.request(INGEST_SUBJECT, udl_body(b), PATIENCE_S)).data)
            for b in _batches(records)
        ]
    finally:
        await client.close()


async def feed_with_pytak(up: RunningUp, source: Source, records: Sequence[SourceRecord]) -> None:
    """USA's TAK gateway: one CoT event per state on the node's CoT stream (no answers)."""
    config = configparser.ConfigParser()
    config["tak"] = {
        "COT_URL": f"tls://{up.endpoints[source.party]['cot']}",
        "PYTAK_TLS_CLIENT_CERT": str(source.cert),
        "PYTAK_TLS_CLIENT_KEY": str(source.key),
        "PYTAK_TLS_CLIENT_CAFILE": str(party_certs(up.certs, source.party).ca),
        "TAK_PROTO": "0",
    }
    _, writer = await asyncio.wait_for(pytak.protocol_factory(config["tak"]), PATIENCE_S)
    sender = pytak.TXWorker(asyncio.Queue(), config["tak"], writer)
    for record in records:
        await sender.send_data(record_cot(record))
    writer.close()
    await writer.wait_closed()


def _contributions(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The originator -> contribution of a picture's one event (empty unless one)."""
    events = state["events"]
    if len(events) != 1:
        return {}
    return {c["originator"]: c for c in events[0]["contributions"]}


def _held(state: dict[str, Any]) -> list[dict[str, tuple[bool, bool, int]]]:
    """Each event's originator -> (launch point held, impact held, track reports held)."""
    return [
        {
            c["originator"]: (c["launch"] is not None, c["impact"] is not None, c["track_reports"])
            for c in event["contributions"]
        }
        for event in state["events"]
    ]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[RunningUp]:
    running = RunningUp.start(tmp_path / "data")
    yield running
    running.stop()


async def test_three_national_systems_feed_one_missile_that_every_party_sees(
    up: RunningUp,
) -> None:
    rok = up.add_source("ROK", "kamd-c2")
    jpn = up.add_source("JPN", "jadge")
    usa = up.add_source("USA", "tak-gateway", "--mode", DataMode.SIMULATED.value)
    tracks = national_tracks(time.time_ns() - round(sum(FED_S) / 2 * NS_PER_S))
    rok_answers, jpn_answers, _ = await asyncio.gather(
        asyncio.to_thread(feed_with_udl_sdk, up, rok, tracks["ROK"]),
        feed_with_nats(up, jpn, tracks["JPN"]),
        feed_with_pytak(up, usa, tracks["USA"]),
    )
    for answers in (rok_answers, jpn_answers):
        assert {a["duplicates"] for a in answers} == {0}
        assert [a["refused"] for a in answers if a["refused"]] == []
    assert sum(a["accepted"] for a in rok_answers) == len(tracks["ROK"])
    assert sum(a["accepted"] for a in jpn_answers) == len(tracks["JPN"])

    # What each party is given of each originator's track (trilateral.toml's release
    # rules): everything, but JPN's track reports go to USA only.
    expected = {
        (party, originator): 0 if (originator, party) == ("JPN", "ROK") else len(records)
        for party in PARTIES
        for originator, records in tracks.items()
    }

    def holds_the_missile(party: str) -> dict[str, Any]:
        def complete(state: dict[str, Any]) -> bool:
            seen = _contributions(state)
            return set(seen) == set(PARTIES) and all(
                c["launch"] is not None
                and c["impact"] is not None
                and c["track_reports"] == expected[party, originator]
                for originator, c in seen.items()
            )

        last: list[dict[str, Any]] = []

        def look() -> dict[str, Any]:
            last[:] = [up.state(party)]
            return last[0]

        try:
            return wait_until(f"{party} holds the missile", look, complete)
        except AssertionError as missing:
            raise AssertionError(
                f"{party} never held the missile; expected reports "
                f"{ {o: expected[party, o] for o in PARTIES} }, its picture: {_held(last[0])}"
            ) from missing

    states = {party: await asyncio.to_thread(holds_the_missile, party) for party in PARTIES}
    for state in states.values():
        assert state["non_real_modes"] == [DataMode.SIMULATED.value]
        assert state["events"][0]["data_mode"] == DataMode.SIMULATED.value
        assert state["events"][0]["status"] == "flying"
    # ROK's sensor names are withheld from JPN, not from USA.
    rok_seen_by = {p: _contributions(states[p])["ROK"] for p in ("JPN", "USA")}
    assert (rok_seen_by["JPN"]["launch"]["sensor"], rok_seen_by["JPN"]["track"]["sensor"]) == (
        None,
        None,
    )
    assert rok_seen_by["USA"]["track"]["sensor"].startswith("ROK-")
    assert _contributions(states["ROK"])["JPN"]["track"] is None

    # JPN is warned of the impact in its EEZ: on its display and as a CAP 1.2 file.
    jpn_event = states["JPN"]["events"][0]["event_id"]
    alerts = await asyncio.to_thread(
        wait_until, "JPN's EEZ alert", lambda: up.state("JPN")["alerts"]
    )
    assert [(a["event_id"], a["area"]) for a in alerts] == [(jpn_event, "eez")]
    assert alerts[0]["headline"].startswith("SIMULATED: impact")
    cap_folder = up.data / "JPN" / "cap"
    files = await asyncio.to_thread(
        wait_until,
        "JPN's CAP file",
        lambda: sorted(cap_folder.glob("*.xml")) if cap_folder.exists() else [],
    )
    schema = etree.XMLSchema(etree.parse(str(CAP_XSD)))
    namespaces = {"cap": CAP_NS}
    for number, path in enumerate(files):  # the alert, and any update since
        cap = etree.parse(str(path))
        assert schema.validate(cap), schema.error_log
        assert cap.findtext("cap:status", namespaces=namespaces) == cap_status(DataMode.SIMULATED)
        assert cap.findtext("cap:msgType", namespaces=namespaces) == (
            "Update" if number else "Alert"
        )
        assert cap.findtext("cap:info/cap:area/cap:areaDesc", namespaces=namespaces) == "JPN eez"
        parameters = {
            p.findtext("cap:valueName", namespaces=namespaces): p.findtext(
                "cap:value", namespaces=namespaces
            )
            for p in cap.iterfind("cap:info/cap:parameter", namespaces=namespaces)
        }
        assert parameters["dataMode"] == DataMode.SIMULATED.value
        assert jpn_event in cap.findtext("cap:info/cap:description", namespaces=namespaces)
