"""The simulation is a source like any other: it passes the source conformance suite."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
import pytest

from tests.conformance.source_suite import (
    T0,
    RecordingNode,
    SourceConformance,
    intake_for,
)
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.model.track_estimate import TrackEstimate
from warnlink.sim.scenario import Scenario, simulate_party
from warnlink.sim.trajectory import Trajectory
from warnlink.sources.base import IngestAnswer
from warnlink.sources.intake import Intake
from warnlink.sources.simulation import SIMULATION_SOURCE, SimulatedSource, record_of


class SimulationDriver:
    """The simulation's wire is a function call: records go to the intake as they are."""

    name = SIMULATION_SOURCE
    carries_covariance = True
    position_m = 0.0
    velocity_mps = 0.0
    time_ns = 0

    def __init__(self) -> None:
        self.intake: Intake
        self.node: RecordingNode
        self.intake, self.node = intake_for()

    async def send(self, records: Sequence[SourceRecord]) -> IngestAnswer:
        return await self.intake.take(self.name, records)

    async def send_malformed(self) -> IngestAnswer:
        from tests.conformance.source_suite import track

        (bad,) = track("X", n=1)
        return await self.intake.take(self.name, [msgspec.structs.replace(bad, source="other")])


class TestSimulationSource(SourceConformance):
    @pytest.fixture
    def driver(self) -> SimulationDriver:
        return SimulationDriver()


@pytest.fixture(scope="module")
def estimates(default_scenario: Scenario, default_trajectory: Trajectory) -> list[TrackEstimate]:
    trajectories = {default_scenario.launches[0].id: default_trajectory}
    return simulate_party(default_scenario, trajectories, "ROK", np.random.default_rng(3))


def test_records_are_in_absolute_utc_and_simulated(estimates: list[TrackEstimate]) -> None:
    source = SimulatedSource("ROK", estimates, T0)
    due = source.due(T0 + 10_000 * NS_PER_S)
    assert len(due) == len(estimates) == len(source)
    first = estimates[0]
    record = due[0].record
    assert record.epoch_ns == T0 + round(first.time_s * NS_PER_S)
    assert due[0].available_ns == T0 + round(first.available_s * NS_PER_S)
    assert {d.record.data_mode for d in due} == {DataMode.SIMULATED}
    assert {d.record.source for d in due} == {SIMULATION_SOURCE}
    assert record == record_of(first, T0)


def test_records_fall_due_in_order_once_each(estimates: list[TrackEstimate]) -> None:
    source = SimulatedSource("ROK", estimates, T0)
    half = T0 + round(estimates[len(estimates) // 2].available_s * NS_PER_S)
    first = source.due(half)
    assert first
    assert all(d.available_ns <= half for d in first)
    assert source.next_due_ns is not None
    assert source.next_due_ns > half
    rest = source.due(T0 + 10**6 * NS_PER_S)
    assert len(first) + len(rest) == len(estimates)
    assert source.remaining == 0
    assert source.due(T0 + 10**7 * NS_PER_S) == []
    times = [d.available_ns for d in first + rest]
    assert times == sorted(times)
