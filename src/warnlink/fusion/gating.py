"""Statistical gating of two originators' tracks at a common time.

Model: the older state is brought to the newer one's epoch by a second-order Taylor
step of the rotating-frame J2 equations with drag (x' = x + v dt + a dt^2 / 2,
v' = v + a dt, with a from `physics.dynamics.acceleration`), good to a few hundred metres
over the 60 s allowed; its covariance by the constant-velocity transition
F = [[I, dt I], [0, I]] plus white-acceleration process noise of spectral density
`PROCESS_NOISE_M2_S3` (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to
Tracking and Navigation*, 2001, §6.2.2), which also covers the Taylor step's error. Track
reports do not carry the ballistic coefficient, so drag is taken at
`ASSUMED_BALLISTIC_COEFFICIENT_KG_M2`, and a state in its terminal phase (where the real
coefficient decides the deceleration, up to tens of g) gets `TERMINAL_PROCESS_NOISE_M2_S3`;
a state in boost gets `BOOST_PROCESS_NOISE_M2_S3`, since its thrust is not modelled. The squared
Mahalanobis distance of the positions, d^2 = dp^T (P_a + P_b)^-1 dp, is compared with
the chi-square (3 degrees of freedom) 99.9% point. A track whose originator withheld
its covariance is given `DEFAULT_POSITION_SIGMA_M` and `DEFAULT_VELOCITY_SIGMA_MPS`.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from warnlink.geo.wgs84 import FloatArray
from warnlink.model import Phase, TrackReport
from warnlink.model.covariance import unpack_covariance
from warnlink.model.time import NS_PER_S
from warnlink.physics.dynamics import ForceModel, acceleration

GATE_CHI2_3DOF: Final = 16.27
"""chi-square 99.9% point for 3 degrees of freedom."""
MAX_GAP_S: Final = 60.0
PROCESS_NOISE_M2_S3: Final = 100.0
BOOST_PROCESS_NOISE_M2_S3: Final = 15_000.0
"""For a state in boost: unmodelled thrust of ~30 m/s^2 gives ~6 km in 20 s."""
TERMINAL_PROCESS_NOISE_M2_S3: Final = 5_000.0
"""For a terminal state: a deceleration error of ~100 m/s^2 over 8 s is ~1 km, 1 sigma."""
ASSUMED_BALLISTIC_COEFFICIENT_KG_M2: Final = 10_000.0
"""Drag assumed for other originators' tracks (generic re-entry vehicle, mid-range)."""
_DRAG_MODEL: Final = ForceModel(ballistic_coefficient_kg_m2=ASSUMED_BALLISTIC_COEFFICIENT_KG_M2)
DEFAULT_POSITION_SIGMA_M: Final = 5_000.0
DEFAULT_VELOCITY_SIGMA_MPS: Final = 200.0


def state_of(track: TrackReport) -> tuple[FloatArray, FloatArray]:
    """Mean (6,) and covariance (6, 6) of a track report (default covariance if withheld)."""
    mean = np.array([*track.pos, *track.vel], dtype=np.float64)
    if track.cov is None:
        variances = [DEFAULT_POSITION_SIGMA_M**2] * 3 + [DEFAULT_VELOCITY_SIGMA_MPS**2] * 3
        return mean, np.diag(variances)
    return mean, unpack_covariance(track.cov)


def extrapolate(
    mean: FloatArray, cov: FloatArray, dt_s: float, *, q: float = PROCESS_NOISE_M2_S3
) -> tuple[FloatArray, FloatArray]:
    """Bring a state `dt_s` seconds forward (or back) in time; see the module docstring."""
    pos, vel = mean[:3], mean[3:]
    acc = acceleration(pos[None, :], vel[None, :], _DRAG_MODEL)[0]
    new_mean = np.concatenate([pos + vel * dt_s + 0.5 * acc * dt_s**2, vel + acc * dt_s])
    transition = np.eye(6)
    transition[:3, 3:] = dt_s * np.eye(3)
    t = abs(dt_s)
    noise = np.zeros((6, 6))
    noise[:3, :3] = q * t**3 / 3.0 * np.eye(3)
    noise[:3, 3:] = noise[3:, :3] = q * t**2 / 2.0 * np.eye(3)
    noise[3:, 3:] = q * t * np.eye(3)
    return new_mean, transition @ cov @ transition.T + noise


def track_distance2(a: TrackReport, b: TrackReport) -> float | None:
    """Squared Mahalanobis distance of two tracks' positions at the later epoch.

    None when their epochs are more than `MAX_GAP_S` apart (no comparison is made).
    """
    dt_s = (b.epoch - a.epoch) / NS_PER_S
    if abs(dt_s) > MAX_GAP_S:
        return None
    (mean_a, cov_a), (mean_b, cov_b) = state_of(a), state_of(b)
    if dt_s >= 0:
        mean_a, cov_a = extrapolate(mean_a, cov_a, dt_s, q=_noise(a))
    else:
        mean_b, cov_b = extrapolate(mean_b, cov_b, -dt_s, q=_noise(b))
    delta = mean_a[:3] - mean_b[:3]
    combined = cov_a[:3, :3] + cov_b[:3, :3]
    return float(delta @ np.linalg.solve(combined, delta))


def _noise(track: TrackReport) -> float:
    match track.phase:
        case Phase.BOOST:
            return BOOST_PROCESS_NOISE_M2_S3
        case Phase.TERMINAL:
            return TERMINAL_PROCESS_NOISE_M2_S3
        case _:
            return PROCESS_NOISE_M2_S3
