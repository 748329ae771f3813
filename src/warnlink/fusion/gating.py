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

`distances2` computes d^2 of one track against many at once (numpy, batched 3x3 solves),
from `GateState`s unpacked once per track; `track_distance2` is its one-pair form.
`surely_gated` is an upper bound of d^2 in plain floats, for the per-report split check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.geo.wgs84 import A_M, GM_M3_S2, J2, OMEGA_EARTH_RAD_S, FloatArray
from warnlink.model import Phase, TrackReport
from warnlink.model.covariance import unpack_covariance
from warnlink.model.time import NS_PER_S
from warnlink.physics.dynamics import DRAG_CEILING_M, ForceModel, acceleration

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


@dataclass(frozen=True, slots=True)
class GateState:
    """A track report made ready for gating once, when it arrives.

    `row` packs what the gate reads: position (m), velocity (m/s), acceleration at the
    state (m/s^2), the position covariance block P_pp, P_pv + P_vp and P_vv (m^2, m^2/s,
    m^2/s^2, each 3x3 row by row) and the process noise (m^2/s^3): 37 numbers.
    """

    epoch: int
    row: FloatArray


def gate_state(track: TrackReport) -> GateState:
    """`track` unpacked for `distances2`: its covariance and acceleration computed once."""
    mean, cov = state_of(track)
    acc = acceleration(mean[None, :3], mean[None, 3:], _DRAG_MODEL)[0]
    cross = cov[:3, 3:] + cov[3:, :3]
    row = np.concatenate(
        [mean, acc, cov[:3, :3].ravel(), cross.ravel(), cov[3:, 3:].ravel(), [_noise(track)]]
    )
    return GateState(track.epoch, row)


def distances2(mine: GateState, others: Sequence[GateState]) -> FloatArray:
    """Squared Mahalanobis distances of `mine` to each of `others`, at the later epoch of
    each pair (the older state extrapolated as in `extrapolate`); NaN where the epochs are
    more than `MAX_GAP_S` apart. One batched computation over all of `others`."""
    table = np.stack([mine.row, *(o.row for o in others)])
    epochs = np.array([mine.epoch, *(o.epoch for o in others)], dtype=np.int64)
    dt_s = (epochs[1:] - epochs[0]) / NS_PER_S
    # One side of each pair moves forward: `mine` by dt_s > 0, the other by -dt_s > 0.
    step = np.stack([np.maximum(dt_s, 0.0), np.maximum(-dt_s, 0.0)])[..., None]
    ours = np.broadcast_to(table[0], (len(others), table.shape[1]))
    ends = [_position_at(side, step[k]) for k, side in enumerate((ours, table[1:]))]
    delta = ends[0][0] - ends[1][0]
    combined = ends[0][1] + ends[1][1]
    d2 = np.einsum("ni,ni->n", delta, np.linalg.solve(combined, delta[..., None])[..., 0])
    return np.where(np.abs(dt_s) > MAX_GAP_S, np.nan, d2)


def _position_at(rows: FloatArray, dt_s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Positions (n, 3) and their covariances (n, 3, 3) `dt_s` (n, 1) >= 0 later."""
    pos, vel, acc = rows[:, 0:3], rows[:, 3:6], rows[:, 6:9]
    pos_cov, cross, vel_cov = (rows[:, a : a + 9].reshape(-1, 3, 3) for a in (9, 18, 27))
    t = dt_s[..., None]
    noise = (rows[:, 36:37] * dt_s**3 / 3.0)[..., None] * np.eye(3)
    cov = pos_cov + t * cross + t**2 * vel_cov + noise
    return pos + vel * dt_s + 0.5 * acc * dt_s**2, cov


def track_distance2(a: TrackReport, b: TrackReport) -> float | None:
    """Squared Mahalanobis distance of two tracks' positions at the later epoch.

    None when their epochs are more than `MAX_GAP_S` apart (no comparison is made).
    """
    (d2,) = distances2(gate_state(a), [gate_state(b)])
    return None if np.isnan(d2) else float(d2)


def surely_gated(a: TrackReport, b: TrackReport) -> bool:
    """Whether `track_distance2(a, b)` is certainly within `GATE_CHI2_3DOF`, by a bound
    cheap enough to run on every report (plain floats, no extrapolation).

    With the older state extrapolated by t = |dt| seconds, d^2 <= |miss|^2 / lambda_min(S)
    where |miss| <= |p_old + v_old t - p_new| + |acc_old| t^2 / 2 and lambda_min(S) >=
    lambda_min(P_pp,new) + q_old t^3 / 3 (the other terms of S are positive semi-definite).
    |acc_old| is bounded by the J2 gravity (GM / r^2 (1 + 6 J2 a^2 / r^2)), Coriolis
    (2 w |v|) and centrifugal (w^2 r) terms of `physics.dynamics.acceleration`; only above
    `DRAG_CEILING_M`, where that leaves drag out. False means "not known": use the gate.
    """
    dt_s = (b.epoch - a.epoch) / NS_PER_S
    older, newer = (a, b) if dt_s >= 0 else (b, a)
    t = abs(dt_s)
    r = math.hypot(*older.pos)
    if t > MAX_GAP_S or r <= A_M + DRAG_CEILING_M:
        return False
    omega = OMEGA_EARTH_RAD_S
    acc_bound = GM_M3_S2 / r**2 * (1.0 + 6.0 * J2 * A_M**2 / r**2)
    acc_bound += 2.0 * omega * math.hypot(*older.vel) + omega**2 * r
    drift = [p + v * t - q for p, v, q in zip(older.pos, older.vel, newer.pos, strict=True)]
    miss_m = math.hypot(*drift) + 0.5 * acc_bound * t**2
    floor = _smallest_position_variance(newer) + _noise(older) * t**3 / 3.0
    return floor > 0.0 and miss_m**2 <= GATE_CHI2_3DOF * floor * (1.0 - 1e-9)


def _smallest_position_variance(track: TrackReport) -> float:
    """Smallest eigenvalue of the position covariance, m^2 (closed form for a symmetric
    3x3: Smith, "Eigenvalues of a symmetric 3 x 3 matrix", CACM 4(4), 1961)."""
    if track.cov is None:
        return DEFAULT_POSITION_SIGMA_M**2
    c = track.cov  # packed upper triangle of the 6x6, row by row
    a11, a12, a13, a22, a23, a33 = c[0], c[1], c[2], c[6], c[7], c[11]
    off = a12**2 + a13**2 + a23**2
    if off == 0.0:
        return min(a11, a22, a33)
    mean = (a11 + a22 + a33) / 3.0
    spread = math.sqrt(((a11 - mean) ** 2 + (a22 - mean) ** 2 + (a33 - mean) ** 2 + 2 * off) / 6)
    b11, b22, b33 = ((x - mean) / spread for x in (a11, a22, a33))
    b12, b13, b23 = (x / spread for x in (a12, a13, a23))
    half_det = (
        b11 * (b22 * b33 - b23**2) - b12 * (b12 * b33 - b23 * b13) + b13 * (b12 * b23 - b22 * b13)
    ) / 2.0
    angle = math.acos(min(1.0, max(-1.0, half_det))) / 3.0
    return mean + 2.0 * spread * math.cos(angle + 2.0 * math.pi / 3.0)


def _noise(track: TrackReport) -> float:
    match track.phase:
        case Phase.BOOST:
            return BOOST_PROCESS_NOISE_M2_S3
        case Phase.TERMINAL:
            return TERMINAL_PROCESS_NOISE_M2_S3
        case _:
            return PROCESS_NOISE_M2_S3
