"""A flown trajectory: sampled ECEF states with flight phases, and interpolation between samples.

Interpolation is the cubic Hermite spline through positions and velocities
(`physics.hermite`), exact to O(h^4) in position for smooth motion; the burnout instant
is a sample, so the thrust cut-off never falls inside an interval.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import FloatArray, ecef_to_lla, surface_distance_m
from warnlink.model.payloads import TERMINAL_ALTITUDE_M
from warnlink.physics.hermite import hermite_states

if TYPE_CHECKING:
    from warnlink.sim.launch import LaunchSpec


class Phase(IntEnum):
    """Flight phase of a ballistic missile."""

    BOOST = 0
    MIDCOURSE = 1
    TERMINAL = 2

    @property
    def label(self) -> str:
        """Lower-case name: ``"boost"``, ``"midcourse"``, ``"terminal"``."""
        return self.name.lower()


def phases_of(pos_ecef_m: FloatArray, burnout_index: int) -> tuple[NDArray[np.int8], FloatArray]:
    """Phase codes (K,) and geodetic heights (K,) of samples of one flight.

    Boost up to and including the burnout sample; terminal once past apogee and below
    `TERMINAL_ALTITUDE_M`; midcourse in between.
    """
    _, _, alt = ecef_to_lla(pos_ecef_m)
    phase = np.full(alt.shape, Phase.MIDCOURSE, dtype=np.int8)
    phase[: burnout_index + 1] = Phase.BOOST
    after_apogee = np.arange(alt.size) > int(np.argmax(alt))
    phase[after_apogee & (alt < TERMINAL_ALTITUDE_M)] = Phase.TERMINAL
    return phase, alt


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One flight from launch to impact, sampled at <= 1 s.

    Attributes:
        t_s: (K,) seconds since launch.
        pos_ecef_m: (K, 3) ECEF positions.
        vel_ecef_mps: (K, 3) velocities relative to the rotating Earth.
        phase: (K,) `Phase` codes.
        burnout_index: index of the burnout sample.
        impact_time_s: seconds from launch to impact (the last sample).
        impact_lat_deg, impact_lon_deg: geodetic impact point.
        apogee_m: highest geodetic height of the samples.
        range_m: great-circle ground range from launch to impact (mean sphere).
        spec: the launch request that was flown.
    """

    t_s: FloatArray
    pos_ecef_m: FloatArray
    vel_ecef_mps: FloatArray
    phase: NDArray[np.int8]
    burnout_index: int
    impact_time_s: float
    impact_lat_deg: float
    impact_lon_deg: float
    apogee_m: float
    range_m: float
    spec: LaunchSpec

    @property
    def launch_time_s(self) -> float:
        """Launch time in seconds after the scenario epoch."""
        return self.spec.launch_offset_s

    @property
    def burnout_time_s(self) -> float:
        return float(self.t_s[self.burnout_index])

    def states_at(self, t_s: FloatArray) -> FloatArray:
        """ECEF states (M, 6) at times (M,) since launch, by cubic Hermite interpolation.

        Raises:
            PhysicsError: if a time is outside [0, impact_time_s].
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        if np.any(t < self.t_s[0]) or np.any(t > self.t_s[-1]):
            raise PhysicsError(f"time outside the flight [0, {self.impact_time_s:.1f}] s")
        return hermite_states(self.t_s, self.pos_ecef_m, self.vel_ecef_mps, t)

    def state_at(self, t_s: float) -> FloatArray:
        """ECEF state (6,) at `t_s` seconds since launch (see `states_at`)."""
        return np.asarray(self.states_at(np.array([t_s]))[0], dtype=np.float64)

    def phases_at(self, t_s: FloatArray) -> NDArray[np.int8]:
        """Phase codes (M,) at times since launch (phase of the sample at or before each time)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        i = np.clip(np.searchsorted(self.t_s, t, side="right") - 1, 0, self.t_s.size - 1)
        return self.phase[i]


def nearest_flight(
    flights: Collection[Trajectory], impact: tuple[float, float] | None
) -> Trajectory | None:
    """The flight whose true impact point is nearest a predicted one (lat, lon, degrees):
    the truth an impact prediction is judged against. Without a prediction, the only
    flight if there is one, else None."""
    if not flights:
        return None
    if impact is None:
        return next(iter(flights)) if len(flights) == 1 else None
    lat, lon = impact
    return min(
        flights,
        key=lambda t: float(surface_distance_m(lat, lon, t.impact_lat_deg, t.impact_lon_deg)),
    )
