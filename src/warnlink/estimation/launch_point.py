"""Launch point and launch time estimation (LPE) from the earliest boost-phase track reports.

Model (an honest first approximation; issue 3 will fit a boost model instead): the missile
rises from rest at the launch time t0. With constant acceleration the geodetic height would
be h(t) = a_h (t - t0)^2 / 2, sqrt(h) a straight line in t with root t0; as the booster
lightens its acceleration grows, so sqrt(h) is fitted as a quadratic in t (the straight line
plus a slowly growing correction) and t0 is its rising root before the first report. The
horizontal position on the tangent plane below the first report (east e, north n) is then
e(t) = e0 + k_e (t - t0)^q: the pitch-over tilts a growing thrust, so the displacement
grows faster than (t - t0)^2; the power q in [2, 5] is chosen by chi-square (profiled) and the
fit is linear in (e0, k_e) for given t0 and q. Both fits are weighted least
squares over the earliest boost reports, weights from the reports' covariances projected on
the local up, east and north (reports treated as independent; var(sqrt h) = var(h) / (4 h)).
The curvature term costs variance: with reports starting tens of seconds after launch, t0 is
uncertain by seconds, and the stated sigma says so.

Uncertainty: each fit's coefficient covariance, inflated by its reduced chi-square when above
1 (to absorb model error), carried linearly: var(t0) = var(s(t0)) / s'(t0)^2 for the height
quadratic s; the launch point adds the change of (e0, n0) over +-1 sigma of t0 and over the
powers q within chi-square + 1 of the best. `sigma_m` is the DRMS: the root of the sum of
the east and north variances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.estimation.impact import sigma_points
from warnlink.geo.wgs84 import (
    FloatArray,
    ecef_to_lla,
    enu_rotation,
    lla_to_ecef,
    surface_distance_m,
)
from warnlink.model.track_estimate import TrackEstimate
from warnlink.physics.dynamics import FULL_MODEL, acceleration
from warnlink.physics.propagate import approx_altitude_m, rk4_step

EXPONENTS = tuple(np.arange(2.0, 5.01, 0.25))
"""Powers q of (t - t0) tried for the horizontal displacement during boost."""
MIN_REPORTS = 3
MAX_REPORTS = 10
"""At most this many of the earliest boost reports are used: the quadratic holds only early."""


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


def _weighted_fit(
    design: FloatArray, values: FloatArray, variances: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Weighted least squares: coefficients and their covariance, chi-square inflated."""
    weights = 1.0 / variances
    try:
        coef_cov = np.asarray(np.linalg.inv(design.T @ (design * weights[:, None])), np.float64)
    except np.linalg.LinAlgError as exc:
        raise PhysicsError("boost reports too few or too close in time for the fit") from exc
    coef: FloatArray = coef_cov @ (design.T @ (weights * values))
    dof = values.size - design.shape[1]
    if dof > 0:
        chi2 = float(np.sum(weights * (values - design @ coef) ** 2))
        coef_cov = coef_cov * max(1.0, chi2 / dof)
    return coef, coef_cov


def _ground_point(
    tau: FloatArray, enu: FloatArray, var_e: FloatArray, var_n: FloatArray, t0: float
) -> tuple[FloatArray, float]:
    """(e0, n0) of e(t) = e0 + k (t - t0)^q fits and their variance, profiling q.

    q runs over `EXPONENTS`; the best q by total chi-square gives the point, and the spread of
    points whose chi-square is within 1 of the best (profile likelihood, 1 sigma) is added
    to the statistical variance.
    """
    fits: list[tuple[float, FloatArray, float]] = []
    for q in EXPONENTS:
        design = np.stack([np.ones_like(tau), np.clip(tau - t0, 0.0, None) ** q], axis=1)
        point = np.empty(2)
        variance = 0.0
        chi2 = 0.0
        for axis, variances in ((0, var_e), (1, var_n)):
            coef, coef_cov = _weighted_fit(design, enu[:, axis], variances)
            point[axis] = coef[0]
            variance += float(coef_cov[0, 0])
            chi2 += float(np.sum((enu[:, axis] - design @ coef) ** 2 / variances))
        fits.append((chi2, point, variance))
    best_chi2, best_point, best_variance = min(fits, key=lambda f: f[0])
    near = np.stack([p for c, p, _ in fits if c <= best_chi2 + 1.0])
    spread = float(np.max(np.sum((near - best_point) ** 2, axis=1)))
    return best_point, best_variance + spread


def estimate_launch(estimates: Sequence[TrackEstimate]) -> LaunchEstimate:
    """Estimate launch point and time from boost-phase reports (any order, one missile).

    Raises:
        PhysicsError: with fewer than 3 boost reports, or when the fitted height does not
            rise with time.
    """
    boost = sorted((e for e in estimates if e.phase == "boost"), key=lambda e: e.time_s)
    boost = boost[:MAX_REPORTS]
    if len(boost) < MIN_REPORTS:
        raise PhysicsError(
            f"launch estimation needs >= {MIN_REPORTS} boost reports, got {len(boost)}"
        )
    t_ref = boost[0].time_s
    tau = np.array([e.time_s - t_ref for e in boost])
    pos = np.stack([e.pos_ecef_m for e in boost])
    lat, lon, alt = ecef_to_lla(pos)
    origin_lat, origin_lon = float(lat[0]), float(lon[0])
    plane = enu_rotation(origin_lat, origin_lon)
    origin = lla_to_ecef(origin_lat, origin_lon, 0.0)
    enu = (pos - origin) @ plane.T
    var_e = np.array([plane[0] @ e.cov[:3, :3] @ plane[0] for e in boost])
    var_n = np.array([plane[1] @ e.cov[:3, :3] @ plane[1] for e in boost])
    ups = [enu_rotation(float(a), float(b))[2] for a, b in zip(lat, lon, strict=True)]
    var_h = np.array([u @ e.cov[:3, :3] @ u for u, e in zip(ups, boost, strict=True)])

    height = np.maximum(alt, 1.0)
    curve, curve_cov = _weighted_fit(
        np.stack([np.ones_like(tau), tau, tau * tau], axis=1),
        np.sqrt(height),
        var_h / (4.0 * height),
    )
    b0, b1, b2 = (float(c) for c in curve)
    t0 = _rising_root(b0, b1, b2)
    if t0 is None or t0 > 0.0:
        raise PhysicsError(
            "the fitted height does not rise from the ground before the first report"
        )
    g = np.array([1.0, t0, t0 * t0])
    time_sigma = math.sqrt(float(g @ curve_cov @ g)) / (b1 + 2.0 * b2 * t0)

    point, variance = _ground_point(tau, enu, var_e, var_n, t0)
    # Sensitivity of the point to t0 by a central difference kept before the first report
    # (a launch after it is meaningless), scaled to one sigma of t0.
    delta = min(time_sigma, 0.9 * abs(t0))
    if delta > 1e-3:
        early, _ = _ground_point(tau, enu, var_e, var_n, t0 - delta)
        late, _ = _ground_point(tau, enu, var_e, var_n, t0 + delta)
        variance += float(np.sum((0.5 * (late - early) * time_sigma / delta) ** 2))
    launch_lat, launch_lon, _ = ecef_to_lla(origin + plane.T @ np.array([*point, 0.0]))
    return LaunchEstimate(
        time_s=t_ref + t0,
        time_sigma_s=time_sigma,
        lat_deg=float(launch_lat),
        lon_deg=float(launch_lon),
        sigma_m=math.sqrt(variance),
    )


def _rising_root(c0: float, c1: float, c2: float) -> float | None:
    """The latest root of c0 + c1 t + c2 t^2 at which the polynomial is rising, or None."""
    if abs(c2) < 1e-15:
        return -c0 / c1 if c1 > 0.0 else None
    disc = c1 * c1 - 4.0 * c2 * c0
    if disc < 0.0:
        return None
    roots = ((-c1 - math.sqrt(disc)) / (2.0 * c2), (-c1 + math.sqrt(disc)) / (2.0 * c2))
    rising = [r for r in roots if c1 + 2.0 * c2 * r > 0.0]
    return max(rising) if rising else None


BACKTRACK_STEP_S = 1.0
BACKTRACK_MAX_S = 7200.0
BOOST_ALLOWANCE_S = 50.0
"""How much earlier than its ballistic origin a missile was launched, typically."""
BOOST_ALLOWANCE_SIGMA_S = 30.0
BACKTRACK_SIGMA_FLOOR_M = 10_000.0
BACKTRACK_SIGMA_PER_RANGE = 0.02


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
    (measured by flying the model and backtracking its true states). The estimate therefore
    moves the time `BOOST_ALLOWANCE_S` earlier and adds, in quadrature to the spread, a
    model error of `BOOST_ALLOWANCE_SIGMA_S` in time and max(10 km, 2% of the ground range
    from the origin to the predicted impact) in position (DRMS). A coarse estimate, and
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
    return LaunchEstimate(
        time_s=estimate.time_s - mean_back_s - BOOST_ALLOWANCE_S,
        time_sigma_s=math.sqrt(BOOST_ALLOWANCE_SIGMA_S**2 + spread_s2),
        lat_deg=float(lat),
        lon_deg=float(lon),
        sigma_m=math.sqrt(model_m**2 + spread_m2),
    )
