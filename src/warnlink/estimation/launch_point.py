"""Launch point and launch time estimation (LPE), from boost-phase track reports or backwards.

Rise model (`estimate_launch`), applied to one boost-phase state (position, velocity and
their covariance, e.g. from `warnlink.estimation.boost_tracker`): the missile left the
ground at rest at t0, rising at first vertically and pitching over slowly. If its vertical
acceleration grows as a power p of the time since launch tau = t - t0, its height is
h = v_up tau / (p + 2); if its horizontal acceleration grows as a power m, its horizontal
displacement from the launch point is d = v_horizontal tau / (m + 2). So

    tau = k_rise h / v_up,    launch point = ground point below the state - v_h tau / k_drift

with h the geodetic height, v_up and v_h the velocity along the local up and in the local
horizontal plane. tau is bounded by the rise from rest at a constant net acceleration
between `NET_ACCELERATION_MPS2` (sqrt(2 h / a)), which keeps it finite when v_up is poorly
known (two IR fixes 10 s apart give it to a few hundred m/s: the spread of tau then says
so). k_rise and k_drift are calibrated on the boost model of `warnlink.sim.launch`
(single stage, vertical rise then a linear pitch program, thrust growing as the propellant
burns): over the flights of the scenario files, from 3 km up to burnout, k_rise lay in
1.7-2.35 (2.0-2.2 below 40 km) and k_drift in 3.6-4.9 once the drift exceeded 1 km, more
below (where a drift of a few hundred metres hardly matters), measured by flying the
model. They are taken as uniform over `K_RISE` and `K_DRIFT`: a different boost (several
stages, a depressed flight) may lie outside, and the stated sigma would then be too small.

Uncertainty: the state's covariance carried through the model by the unscented transform
(the 13 sigma points of Julier & Uhlmann 2004, `warnlink.estimation.impact.sigma_points`),
plus each constant's uniform spread, (change over its range)^2 / 12, added in quadrature.
Each boost report gives an estimate; the one with the smallest horizontal DRMS (`sigma_m`,
root of the sum of the east and north variances) is returned, so one report is enough and
later ones refine it. Early reports are close to the ground (little to extrapolate) but
their velocity is poor; late ones are precise but far from the launch point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.estimation.impact import sigma_points
from warnlink.geo.wgs84 import (
    FloatArray,
    destination,
    ecef_to_lla,
    enu_rotation,
    initial_azimuth_deg,
    lla_to_ecef,
    surface_distance_m,
)
from warnlink.model.track_estimate import TrackEstimate
from warnlink.physics.dynamics import FULL_MODEL, acceleration
from warnlink.physics.propagate import approx_altitude_m, rk4_step

MAX_RISE_S: Final = 200.0
"""Longest time since launch the rise model is used for: the calibration's longest boost
(the lofted ICBM's, 180 s) and a margin."""
K_RISE: Final = (1.8, 2.4)
"""Range of k_rise = tau v_up / h (uniform)."""
K_DRIFT: Final = (3.4, 4.4)
"""Range of k_drift = tau |v_h| / d (uniform)."""
NET_ACCELERATION_MPS2: Final = (5.0, 80.0)
"""Bounds of the mean net upward acceleration since launch, which bound tau."""


@dataclass(frozen=True, slots=True)
class LaunchEstimate:
    """Estimated launch point and time.

    Attributes:
        time_s: launch time, s after the scenario epoch.
        time_sigma_s: 1-sigma of the launch time.
        lat_deg, lon_deg: launch point, WGS-84 geodetic.
        sigma_m: horizontal DRMS error of the launch point, m.
    """

    time_s: float
    time_sigma_s: float
    lat_deg: float
    lon_deg: float
    sigma_m: float


def _rise(
    states: FloatArray, plane: FloatArray, origin: FloatArray, k_rise: float, k_drift: float
) -> tuple[FloatArray, FloatArray]:
    """Launch points (N, 2) east/north of `origin` on its tangent plane, and tau (N,) of states."""
    lat, lon, height = ecef_to_lla(states[:, :3])
    height = np.maximum(np.atleast_1d(height), 0.0)
    ups = np.stack(
        [
            enu_rotation(float(a), float(b))[2]
            for a, b in zip(np.atleast_1d(lat), np.atleast_1d(lon), strict=True)
        ]
    )
    v_up = np.sum(states[:, 3:] * ups, axis=1)
    low = np.sqrt(2.0 * height / NET_ACCELERATION_MPS2[1])
    high = np.sqrt(2.0 * height / NET_ACCELERATION_MPS2[0])
    tau = np.clip(k_rise * height / np.maximum(v_up, 1e-3), low, high)
    ground = lla_to_ecef(np.atleast_1d(lat), np.atleast_1d(lon), np.zeros_like(height))
    v_h = states[:, 3:] - v_up[:, None] * ups
    points = ground - v_h * (tau / k_drift)[:, None]
    return (points - origin) @ plane[:2].T, tau


def launch_from_state(estimate: TrackEstimate) -> LaunchEstimate:
    """Launch point and time from one boost-phase state by the rise model (module docstring).

    Raises:
        PhysicsError: if the state is not above the ground, clearly falling (upward speed
            below zero by more than 3 sigma), or implies more than `MAX_RISE_S` since launch
            (a track first seen long after burnout that its boost filter still calls boost:
            outside the calibration, so left to `backtrack_launch`).
    """
    lat, lon, height = ecef_to_lla(estimate.pos_ecef_m)
    up = enu_rotation(float(lat), float(lon))[2]
    v_up_sigma = math.sqrt(max(float(up @ estimate.cov[3:, 3:] @ up), 0.0))
    if float(height) <= 0.0 or float(up @ estimate.vel_ecef_mps) + 3.0 * v_up_sigma <= 0.0:
        raise PhysicsError(f"state at t={estimate.time_s:.1f} s is not rising above the ground")
    plane = enu_rotation(float(lat), float(lon))
    origin = lla_to_ecef(float(lat), float(lon), 0.0)
    mid_rise, mid_drift = sum(K_RISE) / 2.0, sum(K_DRIFT) / 2.0
    points, weights = sigma_points(estimate.state, np.asarray(estimate.cov, dtype=np.float64))
    spread_en, spread_tau = _rise(points, plane, origin, mid_rise, mid_drift)
    point = weights @ spread_en
    tau = float(weights @ spread_tau)
    variance = float(weights @ np.sum((spread_en - point) ** 2, axis=1))
    tau_variance = float(weights @ (spread_tau - tau) ** 2)
    centre = estimate.state[None, :]
    for rise, drift in ((K_RISE, (mid_drift, mid_drift)), ((mid_rise, mid_rise), K_DRIFT)):
        (a, b), (ta, tb) = zip(
            *(_rise(centre, plane, origin, r, d) for r, d in zip(rise, drift, strict=True)),
            strict=True,
        )
        variance += float(np.sum((a - b) ** 2)) / 12.0
        tau_variance += float((ta - tb)[0] ** 2) / 12.0
    if tau > MAX_RISE_S:
        raise PhysicsError(
            f"state at t={estimate.time_s:.1f} s implies {tau:.0f} s since launch, beyond "
            f"the {MAX_RISE_S:.0f} s of boost the rise model is calibrated for"
        )
    launch_lat, launch_lon, _ = ecef_to_lla(origin + plane[:2].T @ point)
    return LaunchEstimate(
        time_s=estimate.time_s - tau,
        time_sigma_s=math.sqrt(tau_variance),
        lat_deg=float(launch_lat),
        lon_deg=float(launch_lon),
        sigma_m=math.sqrt(variance),
    )


def estimate_launch(estimates: Sequence[TrackEstimate]) -> LaunchEstimate:
    """The launch point and time with the smallest DRMS over the boost-phase reports given.

    Each boost report is taken through `launch_from_state`; reports of other phases and
    reports that are not rising above the ground are passed over.

    Raises:
        PhysicsError: if no boost report gives an estimate.
    """
    found: list[LaunchEstimate] = []
    for estimate in estimates:
        if estimate.phase != "boost":
            continue
        try:
            found.append(launch_from_state(estimate))
        except PhysicsError:
            continue
    if not found:
        raise PhysicsError("launch estimation needs a boost report rising above the ground")
    return min(found, key=lambda e: e.sigma_m)


BACKTRACK_STEP_S = 1.0
BACKTRACK_MAX_S = 7200.0
BOOST_ALLOWANCE_S = 50.0
"""How much earlier than its ballistic origin a missile was launched, typically."""
BOOST_ALLOWANCE_SIGMA_S = 30.0
BACKTRACK_SIGMA_FLOOR_M = 10_000.0
BACKTRACK_SIGMA_PER_RANGE = 0.02
BACKTRACK_SHIFT_PER_RANGE = 0.035
"""The ballistic origin lies uprange of the site by 2-4 % of the range: moved back by this."""


def backtrack_launch(
    estimate: TrackEstimate, *, impact_lat_deg: float, impact_lon_deg: float
) -> LaunchEstimate:
    """Launch point and time from one post-burnout state, for a track that missed the boost.

    Model: the state's 13 sigma points (unscented transform, `impact.sigma_points`) are
    propagated backwards (fixed-step RK4 with a negative step, in the same rotating-frame
    J2 vacuum equations as `physics.propagate`) to geodetic height 0; their weighted mean
    and spread give the ballistic origin and its state-noise uncertainty. That origin
    ignores thrust, so it lies uprange of the launch site and later than the launch. On the
    launch model of `sim.launch`, for flights of 300 to 3,700 km range (minimum-energy and
    lofted), the origin came 36 to 110 s after launch and 15 to 150 km from the site
    (measured by flying the model and backtracking its true states), uprange along the
    flight's azimuth by 3.7-4.2 % of the range from the origin to the impact for
    minimum-energy flights, 2 % for a lofted one. The estimate therefore moves the point
    `BACKTRACK_SHIFT_PER_RANGE` of that range towards the predicted impact and the time
    `BOOST_ALLOWANCE_S` earlier, and adds, in quadrature to the spread, a model error of
    `BOOST_ALLOWANCE_SIGMA_S` in time and max(10 km, 2% of the range) in position (DRMS).
    On true states 20 s after burnout of flights of 300 to 4,600 km this leaves errors
    within 1.4 sigma, where without the shift they were about 2 sigma. A coarse estimate, and
    said to be one: a party that saw the boost does far better with `estimate_launch`.

    Raises:
        PhysicsError: if a sigma point does not reach the ground within 2 h backwards.
    """

    def accel(pos: FloatArray, vel: FloatArray, _t: float | FloatArray) -> FloatArray:
        return acceleration(pos, vel, FULL_MODEL)

    mean = np.concatenate([estimate.pos_ecef_m, estimate.vel_ecef_mps]).astype(np.float64)
    points, weights = sigma_points(mean, np.asarray(estimate.cov, dtype=np.float64))
    pos, vel = points[:, :3].copy(), points[:, 3:].copy()
    height = approx_altitude_m(pos)
    ground = np.full_like(pos, np.nan)
    back_s = np.full(len(points), np.nan)
    elapsed = 0.0
    while np.isnan(back_s).any():
        if elapsed >= BACKTRACK_MAX_S:
            raise PhysicsError(
                f"state at t={estimate.time_s:.1f} s does not reach the ground backwards"
            )
        new_pos, new_vel = rk4_step(pos, vel, 0.0, -BACKTRACK_STEP_S, accel)
        new_height = approx_altitude_m(new_pos)
        landed = np.isnan(back_s) & (new_height <= 0.0)
        fraction = height[landed] / (height[landed] - new_height[landed])
        ground[landed] = pos[landed] + fraction[:, None] * (new_pos[landed] - pos[landed])
        back_s[landed] = elapsed + fraction * BACKTRACK_STEP_S
        pos, vel, height = new_pos, new_vel, new_height
        elapsed += BACKTRACK_STEP_S
    centre = weights @ ground
    lat, lon, _ = ecef_to_lla(centre)
    east_north = (ground - centre) @ enu_rotation(float(lat), float(lon))[:2].T
    spread_m2 = float(weights @ np.sum(east_north**2, axis=1))
    mean_back_s = float(weights @ back_s)
    spread_s2 = float(weights @ (back_s - mean_back_s) ** 2)
    range_m = float(surface_distance_m(lat, lon, impact_lat_deg, impact_lon_deg))
    model_m = max(BACKTRACK_SIGMA_FLOOR_M, BACKTRACK_SIGMA_PER_RANGE * range_m)
    downrange = initial_azimuth_deg(lat, lon, impact_lat_deg, impact_lon_deg)
    site_lat, site_lon = destination(lat, lon, downrange, BACKTRACK_SHIFT_PER_RANGE * range_m)
    return LaunchEstimate(
        time_s=estimate.time_s - mean_back_s - BOOST_ALLOWANCE_S,
        time_sigma_s=math.sqrt(BOOST_ALLOWANCE_SIGMA_S**2 + spread_s2),
        lat_deg=float(site_lat),
        lon_deg=float(site_lon),
        sigma_m=math.sqrt(model_m**2 + spread_m2),
    )
