"""Impact point prediction (IPP) with the unscented transform.

Model: the state's uncertainty (6 x 6 covariance of ECEF position and velocity) is carried
to the ground by the unscented transform (Julier & Uhlmann, "Unscented filtering and
nonlinear estimation", Proc. IEEE 92(3), 2004): 2n + 1 = 13 sigma points
x0 = x, x_(+-i) = x +- sqrt((n + kappa) P)_i, weights W0 = kappa / (n + kappa) and
Wi = 1 / (2 (n + kappa)), with kappa = 1 (all weights positive, so the propagated covariance
stays positive semi-definite). Each sigma point is flown ballistically, all at once, with
`warnlink.physics.propagate.propagate_to_impact` (J2, rotating Earth, vacuum: unpowered
flight is assumed, so a prediction during boost is where the missile would fall if the thrust
stopped now), RK4 at `IPP_STEP_S`, and at `COARSE_STEP_S` high above the air. Given a
ballistic coefficient beta (kg/m^2) and its 1-sigma, the state is
augmented with the inverse ballistic coefficient 1 / beta (the tracker's kappa, not the
spread parameter above; 1-sigma sigma_beta / beta^2, the first-order inverse of the
tracker's conversion, so its kappa and variance come back exactly) and the 2 x 7 + 1 = 15
sigma points fly with drag, each with its own 1 / beta
(U.S. Standard Atmosphere 1976 air, `warnlink.physics.dynamics`). A `TrackEstimate` carries
no correlation between kappa and the kinematics, so kappa enters uncorrelated: in re-entry,
where the tracker has learnt both together, the ellipse is then a little wider or narrower
than the filter's joint covariance would give. The impact points are projected on the local
tangent plane (ENU) at their weighted mean; the 95 % ellipse is the 2-D covariance scaled by
sqrt(chi2_2(0.95)) = 2.4477 (`geo.ellipse.ELLIPSE_95_SCALE`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.geo.ellipse import ELLIPSE_95_SCALE
from warnlink.geo.wgs84 import FloatArray, ecef_to_lla, enu_rotation, lla_to_ecef
from warnlink.physics.dynamics import FULL_MODEL
from warnlink.physics.propagate import COARSE_STEP_S, propagate_to_impact

STATE_DIM = 6
KAPPA = 1.0
"""Unscented transform spread parameter (Julier & Uhlmann 2004)."""
IPP_STEP_S = 5.0
"""RK4 step for sigma points, s: the impact is refined by sub-steps, so metre-accurate."""


@dataclass(frozen=True, slots=True)
class ImpactPrediction:
    """Predicted impact point, time and 95 % error ellipse.

    Attributes:
        time_from_state_s: time from the state's epoch to impact, s.
        time_sigma_s: 1-sigma of that time.
        lat_deg, lon_deg: predicted impact point, WGS-84 geodetic.
        semi_major_m, semi_minor_m: 95 % ellipse semi-axes on the local tangent plane.
        orientation_deg: bearing of the major axis, clockwise from true north, in [0, 180).
        cov_en_m2: (2, 2) 1-sigma covariance of (east, north) on that plane.
    """

    time_from_state_s: float
    time_sigma_s: float
    lat_deg: float
    lon_deg: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    cov_en_m2: FloatArray

    def contains(self, lat_deg: float, lon_deg: float, probability: float = 0.95) -> bool:
        """Whether a ground point lies inside the ellipse of this probability (2-D Gaussian)."""
        rot = enu_rotation(self.lat_deg, self.lon_deg)
        d = rot @ (
            lla_to_ecef(lat_deg, lon_deg, 0.0) - lla_to_ecef(self.lat_deg, self.lon_deg, 0.0)
        )
        en = d[:2]
        mahalanobis2 = float(en @ np.linalg.solve(self.cov_en_m2, en))
        return mahalanobis2 <= -2.0 * math.log(1.0 - probability)


def sigma_points(
    mean: FloatArray, cov: FloatArray, kappa: float = KAPPA
) -> tuple[FloatArray, FloatArray]:
    """The 2n + 1 sigma points (2n+1, n) and weights (2n+1,) of Julier & Uhlmann (2004)."""
    n = mean.shape[0]
    scaled = (n + kappa) * cov
    try:
        root = np.linalg.cholesky(scaled)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(0.5 * (scaled + scaled.T))
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
    points = np.concatenate([mean[None, :], mean + root.T, mean - root.T], axis=0)
    weights = np.full(2 * n + 1, 1.0 / (2.0 * (n + kappa)))
    weights[0] = kappa / (n + kappa)
    return points, weights


def predict_impact(
    pos_ecef_m: FloatArray,
    vel_ecef_mps: FloatArray,
    cov: FloatArray,
    *,
    step_s: float = IPP_STEP_S,
    coarse_step_s: float | None = COARSE_STEP_S,
    ballistic_coefficient_kg_m2: float | None = None,
    ballistic_coefficient_sigma_kg_m2: float | None = None,
) -> ImpactPrediction:
    """Predict where and when an unpowered missile in the given state hits the ground.

    Args:
        pos_ecef_m: (3,) ECEF position, m.
        vel_ecef_mps: (3,) velocity relative to the rotating Earth, m/s.
        cov: (6, 6) covariance of (position, velocity).
        step_s: integration step of the sigma points.
        coarse_step_s: their step while high above the air (None: `step_s` throughout).
        ballistic_coefficient_kg_m2: beta of the body, kg/m^2; None flies in vacuum.
        ballistic_coefficient_sigma_kg_m2: its 1-sigma (None or 0: taken as exact).

    Raises:
        PhysicsError: if the state (or a sigma point) does not come down within two hours,
            or the inputs have the wrong shape or are not finite, or beta is not positive.
    """
    mean = np.concatenate([np.asarray(pos_ecef_m, float), np.asarray(vel_ecef_mps, float)])
    p = np.asarray(cov, dtype=np.float64)
    if mean.shape != (STATE_DIM,) or p.shape != (STATE_DIM, STATE_DIM):
        raise PhysicsError(
            f"need a (6,) state and a (6, 6) covariance, got {mean.shape}, {p.shape}"
        )
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(p))):
        raise PhysicsError("state or covariance is not finite")
    model = FULL_MODEL
    beta = ballistic_coefficient_kg_m2
    if beta is not None:
        beta_sigma = ballistic_coefficient_sigma_kg_m2 or 0.0
        if not (math.isfinite(beta) and beta > 0.0 and math.isfinite(beta_sigma)):
            raise PhysicsError(f"need a finite, positive beta and sigma, got {beta}, {beta_sigma}")
        kappa = 1.0 / beta
        kappa_sigma = beta_sigma * kappa * kappa
        mean = np.append(mean, kappa)
        p = np.block([[p, np.zeros((STATE_DIM, 1))], [np.zeros((1, STATE_DIM)), kappa_sigma**2]])
    points, weights = sigma_points(mean, p)
    if beta is not None:
        model = FULL_MODEL.with_inverse_ballistic_coefficient(points[:, STATE_DIM])
    sol = propagate_to_impact(
        points[:, :STATE_DIM], step_s=step_s, coarse_step_s=coarse_step_s, model=model
    )
    t_mean = float(weights @ sol.time_s)
    t_sigma = math.sqrt(max(0.0, float(weights @ (sol.time_s - t_mean) ** 2)))
    centre = weights @ sol.ecef
    lat, lon, _ = ecef_to_lla(centre)
    rot = enu_rotation(float(lat), float(lon))
    en = ((sol.ecef - centre) @ rot.T)[:, :2]
    cov_en = (en * weights[:, None]).T @ en
    values, vectors = np.linalg.eigh(cov_en)
    major = vectors[:, 1]
    orientation = math.degrees(math.atan2(major[0], major[1])) % 180.0
    return ImpactPrediction(
        time_from_state_s=t_mean,
        time_sigma_s=t_sigma,
        lat_deg=float(lat),
        lon_deg=float(lon),
        semi_major_m=ELLIPSE_95_SCALE * math.sqrt(max(values[1], 0.0)),
        semi_minor_m=ELLIPSE_95_SCALE * math.sqrt(max(values[0], 0.0)),
        orientation_deg=orientation,
        cov_en_m2=cov_en,
    )
