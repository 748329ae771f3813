"""The conformance suite every source adapter runs: what reaches the node is what was sent.

A source adapter (the simulation, UDL over HTTPS and NATS, CoT over TLS) is driven by a
`SourceDriver` that knows its wire: `send` encodes records the way a national system
would and puts them through the adapter into a real `Intake` (journal in memory, a node
that records what it is handed). Subclass `SourceConformance` with a `driver` fixture.

What every adapter must do: deliver each record under the source's registered name and
party, in order, with its data mode, its epoch, position and velocity (to the wire's
precision: the driver's tolerances) and its covariance where the wire carries one;
refuse a malformed input with a typed refusal and deliver nothing of it; acknowledge a
repeat without handing it over twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
import numpy as np
import pytest

from warnlink.counters import Counters
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S, Clock, ManualClock
from warnlink.sources.base import REASONS, IngestAnswer
from warnlink.sources.intake import Intake
from warnlink.sources.journal import MemoryJournal

T0 = 1_800_000_000 * NS_PER_S
PARTY = "ROK"


@dataclass
class RecordingNode:
    """The node behind the intake: what it was handed, in order."""

    ingested: list[SourceRecord] = field(default_factory=list)

    async def ingest(self, record: SourceRecord, track_number: int) -> None:
        self.ingested.append(record)

    def restore(self, record: SourceRecord, track_number: int) -> None:
        pass

    async def settle(self) -> None:
        pass


def intake_for(party: str = PARTY, clock: Clock | None = None) -> tuple[Intake, RecordingNode]:
    """A real intake (memory journal) in front of a node that records what it is handed."""
    node = RecordingNode()
    intake = Intake(
        party,
        MemoryJournal(),
        node,
        clock or ManualClock(T0 + 30 * NS_PER_S),
        window_s=300.0,
        counters=Counters(),
    )
    return intake, node


class SourceDriver(Protocol):
    """Drives one source adapter through its own wire."""

    #: The source's registered name: the records must arrive under it.
    name: str
    #: Whether the wire carries a full 6x6 covariance.
    carries_covariance: bool
    #: How closely the wire keeps a position (m), a velocity (m/s) and a time (ns).
    position_m: float
    velocity_mps: float
    time_ns: int
    intake: Intake
    node: RecordingNode

    async def send(self, records: Sequence[SourceRecord]) -> IngestAnswer:
        """Send `records` as the national system would, as one batch where the wire has
        batches; the intake's answer."""
        ...

    async def send_malformed(self) -> IngestAnswer:
        """Send one input the adapter must refuse (not valid in its wire)."""
        ...


def track(track_id: str, mode: DataMode = DataMode.REAL, *, n: int = 3) -> list[SourceRecord]:
    """A short ballistic track of `n` states, 1 s apart, from 400 km up over the Sea of
    Japan, with a covariance."""
    pos = np.array([-3_200_000.0, 3_900_000.0, 4_300_000.0])
    vel = np.array([1_500.0, 1_200.0, -900.0])
    cov = np.diag([250.0**2] * 3 + [15.0**2] * 3)
    cov[0, 1] = cov[1, 0] = 1000.0
    upper = tuple(float(x) for x in cov[np.triu_indices(6)])
    return [
        SourceRecord(
            source="placeholder",
            party=PARTY,
            track_id=track_id,
            epoch_ns=T0 + i * NS_PER_S,
            data_mode=mode,
            pos_ecef_m=tuple(float(x) for x in pos + vel * i),  # type: ignore[arg-type]
            vel_ecef_mps=tuple(float(x) for x in vel),  # type: ignore[arg-type]
            phase=Phase.MIDCOURSE,
            quality=11,
            cov=upper,
            sensor="R-1",
        )
        for i in range(n)
    ]


class SourceConformance:
    """What every source adapter promises (see the module docstring)."""

    def _named(self, driver: SourceDriver, records: list[SourceRecord]) -> list[SourceRecord]:
        return [msgspec.structs.replace(r, source=driver.name) for r in records]

    def _same(self, driver: SourceDriver, got: SourceRecord, sent: SourceRecord) -> None:
        assert (got.source, got.party, got.track_id) == (driver.name, PARTY, sent.track_id)
        assert got.data_mode is sent.data_mode
        assert abs(got.epoch_ns - sent.epoch_ns) <= driver.time_ns
        assert math.dist(got.pos_ecef_m, sent.pos_ecef_m) <= driver.position_m
        assert math.dist(got.vel_ecef_mps, sent.vel_ecef_mps) <= driver.velocity_mps
        if driver.carries_covariance:
            assert got.cov is not None
            assert sent.cov is not None
            np.testing.assert_allclose(got.cov, sent.cov, rtol=1e-6, atol=1e-6)

    async def test_records_arrive_as_sent_in_order(self, driver: SourceDriver) -> None:
        sent = self._named(driver, track("T1") + track("T2"))
        answer = await driver.send(sent)
        assert (answer.accepted, answer.refused) == (len(sent), ())
        await driver.intake.drain()
        assert len(driver.node.ingested) == len(sent)
        by_track: dict[str, list[SourceRecord]] = {}
        for got in driver.node.ingested:
            by_track.setdefault(got.track_id, []).append(got)
        for track_id in ("T1", "T2"):
            expected = [r for r in sent if r.track_id == track_id]
            for got, want in zip(by_track[track_id], expected, strict=True):
                self._same(driver, got, want)

    @pytest.mark.parametrize("mode", list(DataMode))
    async def test_the_data_mode_comes_through(self, driver: SourceDriver, mode: DataMode) -> None:
        sent = self._named(driver, track(f"M-{mode}", mode, n=1))
        assert (await driver.send(sent)).accepted == 1
        await driver.intake.drain()
        (got,) = driver.node.ingested
        assert got.data_mode is mode

    async def test_a_malformed_input_is_refused_typed_and_nothing_arrives(
        self, driver: SourceDriver
    ) -> None:
        answer = await driver.send_malformed()
        assert answer.accepted == 0
        assert answer.refused
        assert all(r.reason in REASONS for r in answer.refused)
        await driver.intake.drain()
        assert driver.node.ingested == []

    async def test_a_repeat_is_acknowledged_and_handed_over_once(
        self, driver: SourceDriver
    ) -> None:
        sent = self._named(driver, track("R1", n=2))
        await driver.send(sent)
        again = await driver.send(sent)
        assert (again.accepted, again.duplicates) == (0, len(sent))
        await driver.intake.drain()
        assert len(driver.node.ingested) == len(sent)
