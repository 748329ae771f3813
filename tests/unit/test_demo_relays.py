"""The demo on four parties with two relays (issue 17, finding 4): every report delivered
once, nothing a relay's host was not released reaching its relay, and the stores closed
when a run fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from warnlink.demo import run_demo
from warnlink.runtime import NodeRuntime

DATA = Path(__file__).resolve().parents[1] / "data"
FOUR = DATA / "four_parties_two_relays.toml"
SHORT = DATA / "routing_short.toml"


def _audit(folder: Path, relay: str) -> list[dict[str, Any]]:
    lines = (folder / f"relay-{relay}.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("type") == "entry"]


@pytest.mark.slow  # 10 s of CPU, but a SQLite-backed bus syncs every append
async def test_two_relays_deliver_each_report_once_and_only_where_released(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "demo"
    summary = await run_demo(FOUR, SHORT, seed=1, data_dir=folder)
    assert summary["leaks"] == 0, summary["leak_details"]  # relay inboxes checked too
    assert summary["duplicate_deliveries"] == 0
    assert summary["deliveries_checked"] > 0
    assert set(summary["relay"]["audit"]) == {"AUS", "USA"}
    via = {p: s["received_via"] for p, s in summary["parties"].items()}
    # Linked parties hear each other directly, relay hosts included.
    assert set(via["USA"]["JPN"]) == {"JPN"}
    assert set(via["JPN"]["USA"]) == {"USA"}
    assert set(via["AUS"]["JPN"]) == {"JPN"}
    # USA's reports went to JPN and ROK twice, directly and through AUS's relay.
    assert summary["parties"]["ROK"]["received_from"]["USA"] > 0
    assert set(via["ROK"]["USA"]) == {"USA"}
    # JPN's reports reach ROK through a relay, each kind by one of them.
    assert summary["parties"]["ROK"]["received_from"]["JPN"] > 0
    assert set(via["ROK"]["JPN"]) <= {"AUS", "USA"}
    # AUS's relay carried only what JPN released to AUS: no track, no status.
    jpn_at_aus = {e["kind"] for e in _audit(folder, "AUS") if e["originator"] == "JPN"}
    assert jpn_at_aus == {"launch_report", "impact_prediction"}
    # USA's relay decides for nobody but ROK and JPN (never USA's own node).
    assert {e["recipient"] for e in _audit(folder, "USA")} <= {"ROK", "JPN"}


async def test_a_failing_run_stops_every_node_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[str] = []
    stop = NodeRuntime.stop

    async def recording_stop(self: NodeRuntime) -> None:
        stopped.append(self.party)
        await stop(self)

    def fail(second: int, nodes: object) -> None:
        raise RuntimeError("observer failed")

    monkeypatch.setattr(NodeRuntime, "stop", recording_stop)
    with pytest.raises(RuntimeError, match="observer failed"):
        await run_demo(FOUR, SHORT, seed=1, data_dir=tmp_path / "demo", observe=fail)
    assert sorted(stopped) == ["AUS", "JPN", "ROK", "USA"]
