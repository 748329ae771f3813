"""The ballistic UKF of `warnlink.estimation.ukf`, for N tracks at once.

Same model, same maths, same sigma points (Julier & Uhlmann 2004, kappa = 1): state
(N, 6) or (N, 7) (ECEF position m, velocity m/s, and for 7 the inverse ballistic
coefficient kappa, m^2/kg), covariances (N, n, n); sigma points shaped (N, 2n + 1, n).
The prediction flies all N (2n + 1) sigma points in one call of
`warnlink.physics.propagate.propagate` (RK4, J2, rotating frame, drag of each point's own
kappa) to a common time, dt_s ahead (a scan: every track predicted to the same instant);
the update takes one radar plot per track, each from its own radar (site and ENU
rotation per track), through `warnlink.sensors.radar.range_azimuth_elevation`. Process
noise, circular mean of the azimuth, angle wrapping and the Kalman update
K = P_xz S^-1, x+ = x + K nu, P+ = P - K S K^T are those of the single-track filter,
stacked with numpy; track i of the result equals the single-track filter run on track i
(to rounding: the tests hold it to 1e-9). Pure functions of arrays.
"""

from __future__ import annotations

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.estimation.impact import KAPPA, sigma_points
from warnlink.estimation.ukf import (
    AZIMUTH,
    DEFAULT_KAPPA_Q,
    DEFAULT_Q_M2_S3,
    DRAG_STATE_DIM,
    KAPPA_INDEX,
    MAX_STEP_S,
    STATE_DIM,
    process_noise,
)
from warnlink.geo.wgs84 import FloatArray
from warnlink.physics.dynamics import FULL_MODEL
from warnlink.physics.propagate import propagate
from warnlink.sensors.radar import range_azimuth_elevation, wrap_angle_rad


def _check_many(means: FloatArray, covs: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(means, dtype=np.float64)
    p = np.asarray(covs, dtype=np.float64)
    n = x.shape[1] if x.ndim == 2 else -1
    if n not in (STATE_DIM, DRAG_STATE_DIM) or p.shape != (x.shape[0], n, n):
        raise PhysicsError(
            f"need (N, 6) or (N, 7) states and (N, n, n) covariances, got {x.shape}, {p.shape}"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(p))):
        raise PhysicsError("a state or covariance is not finite")
    return x, p


def sigma_points_many(
    means: FloatArray, covs: FloatArray, kappa: float = KAPPA
) -> tuple[FloatArray, FloatArray]:
    """Sigma points (N, 2n+1, n) and weights (2n+1,) of `impact.sigma_points`, per track.

    A covariance whose Cholesky factor fails is handled as `sigma_points` does (an
    eigendecomposition), that track alone.
    """
    n = means.shape[1]
    try:
        root = np.linalg.cholesky((n + kappa) * covs)
    except np.linalg.LinAlgError:
        points = np.stack([sigma_points(m, c, kappa)[0] for m, c in zip(means, covs, strict=True)])
    else:
        spread = np.swapaxes(root, 1, 2)
        points = np.concatenate(
            [means[:, None, :], means[:, None, :] + spread, means[:, None, :] - spread], axis=1
        )
    weights = np.full(2 * n + 1, 1.0 / (2.0 * (n + kappa)))
    weights[0] = kappa / (n + kappa)
    return points, weights


def _weighted_cov(weights: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """sum_k w_k a_k b_k^T per track: (N, m, i), (N, m, j) -> (N, i, j)."""
    return np.asarray(np.swapaxes(a * weights[None, :, None], 1, 2) @ b)


def _symmetric(covs: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (covs + np.swapaxes(covs, 1, 2)))


def ukf_predict_many(
    means: FloatArray,
    covs: FloatArray,
    dt_s: float,
    q: float = DEFAULT_Q_M2_S3,
    *,
    q_kappa: float = DEFAULT_KAPPA_Q,
) -> tuple[FloatArray, FloatArray]:
    """`ukf.ukf_predict` of N tracks, all dt_s >= 0 seconds ahead: (N, n), (N, n, n).

    Raises:
        PhysicsError: for a negative dt_s, q or q_kappa, or ill-shaped or non-finite inputs.
    """
    x, p = _check_many(means, covs)
    if dt_s < 0.0 or q < 0.0 or q_kappa < 0.0:
        raise PhysicsError(f"need dt_s, q, q_kappa >= 0, got {dt_s}, {q}, {q_kappa}")
    if dt_s == 0.0:
        return x.copy(), p.copy()
    n = x.shape[1]
    points, weights = sigma_points_many(x, p)
    flat = points.reshape(-1, n)
    model = FULL_MODEL
    if n == DRAG_STATE_DIM:
        model = FULL_MODEL.with_inverse_ballistic_coefficient(flat[:, KAPPA_INDEX])
    moved = points.copy()
    moved[:, :, :STATE_DIM] = propagate(
        flat[:, :STATE_DIM], min(MAX_STEP_S, dt_s), dt_s, model=model
    ).reshape(x.shape[0], -1, STATE_DIM)
    new_means = np.einsum("m,nmk->nk", weights, moved)
    spread = moved - new_means[:, None, :]
    new_covs = _weighted_cov(weights, spread, spread)
    new_covs[:, :STATE_DIM, :STATE_DIM] += process_noise(dt_s, q)
    if n == DRAG_STATE_DIM:
        new_covs[:, KAPPA_INDEX, KAPPA_INDEX] += q_kappa * dt_s
    return new_means, _symmetric(new_covs)


def ukf_update_many(
    means: FloatArray,
    covs: FloatArray,
    measured: FloatArray,
    noise_covs: FloatArray,
    site_ecef_m: FloatArray,
    rotations: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """`ukf.ukf_update` of N tracks, one radar plot each.

    Args:
        means, covs: (N, n) states and (N, n, n) covariances.
        measured: (N, 3) range (m), azimuth and elevation (rad) of each track's plot.
        noise_covs: (N, 3, 3) each plot's noise covariance.
        site_ecef_m: (N, 3) the site of the radar that made each plot.
        rotations: (N, 3, 3) that site's ECEF-to-ENU rotation (`geo.wgs84.enu_rotation`).

    Returns:
        Updated states (N, n), covariances (N, n, n) and each update's normalised
        innovation squared (N,).

    Raises:
        PhysicsError: ill-shaped or non-finite states.
    """
    x, p = _check_many(means, covs)
    points, weights = sigma_points_many(x, p)
    predicted = range_azimuth_elevation(points[:, :, :3], site_ecef_m[:, None, :], rotations)
    z_mean = np.einsum("m,nmk->nk", weights, predicted)
    z_mean[:, AZIMUTH] = np.arctan2(
        np.sin(predicted[:, :, AZIMUTH]) @ weights, np.cos(predicted[:, :, AZIMUTH]) @ weights
    )
    dz = predicted - z_mean[:, None, :]
    dz[:, :, AZIMUTH] = wrap_angle_rad(dz[:, :, AZIMUTH])
    dx = points - x[:, None, :]
    s = _weighted_cov(weights, dz, dz) + noise_covs
    cross = _weighted_cov(weights, dx, dz)
    innovation = measured - z_mean
    innovation[:, AZIMUTH] = wrap_angle_rad(innovation[:, AZIMUTH])
    gain = np.swapaxes(np.linalg.solve(s, np.swapaxes(cross, 1, 2)), 1, 2)
    new_means = x + (gain @ innovation[:, :, None])[:, :, 0]
    new_covs = _symmetric(p - gain @ s @ np.swapaxes(gain, 1, 2))
    nis = np.einsum("nk,nk->n", innovation, np.linalg.solve(s, innovation[:, :, None])[:, :, 0])
    return new_means, new_covs, nis
