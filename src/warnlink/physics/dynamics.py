"""Equations of motion of an unpowered body in the rotating ECEF frame.

    r'' = g(r) - 2 w x r' - w x (w x r)

with g the point-mass + J2 gravity of `gravity.py` and w = (0, 0, omega_earth) the WGS-84
rotation rate: Coriolis and centrifugal terms (Vallado 4th ed. §3.7 for the rotating-frame
kinematics). Vacuum: atmospheric drag is not modelled yet (a later issue), which matters
only in the last ~30 km of the descent and for short ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warnlink.geo.wgs84 import J2, OMEGA_EARTH_RAD_S, FloatArray
from warnlink.physics.gravity import gravity_j2, potential_j2


@dataclass(frozen=True, slots=True)
class ForceModel:
    """Which terms the equations of motion include.

    Attributes:
        j2: include the J2 zonal harmonic (else a spherical point mass).
        rotation: integrate in the rotating ECEF frame with Coriolis and centrifugal terms
            (else the frame is treated as inertial, i.e. a non-rotating Earth).
    """

    j2: bool = True
    rotation: bool = True

    @property
    def j2_value(self) -> float:
        return J2 if self.j2 else 0.0

    @property
    def omega_rad_s(self) -> float:
        return OMEGA_EARTH_RAD_S if self.rotation else 0.0


FULL_MODEL = ForceModel()
"""J2 gravity in the rotating Earth frame: the default."""
KEPLER_MODEL = ForceModel(j2=False, rotation=False)
"""Spherical Earth, no rotation: motion is a Kepler conic."""


def acceleration(pos_m: FloatArray, vel_mps: FloatArray, model: ForceModel) -> FloatArray:
    """ECEF acceleration (N, 3), m/s^2, of unpowered bodies at pos (N, 3) with ECEF velocity."""
    acc = gravity_j2(pos_m, j2=model.j2_value)
    w = model.omega_rad_s
    if w != 0.0:
        w2 = w * w
        # -2 w x v with w along z: (2 w vy, -2 w vx, 0); -w x (w x r) = w^2 (x, y, 0).
        acc[..., 0] += 2.0 * w * vel_mps[..., 1] + w2 * pos_m[..., 0]
        acc[..., 1] += -2.0 * w * vel_mps[..., 0] + w2 * pos_m[..., 1]
    return acc


def jacobi_integral(states: FloatArray, model: ForceModel) -> FloatArray:
    """Jacobi integral (N,), m^2/s^2: energy in the rotating frame, conserved by `acceleration`.

    C = |v|^2 / 2 + V(r) - w^2 (x^2 + y^2) / 2, with V the point-mass + J2 potential. For
    the Kepler model (no rotation, no J2) it is the specific orbital energy.
    """
    pos = states[..., :3]
    vel = states[..., 3:]
    w = model.omega_rad_s
    centrifugal = 0.5 * w * w * (pos[..., 0] ** 2 + pos[..., 1] ** 2)
    return np.asarray(
        0.5 * np.sum(vel * vel, axis=-1) + potential_j2(pos, j2=model.j2_value) - centrifugal
    )
