"""Whether a track changed enough since a product was derived from it to derive it again.

A product of a track state (an impact prediction, a ground track) stays right while the
missile keeps to the trajectory it was derived from. The test: fly the state it was
derived from to the new state's time (`warnlink.physics.propagate.propagate`: RK4, J2,
rotating frame, drag when a ballistic coefficient is known) and measure the new state's
distance from it in its own covariance, the Mahalanobis distance

    d = sqrt((x_new - x_flown)^T P_new^-1 (x_new - x_flown))

(Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and Navigation*,
2001, §1.4.15). A product is (to first order) a function of the state: a state moved by d
sigmas moves the product by at most d of its own sigmas, so a product redone only past a
fraction of a sigma changes by no more than that fraction of its stated uncertainty.
Pure functions of arrays.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from warnlink.geo.wgs84 import FloatArray
from warnlink.physics.dynamics import FULL_MODEL
from warnlink.physics.propagate import propagate

FLY_STEP_S: Final = 5.0
"""RK4 step of the flown state, s (as the impact prediction's)."""


def drift_sigma(
    derived_from: FloatArray,
    state: FloatArray,
    cov: FloatArray,
    dt_s: float,
    *,
    ballistic_coefficient_kg_m2: float | None = None,
) -> float:
    """Mahalanobis distance (sigmas) of `state` from `derived_from` flown dt_s ahead.

    Args:
        derived_from: (6,) ECEF position (m) and velocity (m/s) the product was derived from.
        state: (6,) the new state, dt_s later.
        cov: (6, 6) the new state's covariance.
        dt_s: time from `derived_from` to `state`, s.
        ballistic_coefficient_kg_m2: beta (kg/m^2) to fly with; None: vacuum.

    Returns:
        The distance; infinity when it cannot be measured (dt_s < 0, a singular
        covariance, a non-finite flight), so that the caller derives the product again.
    """
    if dt_s < 0.0 or not math.isfinite(dt_s):
        return math.inf
    model = FULL_MODEL
    if ballistic_coefficient_kg_m2 is not None and ballistic_coefficient_kg_m2 > 0.0:
        model = FULL_MODEL.with_inverse_ballistic_coefficient(
            np.array([1.0 / ballistic_coefficient_kg_m2])
        )
    flown = np.asarray(derived_from, dtype=np.float64)[None, :]
    if dt_s > 0.0:
        flown = propagate(flown, FLY_STEP_S, dt_s, model=model)
    difference = np.asarray(state, dtype=np.float64) - flown[0]
    try:
        whitened = np.linalg.solve(np.asarray(cov, dtype=np.float64), difference)
    except np.linalg.LinAlgError:
        return math.inf
    squared = float(difference @ whitened)
    return math.sqrt(squared) if math.isfinite(squared) and squared >= 0.0 else math.inf
