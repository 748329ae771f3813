"""Vacuum Kepler trajectories between two points at the same radius on a spherical Earth.

The starting guess for the launch model and the energy measure behind range classes.
Free-flight range equation for equal launch and impact radii (Bate, Mueller & White,
*Fundamentals of Astrodynamics*, 1971, §6.2, eqs. 6.2-16 to 6.2-20), with the
dimensionless burnout parameter Q = v^2 r / GM. Spherical, non-rotating Earth of the IUGG
mean radius; SI units, angles in radians unless named ``_deg``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import GM_M3_S2, MEAN_RADIUS_M


@dataclass(frozen=True, slots=True)
class KeplerShot:
    """Launch conditions of a symmetric Kepler arc from radius r back to radius r.

    Attributes:
        speed_mps: launch speed.
        flight_path_angle_rad: angle of the velocity above the local horizontal.
        apogee_alt_m: apogee height above the sphere.
        time_of_flight_s: launch to impact.
    """

    speed_mps: float
    flight_path_angle_rad: float
    apogee_alt_m: float
    time_of_flight_s: float


def _q_for(range_angle_rad: float, gamma_rad: float) -> float:
    """Q = v^2 r / GM that reaches range angle psi at flight-path angle gamma (BMW 6.2-16)."""
    psi = range_angle_rad
    return (1.0 - math.cos(psi)) / (
        math.cos(gamma_rad) * (math.cos(gamma_rad) - math.cos(gamma_rad + psi))
    )


def _shot(range_angle_rad: float, gamma_rad: float, radius_m: float) -> KeplerShot:
    q = _q_for(range_angle_rad, gamma_rad)
    if not 0.0 < q < 2.0:
        raise PhysicsError(f"no bound Kepler arc for range angle {range_angle_rad} rad")
    a = radius_m / (2.0 - q)
    e = math.sqrt(max(0.0, 1.0 - q * (2.0 - q) * math.cos(gamma_rad) ** 2))
    # Eccentric anomaly at launch (ascending); the arc is symmetric about apogee.
    cos_e0 = (1.0 - radius_m / a) / e if e > 0.0 else 1.0
    e0 = math.acos(max(-1.0, min(1.0, cos_e0)))
    m_launch = e0 - e * math.sin(e0)
    time_of_flight = 2.0 * (math.pi - m_launch) * math.sqrt(a**3 / GM_M3_S2)
    return KeplerShot(
        speed_mps=math.sqrt(q * GM_M3_S2 / radius_m),
        flight_path_angle_rad=gamma_rad,
        apogee_alt_m=a * (1.0 + e) - radius_m,
        time_of_flight_s=time_of_flight,
    )


def _apogee_alt_m(range_angle_rad: float, gamma_rad: float, radius_m: float) -> float:
    """Apogee height of the arc, or infinity when the arc is unbound (Q >= 2)."""
    q = _q_for(range_angle_rad, gamma_rad)
    if not 0.0 < q < 2.0:
        return math.inf
    return _shot(range_angle_rad, gamma_rad, radius_m).apogee_alt_m


def minimum_energy_shot(range_m: float, radius_m: float = MEAN_RADIUS_M) -> KeplerShot:
    """Minimum-energy arc for a ground range: gamma = (pi - psi) / 4 (BMW eq. 6.2-20)."""
    psi = range_m / radius_m
    return _shot(psi, (math.pi - psi) / 4.0, radius_m)


def shot_with_apogee(
    range_m: float, apogee_alt_m: float, radius_m: float = MEAN_RADIUS_M
) -> KeplerShot:
    """Arc with given ground range and apogee height (lofted or depressed); bisects gamma."""
    psi = range_m / radius_m
    best = minimum_energy_shot(range_m, radius_m)
    lo, hi = (
        (best.flight_path_angle_rad, math.radians(89.9))
        if apogee_alt_m >= best.apogee_alt_m
        else (math.radians(0.1), best.flight_path_angle_rad)
    )
    if not _apogee_alt_m(psi, lo, radius_m) <= apogee_alt_m <= _apogee_alt_m(psi, hi, radius_m):
        raise PhysicsError(f"no Kepler arc with range {range_m} m and apogee {apogee_alt_m} m")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _apogee_alt_m(psi, mid, radius_m) < apogee_alt_m:
            lo = mid
        else:
            hi = mid
    return _shot(psi, 0.5 * (lo + hi), radius_m)


def minimum_energy_range_m(speed_mps: float, radius_m: float = MEAN_RADIUS_M) -> float:
    """Ground range a launch speed reaches on its minimum-energy arc (BMW eq. 6.2-19 inverted).

    Q = 2 sin(psi/2) / (1 + sin(psi/2))  =>  sin(psi/2) = Q / (2 - Q).
    """
    q = speed_mps**2 * radius_m / GM_M3_S2
    if q >= 1.0:
        return math.pi * radius_m
    return 2.0 * math.asin(q / (2.0 - q)) * radius_m


def minimum_energy_range_of_state_m(
    pos_m: tuple[float, float, float], vel_mps: tuple[float, float, float]
) -> float:
    """The minimum-energy range of a free-flight state's energy (the range-class measure).

    Energy conservation brings the state to the surface: v_s^2 = v^2 + 2 GM (1/R - 1/r),
    then `minimum_energy_range_m(v_s)`. A lofted flight thus gets the range its energy
    would reach on a minimum-energy arc. The ECEF (rotating-frame) speed stands for the
    inertial one, an approximation of a few percent at these latitudes.
    """
    r = math.hypot(*pos_m)
    v2 = sum(v * v for v in vel_mps)
    surface_speed = math.sqrt(max(0.0, v2 + 2.0 * GM_M3_S2 * (1.0 / MEAN_RADIUS_M - 1.0 / r)))
    return minimum_energy_range_m(surface_speed)
