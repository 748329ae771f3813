"""How far a track drifted from the state a product was derived from (`estimation.refresh`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from warnlink.estimation.refresh import drift_sigma
from warnlink.geo.wgs84 import FloatArray, lla_to_ecef
from warnlink.model.payloads import Phase
from warnlink.model.track_estimate import TrackEstimate
from warnlink.physics.propagate import propagate

COV = np.diag([100.0**2] * 3 + [5.0**2] * 3)
REVISIT_S = 6.0


def _start() -> FloatArray:
    """A midcourse state: 300 km up over the Sea of Japan, 3 km/s east and 1 km/s up."""
    pos = lla_to_ecef(40.0, 132.0, 300_000.0)
    up = pos / np.linalg.norm(pos)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    return np.concatenate([pos, 3_000.0 * east + 1_000.0 * up])


def _estimate(state: FloatArray, time_s: float, cov: FloatArray = COV) -> TrackEstimate:
    return TrackEstimate(
        time_s=time_s,
        pos_ecef_m=state[:3].copy(),
        vel_ecef_mps=state[3:].copy(),
        cov=cov,
        phase=Phase.MIDCOURSE.value,
        quality=10,
        sensor="ROK-R1",
        track_number=1,
        party="ROK",
        available_s=time_s,
    )


def _on_trajectory(count: int) -> list[TrackEstimate]:
    """`count` estimates REVISIT_S apart, exactly on one ballistic trajectory."""
    states = [_start()]
    for _ in range(count - 1):
        states.append(propagate(states[-1][None, :], 5.0, REVISIT_S)[0])
    return [_estimate(s, k * REVISIT_S) for k, s in enumerate(states)]


def test_drift_is_zero_on_the_trajectory_and_unmeasurable_backwards() -> None:
    first, second = _on_trajectory(2)
    a = np.concatenate([first.pos_ecef_m, first.vel_ecef_mps])
    b = np.concatenate([second.pos_ecef_m, second.vel_ecef_mps])
    assert drift_sigma(a, b, COV, REVISIT_S) == pytest.approx(0.0, abs=1e-6)
    assert drift_sigma(a, b, COV, -1.0) == math.inf
    assert drift_sigma(a, b, np.zeros((6, 6)), REVISIT_S) == math.inf
