"""A national tracker's report of one missile at one instant: state, covariance, quality.

A value shared by the simulators (which produce it) and the estimators (which consume it).
ECEF, SI units; times are seconds after the scenario epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, eq=False)
class TrackEstimate:
    """One track report.

    Attributes:
        time_s: event time: when the underlying measurement was taken, s after the epoch.
        pos_ecef_m: (3,) estimated ECEF position, m.
        vel_ecef_mps: (3,) estimated velocity relative to the rotating Earth, m/s.
        cov: (6, 6) covariance of (position, velocity), m^2, m^2/s, m^2/s^2.
        phase: ``"boost"``, ``"midcourse"`` or ``"terminal"``.
        quality: 0 (worst) to 15 (best), from the position uncertainty.
        sensor: name of the sensor whose measurement produced the report.
        track_number: the reporting party's number for this track.
        party: the reporting party.
        available_s: publication time, s after the epoch: event time plus sensor latency.
        ballistic_coefficient_kg_m2: estimated beta = m / (Cd A) of the body, kg/m^2, when
            the tracker estimates drag (None otherwise); `cov` stays the (position,
            velocity) marginal.
        ballistic_coefficient_sigma_kg_m2: its 1-sigma, kg/m^2 (None with it).
    """

    time_s: float
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    cov: NDArray[np.float64]
    phase: str
    quality: int
    sensor: str
    track_number: int
    party: str
    available_s: float
    ballistic_coefficient_kg_m2: float | None = None
    ballistic_coefficient_sigma_kg_m2: float | None = None

    @property
    def state(self) -> NDArray[np.float64]:
        """(6,) position and velocity stacked."""
        return np.concatenate([self.pos_ecef_m, self.vel_ecef_mps])


def quality_from_sigma(sigma_m: float) -> int:
    """Track quality 0-15 from the largest 1-sigma position error: 15 at <= 25 m, -2 per 2x."""
    q = 15.0 - 2.0 * math.log2(max(sigma_m, 1e-3) / 25.0)
    return int(min(15, max(0, round(q))))
