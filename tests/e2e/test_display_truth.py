"""Per-party truth of the display API over the default demo: each party's display state
holds only what the originators' labels release to it (no browser)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import msgspec
import pytest

from warnlink.demo import default_federation_path, run_demo
from warnlink.node import Node
from warnlink.sharing.federation import Federation, load_federation
from warnlink.web.display import Display
from warnlink.web.live import relay_decisions

#: Scenario seconds between two samples of every party's display state.
EVERY_S = 20
ROK_SENSORS = ("ROK-GR1", "ROK-GR2")


@pytest.fixture(scope="module")
def federation() -> Federation:
    return load_federation(default_federation_path())


@pytest.fixture(scope="module")
def states(federation: Federation) -> dict[str, list[dict[str, Any]]]:
    """Party -> its display state (as served) every `EVERY_S` seconds of the scenario."""
    nodes: dict[str, Node] = {}
    displays = {
        p: Display(p, name, federation.peers(p), decisions=lambda: relay_decisions(nodes))
        for p, name in federation.parties.items()
    }
    samples: dict[str, list[dict[str, Any]]] = {p: [] for p in federation.parties}

    def observe(second: int, running: Mapping[str, Node]) -> None:
        if not nodes:
            nodes.update(running)
            for party, display in displays.items():
                display.attach(running[party])
        for party, display in displays.items():
            if second % EVERY_S == 0:
                samples[party].append(json.loads(msgspec.json.encode(display.state())))

    asyncio.run(run_demo(observe=observe))
    return samples


def test_jpn_never_sees_a_rok_sensor_and_usa_does(states: dict[str, list[dict[str, Any]]]) -> None:
    jpn = json.dumps(states["JPN"])
    usa = json.dumps(states["USA"])
    assert not any(name in jpn for name in ROK_SENSORS)
    assert any(name in usa for name in ROK_SENSORS)
    assert '"originator": "ROK"' in jpn  # ROK's data did reach JPN, without the sensor


def test_every_field_shown_is_released_by_its_originator_label(
    states: dict[str, list[dict[str, Any]]], federation: Federation
) -> None:
    checked = 0
    for party, samples in states.items():
        for state in samples:
            for event in state["events"]:
                for c in event["contributions"]:
                    originator = c["originator"]
                    if originator == party:
                        continue
                    for kind, item in (
                        ("track_report", c["track"]),
                        ("launch_report", c["launch"]),
                    ):
                        label = federation.label_for(originator, kind)
                        if item is None:
                            continue
                        assert label.releases_to(party), (party, originator, kind)
                        if "sensor" in label.withheld_from(party):
                            assert item["sensor"] is None, (party, originator, kind)
                        checked += 1
                    if not federation.label_for(originator, "track_report").releases_to(party):
                        assert c["track"] is None, (party, originator)
    assert checked > 100


def test_jpn_raw_tracks_reach_usa_only(states: dict[str, list[dict[str, Any]]]) -> None:
    def jpn_tracks(party: str) -> int:
        return sum(
            c["track"] is not None
            for s in states[party]
            for e in s["events"]
            for c in e["contributions"]
            if c["originator"] == "JPN"
        )

    assert jpn_tracks("ROK") == 0
    assert jpn_tracks("USA") > 0


def test_each_party_sees_only_relay_decisions_that_name_it(
    states: dict[str, list[dict[str, Any]]],
) -> None:
    for party, samples in states.items():
        decisions = [d for s in samples for d in s["decisions"]]
        assert decisions, party
        for d in decisions:
            assert party in (d["decider"], d["originator"], d["recipient"]), (party, d)


def test_the_banner_state_carries_jpn_alert_alone(
    states: dict[str, list[dict[str, Any]]],
) -> None:
    """The node's alerts feed the display: JPN's state carries its EEZ impact alert while
    it is in force (the default scenario threatens JPN's EEZ only); ROK's and USA's never
    carry one."""
    jpn = [a for state in states["JPN"] for a in state["alerts"]]
    assert jpn, "JPN's display never showed its alert"
    assert {a["area"] for a in jpn} == {"eez"}
    assert all("JPN eez" in a["headline"] for a in jpn)
    assert not any(state["alerts"] for state in states["ROK"] + states["USA"])
    assert not states["JPN"][-1]["alerts"]  # the all-clear after impact took it down
