"""The demo over NATS (a server per party) gives the embedded demo's outcome, for 3 or 4 parties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_nats_four_parties import FOURTH_PARTY
from warnlink.cli import main
from warnlink.demo import default_federation_path, run_demo

pytestmark = [pytest.mark.nats, pytest.mark.slow]


def assert_same_outcome(over_nats: dict[str, Any], embedded: dict[str, Any]) -> None:
    """The same summary, but for when each alert went out: an alert is decided at the
    node's 1 s tick, and a report that crosses real servers may land on either side of
    one. So the same alerts, in the same order, each within a tick of its embedded twin."""
    for party, info in embedded["parties"].items():
        mine = over_nats["parties"][party]
        timing = ("sent_s", "lead_time_s")
        assert [{k: v for k, v in a.items() if k not in timing} for a in mine["alerts"]] == [
            {k: v for k, v in a.items() if k not in timing} for a in info["alerts"]
        ]
        for a, b in zip(mine["alerts"], info["alerts"], strict=True):
            assert abs(a["sent_s"] - b["sent_s"]) <= 1.0
    strip = {"alerts"}
    assert _without(over_nats, strip) == _without(embedded, strip)


def _without(summary: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    parties = {
        p: {k: v for k, v in info.items() if k not in keys}
        for p, info in summary["parties"].items()
    }
    return {**summary, "parties": parties}


async def test_the_demo_over_nats_matches_the_embedded_one() -> None:
    embedded = await run_demo()
    assert embedded["leaks"] == 0
    summary = await run_demo(transport="nats")
    assert_same_outcome(summary, embedded)
    assert summary["relay"]["forwarded"] > 0
    assert summary["relay"]["redacted"] > 0
    # The relay sees only what is routed through it, to recipients released it.
    assert summary["relay"]["refused"] == 0
    for party, seen in summary["parties"].items():
        assert all(count > 0 for count in seen["received_from"].values()), party


def test_the_cli_prints_the_same_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--transport", "nats", "--json"]) == 0
    over_nats: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert main(["demo", "--json"]) == 0
    embedded: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert over_nats.keys() == embedded.keys()
    assert over_nats["leaks"] == 0


async def test_a_fourth_party_linked_only_to_usa_runs_unchanged(tmp_path: Path) -> None:
    federation = tmp_path / "four.toml"
    federation.write_text(
        default_federation_path().read_text(encoding="utf-8") + FOURTH_PARTY, encoding="utf-8"
    )
    embedded = await run_demo(federation)
    over_nats = await run_demo(federation, transport="nats")
    assert_same_outcome(over_nats, embedded)
    assert over_nats["leaks"] == 0
    # USA sends to AUS over their link; ROK reaches AUS only through the relay; JPN
    # released nothing to AUS.
    aus = over_nats["parties"]["AUS"]
    assert aus["received_from"]["USA"] > 0
    assert aus["received_from"]["ROK"] > 0
    assert aus["received_from"]["JPN"] == 0
    assert set(aus["received_via"]["ROK"]) == {"USA"}
    assert "AUS" in over_nats["parties"]["USA"]["heartbeats_from"]
