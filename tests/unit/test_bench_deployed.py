"""The deployed-shape benchmarks (`benchmarks.deployed`, `salvo`, `soak`, `scale`): their
arithmetic, the generated federation, and each at a tiny size on real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from warnlink.benchmarks import runner, salvo, scale, soak
from warnlink.benchmarks.deployed import Applications, Offered, recipients, wait_received
from warnlink.benchmarks.runner import BENCHMARKS, ON_REQUEST
from warnlink.cli import main
from warnlink.demo import default_federation_path
from warnlink.sharing.federation import load_federation, parse_federation

MS: int = 1_000_000


def test_the_scale_federation_is_a_tree_with_a_relay_per_region() -> None:
    federation = parse_federation(scale.federation_toml())
    assert len(federation.parties) == 10
    assert federation.relays == frozenset(scale.RELAYS)
    assert len(federation.links) == len(federation.parties) - 1  # connected, no cycle
    # P03 reaches its relay host directly, its region and the other host through P01.
    assert recipients(federation, "P03") == {
        "P01": None,
        **dict.fromkeys(("P02", "P04", "P05", "P06"), "P01"),
    }
    assert set(recipients(federation, "P08").values()) == {None, "P02"}
    # Each relay host receives every party's reports: all the live tracks.
    for host in scale.RELAYS:
        senders = [p for p in scale.PARTIES if host in recipients(federation, p)]
        assert len(senders) == 9


def test_latency_is_from_due_to_the_first_application_and_the_missing_wait_until_the_end() -> None:
    federation = load_federation(default_federation_path())
    # ROK's track 1 (ROK's number 7) applied at USA 12 ms after due, twice; JPN never.
    applications = Applications(
        first={"USA": {("ROK", 7, 1_000 * MS): 1_012 * MS}, "JPN": {}},
        numbers={("ROK", "1"): 7},
    )
    offered = [
        Offered("ROK", ("1",), 1_000 * MS, "accepted"),
        Offered("ROK", ("1",), 1_100 * MS, "unsent"),
    ]
    latencies, missing = applications.latencies_ms(federation, offered, until_ns=1_500 * MS)
    assert latencies == {"USA": [12.0, 400.0], "JPN": [500.0, 400.0]}
    assert missing == {"USA": 1, "JPN": 2}


class _SilentNode:
    """A node's HTTPS client whose node never answers (its loop is busy)."""

    closed = 0

    async def request(self, *args: object, **kwargs: object) -> tuple[int, bytes]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        _SilentNode.closed += 1


async def test_waiting_for_deliveries_ends_at_its_deadline_when_a_node_does_not_answer() -> None:
    class Fed:
        def operator(self, party: str) -> _SilentNode:
            return _SilentNode()

    arrived = await asyncio.wait_for(wait_received(Fed(), {"ROK": 1}, 0.1), 30)  # type: ignore[arg-type]
    assert arrived is False
    assert _SilentNode.closed >= 1


@pytest.mark.parametrize(("never_applied", "met"), [(0, True), (5, False)])
def test_the_soak_drift_counts_only_when_every_delivery_was_applied(
    never_applied: int, met: bool
) -> None:
    def row(p99_ms: float) -> dict[str, Any]:
        return {"p99_ms": p99_ms, "never_applied": never_applied, "rss_mb": {}}

    measured = soak.Measured([], 0, 1, [], Applications({}, {}), True, True)
    sizes = soak.Sizes(missiles=1, soak_s=1.0, warm_s=1.0, drain_s=1.0)
    federation = load_federation(default_federation_path())
    shown = {f.name: f for f in soak.figures([row(10.0), row(12.0)], measured, sizes, federation)}
    assert shown["soak.p99.last"].met is met


def test_the_heavy_benchmarks_run_only_when_named() -> None:
    assert set(ON_REQUEST) == {"soak", "scale"}
    assert not set(ON_REQUEST) & set(BENCHMARKS)


def test_bench_scale_runs_the_scale_benchmark_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []

    def run_suite(names: Any, **kwargs: Any) -> dict[str, Any]:
        asked.append((names, kwargs["quick"]))
        machine = {"platform": "p", "cpu_count": 2, "python": "3", "versions": {}}
        return {"benchmarks": [], "machine": machine, "wall_s": 0.0, "quick": True}

    monkeypatch.setattr(runner, "run_suite", run_suite)
    assert main(["bench", "scale", "--quick", "--out", str(tmp_path / "scale.json")]) == 0
    assert asked == [(["scale"], True)]


@pytest.mark.nats
@pytest.mark.slow
def test_a_tiny_salvo_applies_every_report_at_each_recipient() -> None:
    plan = salvo.Plan(3, (1.0,), (), 1.0, warm_s=120.0, drain_s=60.0)
    result = salvo.run(plan=plan)
    [step] = result.inputs["steps"]
    # 3 records from each party: ROK's and USA's to two recipients, JPN's to USA.
    assert step["records"]["accepted"] == 9
    assert step["deliveries"] == 15
    assert step["never_applied"] == {}
    names = {f.name for f in result.figures}
    assert {"salvo.p99.1x", "salvo.max_rate", "salvo.cpu.node.ROK", "salvo.cpu.relay.USA"} <= names
    assert {"salvo.cpu.nats.USA", "salvo.rss.node.JPN"} <= names
    for f in result.figures:
        assert f.value >= 0.0


@pytest.mark.nats
@pytest.mark.slow
def test_a_tiny_soak_sends_and_applies_all_it_offers() -> None:
    result = soak.run(sizes=soak.Sizes(missiles=1, soak_s=3.0, warm_s=120.0, drain_s=60.0))
    shown = {f.name: f for f in result.figures}
    assert shown["soak.sent"].met
    assert shown["soak.applied"].met
    assert shown["soak.offered"].value == pytest.approx(15.0)
    assert len(result.inputs["windows"]) == soak.WINDOWS


@pytest.mark.nats
@pytest.mark.slow
def test_a_tiny_scale_run_measures_each_role() -> None:
    sizes = scale.Sizes(tracks=2, track_hz=0.5, role_rate=4.0, phase_s=2.0, idle_s=1.0)
    result = scale.run(sizes=sizes)
    assert result.inputs["steady_never_applied"] == {}
    names = {f.name for f in result.figures}
    assert {"scale.sent", "scale.applied", "scale.rss.node.max (20 live tracks)"} <= names
    assert set(result.inputs["role_cpu_us"]) == {"sender", "relay", "receiver", "nats"}
