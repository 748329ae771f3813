"""The whole embedded demo, in process: every party served, the relay's outcomes, no leaks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories import TRILATERAL
from warnlink.cli import main
from warnlink.demo import run_demo
from warnlink.sharing import wire
from warnlink.sharing.release import Decision, Outcome

PARTIES = ("ROK", "JPN", "USA")


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    return asyncio.run(run_demo())


def test_every_party_receives_the_other_two(summary: dict[str, Any]) -> None:
    for party in PARTIES:
        received = summary["parties"][party]["received_from"]
        assert set(received) == set(PARTIES) - {party}
        assert all(count > 0 for count in received.values()), (party, received)


def test_rok_and_jpn_reach_each_other_only_through_the_relay(summary: dict[str, Any]) -> None:
    assert set(summary["parties"]["JPN"]["received_via"]["ROK"]) == {"USA"}
    assert set(summary["parties"]["ROK"]["received_via"]["JPN"]) == {"USA"}
    assert set(summary["parties"]["USA"]["received_via"]["ROK"]) == {"ROK"}  # direct


def test_relay_outcomes_and_no_leaks(summary: dict[str, Any]) -> None:
    relay = summary["relay"]
    assert relay["forwarded"] > 0
    assert relay["redacted"] > 0
    # It sees only what is routed through it, to recipients released it.
    assert relay["refused"] == 0
    assert relay["rejected"] == 0
    audit = relay["audit"]["USA"]
    assert audit["chain_ok"]
    assert audit["vouched"]  # also against every head its witnesses countersigned
    assert set(audit["witnessed"]) == {"ROK", "JPN"}
    assert 0 < min(audit["witnessed"].values()) <= audit["entries"]
    assert summary["leaks"] == 0
    assert summary["deliveries_checked"] > 0


def test_the_summary_ends_with_every_link_up_and_the_finished_flight_stale(
    summary: dict[str, Any],
) -> None:
    peers = {"ROK": ["USA"], "JPN": ["USA"], "USA": ["JPN", "ROK"]}
    for party in PARTIES:
        links = summary["parties"][party]["links"]
        assert list(links) == peers[party]
        assert {link["state"] for link in links.values()} == {"up"}
        # The scenario ends 90 s after impact: every track and prediction is old by then.
        assert summary["parties"][party]["stale_items"] > 0


def test_each_party_sees_one_event_with_a_good_prediction(summary: dict[str, Any]) -> None:
    for party in PARTIES:
        (event,) = summary["parties"][party]["events"]
        assert event["originators"] == sorted(PARTIES)
        ipp = event["impact_prediction"]
        assert {"lat", "lon", "time"} <= set(ipp)
        assert event["impact_error_km"] < 25.0
        assert abs(event["impact_time_error_s"]) < 20.0
        assert event["first_launch_report_after_launch_s"] is not None
        assert event["first_impact_prediction_after_launch_s"] is not None
        assert (
            event["first_launch_report_after_launch_s"]
            < event["first_impact_prediction_after_launch_s"] + 120
        )


async def test_a_relay_that_ignores_labels_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def careless(envelope: Any, recipient: str) -> Decision:
        return Decision(Outcome.FORWARDED, recipient, "released", (), envelope)

    monkeypatch.setattr(wire, "decide", careless)
    summary = await run_demo()
    assert summary["leaks"] > 0


def test_cli_json_with_explicit_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    four = tmp_path / "four.toml"
    four.write_text(
        TRILATERAL.read_text()
        + """
[parties.AUS]
name = "Australia"

[[links]]
id = "AUS-USA"
parties = ["AUS", "USA"]

[[release]]
originator = "USA"
kinds = ["launch_report", "impact_prediction"]
to = ["AUS"]

[[release]]
originator = "ROK"
kinds = ["impact_prediction"]
to = ["AUS"]
"""
    )
    assert main(["demo", "--config", str(four), "--json", "--data", str(tmp_path / "data")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["leaks"] == 0
    aus = summary["parties"]["AUS"]["received_from"]
    assert aus["USA"] > 0
    assert aus["ROK"] > 0
    assert aus["JPN"] == 0
    assert (tmp_path / "data" / "relay-USA.jsonl").exists()
    assert main(["audit", "verify", str(tmp_path / "data" / "relay-USA.jsonl")]) == 0


@pytest.mark.slow
def test_salvo_of_eight_gives_eight_events_at_every_party() -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "salvo_srbm.toml"
    summary = asyncio.run(run_demo(scenario_path=scenario))
    assert summary["leaks"] == 0
    for party in PARTIES:
        events = summary["parties"][party]["events"]
        assert len(events) == 8
        for event in events:
            assert event["originators"] == sorted(PARTIES)
            assert event["impact_error_km"] < 25.0
            # The simulator numbers each party's tracks by launch, the same at every
            # party: a right association puts equal numbers together.
            numbers = {seen["track_number"] for seen in event["by_originator"].values()}
            assert len(numbers) == 1, (party, event["event_id"], event["by_originator"].keys())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lofted_icbm", "irbm_overflight"])
def test_other_scenarios_reach_every_party(name: str) -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / f"{name}.toml"
    summary = asyncio.run(run_demo(scenario_path=scenario))
    assert summary["leaks"] == 0
    assert min(summary["relay"][k] for k in ("forwarded", "redacted")) > 0
    # The relay is sent only what it must pass on (`sharing.routing`): nothing to refuse.
    assert summary["relay"]["refused"] == 0
    for party in PARTIES:
        (event,) = summary["parties"][party]["events"]
        assert event["originators"] == sorted(PARTIES)
        assert event["impact_error_km"] < 25.0
        for seen in event["by_originator"].values():
            assert seen["first_impact_prediction_after_launch_s"] is not None
            assert seen["launch"] is not None
        if name == "lofted_icbm":
            # The radars lose the lofted flight for an hour: USA's first track is deleted,
            # and its track of the re-entry joins the same event instead of a second one.
            assert event["by_originator"]["USA"]["tracks"] == [1, 2]


@pytest.mark.slow
def test_a_launcher_flying_south_is_one_event_seen_by_all() -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "satellite_launcher.toml"
    summary = asyncio.run(run_demo(scenario_path=scenario))
    assert summary["leaks"] == 0
    for party in PARTIES:
        (event,) = summary["parties"][party]["events"]
        assert event["originators"] == sorted(PARTIES)
        assert event["impact_error_km"] < 5.0


@pytest.mark.slow
def test_a_track_nobody_holds_to_impact_ends_lost_with_its_last_prediction() -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "lost_track.toml"
    summary = asyncio.run(run_demo(scenario_path=scenario))
    assert summary["leaks"] == 0
    for party in PARTIES:
        (event,) = summary["parties"][party]["events"]
        assert event["originators"] == ["ROK", "USA"]  # JPN's one ship never sees it
        assert {seen["status"] for seen in event["by_originator"].values()} == {"lost"}
        assert event["impact_error_km"] < 5.0


@pytest.mark.slow
def test_a_depressed_flight_is_one_event_with_a_good_prediction() -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "depressed_srbm.toml"
    summary = asyncio.run(run_demo(scenario_path=scenario))
    assert summary["leaks"] == 0
    for party in PARTIES:
        (event,) = summary["parties"][party]["events"]
        assert {"ROK", "JPN"} <= set(event["originators"])
        assert event["impact_error_km"] < 5.0
