"""Unscented Kalman filter for a missile in unpowered (post-boost) flight, seen by radars.

State: ECEF position and velocity relative to the rotating Earth, (6,), m and m/s; or,
augmented for re-entry, (7,) with the inverse ballistic coefficient kappa = 1 / beta =
Cd A / m, m^2/kg, as the seventh component, the re-entry tracking state of Farina, Ristic
& Benvenuti, "Tracking a ballistic target: comparison of several nonlinear filters", IEEE
Trans. AES 38(3), 2002, here with 1 / beta so that the drag is linear in the state).

Process model: the project's ballistic equations of motion (`warnlink.physics.dynamics`:
J2 gravity, Coriolis and centrifugal terms; for the 7-state filter also drag
-rho |v| v kappa / 2 in U.S. Standard Atmosphere 1976 air, each sigma point with its own
kappa) integrated by classical RK4 (`warnlink.physics.propagate.propagate`, steps of at
most `MAX_STEP_S`), all 2n + 1 (13 or 15) sigma points at once. Above ~80 km the drag is
far below the noise and kappa stays at its prior; in the denser air of re-entry the
deceleration the radars see makes it observable and the filter estimates it. kappa follows
a random walk of intensity `DEFAULT_KAPPA_Q` ((m^2/kg)^2/s: beta varies with Mach number
and attitude). Unmodelled accelerations are covered by continuous white acceleration
noise of power spectral density q (m^2/s^3) on each axis; over dt its covariance is

    Q = q [[dt^3/3 I, dt^2/2 I], [dt^2/2 I, dt I]]

(Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and Navigation*,
2001, §6.2.2). `DEFAULT_Q_M2_S3` = 0.1: over a 4-5 s radar revisit it lets the velocity
wander by sqrt(q dt) ~ 0.7 m/s, the effect of a steady unmodelled acceleration of
~0.15 m/s^2, the order of the atmospheric drag on a re-entry vehicle (ballistic coefficient
~5000 kg/m^2, 3 km/s) between ~80 and ~60 km. Lower down drag reaches several m/s^2: the
6-state filter is then wrong, and the 7-state filter (which models it) is the one to use.

Measurement model: range, azimuth, elevation from the radar site
(`warnlink.sim.measurements.measurement_function`) with independent Gaussian errors. The
azimuth is an angle: its predicted mean is the weighted circular mean of the sigma points'
azimuths and every azimuth difference (sigma point spread, innovation) is wrapped to
(-pi, pi], so a target near due south (azimuth +-pi) is handled.

Unscented transform: the sigma points and weights of Julier & Uhlmann (2004),
`warnlink.estimation.impact.sigma_points` (kappa = 1, all weights positive, so the
covariances stay positive semi-definite). Update as in Wan & van der Merwe, "The unscented
Kalman filter for nonlinear estimation", IEEE AS-SPCC 2000: K = P_xz S^-1,
x+ = x + K nu, P+ = P - K S K^T; the normalised innovation squared nu^T S^-1 nu is returned.

One implementation, batched: N tracks at once (`ukf_predict_many`, `ukf_update_many`),
states (N, n), covariances (N, n, n), sigma points (N, 2n + 1, n). The prediction flies
all N (2n + 1) sigma points in one vectorised call of the propagator to a common time
(a scan: every track predicted to the same instant); the update takes one radar plot
per track, each from its own radar (site and ENU rotation per track). A single track
(`ukf_predict`, `ukf_update`, what the radar tracker runs) is a batch of one.
Pure functions of arrays: no I/O, no clock.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.estimation.impact import KAPPA, sigma_points
from warnlink.geo.wgs84 import FloatArray
from warnlink.physics.dynamics import FULL_MODEL
from warnlink.physics.propagate import propagate
from warnlink.sensors.radar import RadarMeasurement, range_azimuth_elevation, wrap_angle_rad
from warnlink.sensors.sensor import Sensor

STATE_DIM: Final = 6
DRAG_STATE_DIM: Final = 7
"""Length of the state augmented with kappa = 1 / beta."""
KAPPA_INDEX: Final = 6
"""Index of kappa (m^2/kg) in the augmented state."""
DEFAULT_KAPPA_PRIOR: Final = 1.0 / 20_000.0
"""Prior mean of kappa, m^2/kg: beta = 20,000 kg/m^2, mid-range of re-entry bodies."""
DEFAULT_KAPPA_PRIOR_SIGMA: Final = 1.0 / 10_000.0
"""Prior 1-sigma of kappa, m^2/kg: generous, covers beta from ~3,500 kg/m^2 to vacuum at 2
sigma."""
DEFAULT_KAPPA_Q: Final = 1e-14
"""Random-walk intensity of kappa, (m^2/kg)^2/s: over a 100 s re-entry kappa may wander by
1e-6 m^2/kg, 2 % of the prior mean."""
MAX_STEP_S: Final = 5.0
"""Largest RK4 step of the process model, s (RK4 error well under a millimetre per step)."""
DEFAULT_Q_M2_S3: Final = 0.1
"""White acceleration noise PSD per axis, m^2/s^3 (see the module docstring)."""
AZIMUTH: Final = 1
"""Index of the azimuth in a (range, azimuth, elevation) measurement."""


def process_noise(dt_s: float, q: float) -> FloatArray:
    """(6, 6) covariance of continuous white acceleration noise of PSD q over dt_s."""
    noise = np.zeros((STATE_DIM, STATE_DIM))
    axis = np.arange(3)
    noise[axis, axis] = q * dt_s**3 / 3.0
    noise[axis, axis + 3] = noise[axis + 3, axis] = q * dt_s**2 / 2.0
    noise[axis + 3, axis + 3] = q * dt_s
    return noise


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
    """Predict N states (N, n), n = 6 or 7, and covariances (N, n, n) dt_s >= 0 s ahead.

    A 7-state carries kappa = 1 / beta (m^2/kg) and is flown with drag; a 6-state in
    vacuum. `q_kappa` is the random-walk intensity of kappa ((m^2/kg)^2/s), unused for 6.

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
    """Update N states and covariances, one radar plot each.

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


def ukf_predict(
    mean: FloatArray,
    cov: FloatArray,
    dt_s: float,
    q: float = DEFAULT_Q_M2_S3,
    *,
    q_kappa: float = DEFAULT_KAPPA_Q,
) -> tuple[FloatArray, FloatArray]:
    """`ukf_predict_many` of one track: a state (6,) or (7,) and its covariance.

    Raises:
        PhysicsError: for a negative dt_s, q or q_kappa, or ill-shaped or non-finite inputs.
    """
    x, p = _check_one(mean, cov)
    means, covs = ukf_predict_many(x[None, :], p[None, :, :], dt_s, q, q_kappa=q_kappa)
    return means[0], covs[0]


def ukf_update(
    mean: FloatArray, cov: FloatArray, measurement: RadarMeasurement, sensor: Sensor
) -> tuple[FloatArray, FloatArray, float]:
    """`ukf_update_many` of one track with one plot of `sensor`.

    Returns:
        The updated state and covariance, and the normalised innovation squared (NIS,
        chi-square with 3 degrees of freedom when the filter is consistent).

    Raises:
        PhysicsError: if the plot is not from `sensor`, or the inputs are ill-shaped.
    """
    x, p = _check_one(mean, cov)
    if measurement.sensor != sensor.name:
        raise PhysicsError(f"plot of {measurement.sensor} given with sensor {sensor.name}")
    means, covs, nis = ukf_update_many(
        x[None, :],
        p[None, :, :],
        measurement.vector[None, :],
        measurement.noise_covariance[None, :, :],
        sensor.position_ecef_m[None, :],
        sensor.enu_rotation[None, :, :],
    )
    return means[0], covs[0], float(nis[0])


def _check_one(mean: FloatArray, cov: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(mean, dtype=np.float64)
    p = np.asarray(cov, dtype=np.float64)
    if x.ndim != 1 or p.ndim != 2:
        raise PhysicsError(
            f"need a (6,) or (7,) state and its covariance, got {x.shape}, {p.shape}"
        )
    return x, p
