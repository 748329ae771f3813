"""Equations of motion of an unpowered body in the rotating ECEF frame.

    r'' = g(r) - 2 w x r' - w x (w x r) - rho(h) |r'| r' / (2 beta)

with g the point-mass + J2 gravity of `gravity.py` and w = (0, 0, omega_earth) the WGS-84
rotation rate: Coriolis and centrifugal terms (Vallado 4th ed. §3.7 for the rotating-frame
kinematics). The last term is aerodynamic drag on a body of ballistic coefficient
beta = m / (Cd A), kg/m^2, in air at rest relative to the rotating Earth, so that r' (the
ECEF velocity) is the airspeed (Regan & Anandakrishnan, *Dynamics of Atmospheric
Re-Entry*, AIAA 1993, ch. 2); rho is the U.S. Standard Atmosphere 1976 density
(`atmosphere.py`) at the height `approx_altitude_m`. Without a ballistic coefficient the
motion is in vacuum (the default, `FULL_MODEL`). Drag is linear in 1/beta; no lift.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import A_M, B_M, E2, J2, OMEGA_EARTH_RAD_S, FloatArray
from warnlink.physics.atmosphere import density_kg_m3
from warnlink.physics.gravity import gravity_j2, potential_j2

DRAG_CEILING_M = 300_000.0
"""Height above which drag is left out (see `drag_acceleration`)."""


@dataclass(frozen=True, slots=True, eq=False)
class ForceModel:
    """Which terms the equations of motion include.

    Attributes:
        j2: include the J2 zonal harmonic (else a spherical point mass).
        rotation: integrate in the rotating ECEF frame with Coriolis and centrifugal terms
            (else the frame is treated as inertial, i.e. a non-rotating Earth).
        ballistic_coefficient_kg_m2: beta = m / (Cd A), kg/m^2: None for vacuum; a positive
            number for one body; or an array (N,) of positive values, one per propagated
            state (sigma points carrying different betas), where ``inf`` is vacuum.
    """

    j2: bool = True
    rotation: bool = True
    ballistic_coefficient_kg_m2: float | FloatArray | None = None

    def __post_init__(self) -> None:
        beta = self.ballistic_coefficient_kg_m2
        if isinstance(beta, float | int) and not beta > 0.0:
            raise PhysicsError(f"ballistic coefficient must be positive, got {beta} kg/m^2")
        if isinstance(beta, np.ndarray) and (beta.ndim != 1 or not np.all(beta > 0.0)):
            raise PhysicsError("per-state ballistic coefficients must be a positive (N,) array")

    @property
    def j2_value(self) -> float:
        return J2 if self.j2 else 0.0

    @property
    def omega_rad_s(self) -> float:
        return OMEGA_EARTH_RAD_S if self.rotation else 0.0

    @property
    def drag(self) -> bool:
        """Whether the model includes drag."""
        return self.ballistic_coefficient_kg_m2 is not None

    def inverse_ballistic_coefficient(self) -> float | FloatArray:
        """1 / beta, m^2/kg (0 for vacuum); an array (N, 1) for per-state coefficients."""
        beta = self.ballistic_coefficient_kg_m2
        if beta is None:
            return 0.0
        if isinstance(beta, np.ndarray):
            return np.asarray(1.0 / beta)[:, None]
        return 1.0 / float(beta)

    def for_states(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> ForceModel:
        """The model of a subset of the states (per-state coefficients indexed alike)."""
        beta = self.ballistic_coefficient_kg_m2
        if not isinstance(beta, np.ndarray):
            return self
        return replace(self, ballistic_coefficient_kg_m2=np.asarray(beta[index]))

    def with_ballistic_coefficient(self, beta_kg_m2: float | FloatArray | None) -> ForceModel:
        """The same model with another ballistic coefficient (None: vacuum)."""
        return replace(self, ballistic_coefficient_kg_m2=beta_kg_m2)

    def with_inverse_ballistic_coefficient(self, kappa_m2_kg: FloatArray) -> ForceModel:
        """The same model with per-state beta = 1 / kappa (N,), kappa in m^2/kg.

        kappa <= 0 (an unscented sigma point spread below zero) is vacuum, beta = inf: a
        negative drag would push the body ever faster as the air thickens, and some
        sigma points would never come down.
        """
        kappa = np.atleast_1d(np.asarray(kappa_m2_kg, dtype=np.float64))
        with np.errstate(divide="ignore"):
            beta = np.where(kappa > 0.0, 1.0 / np.maximum(kappa, 0.0), np.inf)
        return replace(self, ballistic_coefficient_kg_m2=np.atleast_1d(beta))


FULL_MODEL = ForceModel()
"""J2 gravity in the rotating Earth frame, vacuum: the default."""
KEPLER_MODEL = ForceModel(j2=False, rotation=False)
"""Spherical Earth, no rotation, vacuum: motion is a Kepler conic."""


def approx_altitude_m(pos_m: FloatArray) -> FloatArray:
    """Height above WGS-84 along the geocentric radius (N,), m.

    Cheap stand-in for the geodetic height, used for crossings and air density: equal to it
    at the surface and within a few metres at 1000 km.
    """
    # Component products, not np.sum: on a few sigma points numpy's per-call cost is the time.
    x, y, z = pos_m[..., 0], pos_m[..., 1], pos_m[..., 2]
    equatorial2 = x * x + y * y
    r2 = equatorial2 + z * z
    return np.asarray(np.sqrt(r2) - B_M / np.sqrt(1.0 - E2 * equatorial2 / r2))


def drag_acceleration(pos_m: FloatArray, vel_mps: FloatArray, model: ForceModel) -> FloatArray:
    """Drag acceleration (N, 3), m/s^2: -rho(h) |v| v / (2 beta), v the ECEF velocity.

    Zero for a vacuum model, and when every state is over `DRAG_CEILING_M` above the
    equatorial radius (so above that height wherever it is): there the density is below
    2e-11 kg/m^3, and even the bluntest body allowed (beta 100 kg/m^2) at 8 km/s loses less
    than 1e-5 m/s^2.
    """
    if model.ballistic_coefficient_kg_m2 is None:
        return np.zeros_like(vel_mps)
    x, y, z = pos_m[..., 0], pos_m[..., 1], pos_m[..., 2]
    if float((x * x + y * y + z * z).min()) > (A_M + DRAG_CEILING_M) ** 2:
        return np.zeros_like(vel_mps)  # every state above the ceiling: no drag to speak of
    inverse_beta = model.inverse_ballistic_coefficient()
    rho = density_kg_m3(approx_altitude_m(pos_m))
    vx, vy, vz = vel_mps[..., 0], vel_mps[..., 1], vel_mps[..., 2]
    speed = np.sqrt(vx * vx + vy * vy + vz * vz)
    return np.asarray(-0.5 * inverse_beta * (rho * speed)[..., None] * vel_mps)


def acceleration(pos_m: FloatArray, vel_mps: FloatArray, model: ForceModel) -> FloatArray:
    """ECEF acceleration (N, 3), m/s^2, of unpowered bodies at pos (N, 3) with ECEF velocity."""
    acc = gravity_j2(pos_m, j2=model.j2_value)
    w = model.omega_rad_s
    if w != 0.0:
        w2 = w * w
        # -2 w x v with w along z: (2 w vy, -2 w vx, 0); -w x (w x r) = w^2 (x, y, 0).
        acc[..., 0] += 2.0 * w * vel_mps[..., 1] + w2 * pos_m[..., 0]
        acc[..., 1] += -2.0 * w * vel_mps[..., 0] + w2 * pos_m[..., 1]
    if model.drag:
        acc += drag_acceleration(pos_m, vel_mps, model)
    return acc


def jacobi_integral(states: FloatArray, model: ForceModel) -> FloatArray:
    """Jacobi integral (N,), m^2/s^2: energy in the rotating frame.

    C = |v|^2 / 2 + V(r) - w^2 (x^2 + y^2) / 2, with V the point-mass + J2 potential. For
    the Kepler model (no rotation, no J2) it is the specific orbital energy. Conserved by
    `acceleration` in vacuum; drag (which does work -rho |v|^3 / (2 beta)) makes it decrease.
    """
    pos = states[..., :3]
    vel = states[..., 3:]
    w = model.omega_rad_s
    centrifugal = 0.5 * w * w * (pos[..., 0] ** 2 + pos[..., 1] ** 2)
    return np.asarray(
        0.5 * np.sum(vel * vel, axis=-1) + potential_j2(pos, j2=model.j2_value) - centrifugal
    )
