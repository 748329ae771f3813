"""The built-in simulation as a source: each party's simulated national tracker.

`sim.scenario.simulate_party` gives a party's tracker's estimates in seconds after the
scenario's epoch, each with the time it becomes available (measurement time plus the
sensor's latency). `SimulatedSource` turns them into `SourceRecord`s in absolute UTC,
marked SIMULATED, and hands out those due by a given time, in the order they become
available: `warnlink demo` feeds them to each node's intake as its clock passes them,
and `warnlink feed` sends them to a running federation over the ports a real national
system would use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.geo.wgs84 import as_vector3
from warnlink.model.covariance import pack_covariance
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.model.track_estimate import TrackEstimate
from warnlink.sim.scenario import Scenario, simulate_party
from warnlink.sim.trajectory import Trajectory

#: The name the simulation's records carry as their source.
SIMULATION_SOURCE: Final = "simulation"


@dataclass(frozen=True, slots=True)
class DueRecord:
    """A record and when its source makes it available (UTC ns)."""

    available_ns: int
    record: SourceRecord


def record_of(
    estimate: TrackEstimate,
    epoch_ns: int,
    *,
    source: str = SIMULATION_SOURCE,
    data_mode: DataMode = DataMode.SIMULATED,
) -> SourceRecord:
    """One tracker estimate as a source record (its track number as the track id)."""
    return SourceRecord(
        source=source,
        party=estimate.party,
        track_id=str(estimate.track_number),
        epoch_ns=epoch_ns + round(estimate.time_s * NS_PER_S),
        data_mode=data_mode,
        pos_ecef_m=as_vector3(estimate.pos_ecef_m),
        vel_ecef_mps=as_vector3(estimate.vel_ecef_mps),
        phase=Phase(estimate.phase),
        quality=int(estimate.quality),
        cov=pack_covariance(estimate.cov),
        sensor=estimate.sensor or None,
        ballistic_coefficient_kg_m2=estimate.ballistic_coefficient_kg_m2,
        ballistic_coefficient_sigma_kg_m2=estimate.ballistic_coefficient_sigma_kg_m2,
    )


def simulate_trackers(
    scenario: Scenario,
    trajectories: Mapping[str, Trajectory],
    parties: Iterable[str],
    seed: int,
) -> dict[str, list[TrackEstimate]]:
    """Every party's simulated tracker's estimates (`sim.scenario.simulate_party`).

    The parties draw from one generator seeded with `seed`, in the order given (a
    federation's order): `warnlink demo` and `warnlink feed` draw the same noise for the
    same seed. A party without sensors in the scenario reports nothing.
    """
    rng = np.random.default_rng(seed)
    return {
        party: simulate_party(scenario, trajectories, party, rng)
        if party in scenario.parties
        else []
        for party in parties
    }


class SimulatedSource:
    """One party's simulated tracker, handing out its records as they fall due.

    Args:
        party: the party whose tracker it is.
        estimates: the tracker's estimates (`sim.scenario.simulate_party`).
        epoch_ns: the scenario's epoch, UTC ns (time 0 of the estimates).
        source: the name its records carry.
    """

    def __init__(
        self,
        party: str,
        estimates: Sequence[TrackEstimate],
        epoch_ns: int,
        *,
        source: str = SIMULATION_SOURCE,
    ) -> None:
        self.party = party
        self.name = source
        self._due = sorted(
            (
                DueRecord(
                    epoch_ns + round(e.available_s * NS_PER_S),
                    record_of(e, epoch_ns, source=source),
                )
                for e in estimates
            ),
            key=lambda d: d.available_ns,
        )
        self._next = 0

    def __len__(self) -> int:
        return len(self._due)

    @property
    def remaining(self) -> int:
        """Records not handed out yet."""
        return len(self._due) - self._next

    @property
    def next_due_ns(self) -> int | None:
        """When the next record falls due (None: none left)."""
        return self._due[self._next].available_ns if self.remaining else None

    def due(self, until_ns: int) -> list[DueRecord]:
        """The records falling due up to `until_ns` (inclusive) not handed out yet."""
        start = self._next
        while self._next < len(self._due) and self._due[self._next].available_ns <= until_ns:
            self._next += 1
        return self._due[start : self._next]
