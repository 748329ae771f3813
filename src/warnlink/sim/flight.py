"""What a flight looks like from outside: flight time, apogee, range, burnout, class.

`describe_flight` flies a launch request with the launch model (`sim.launch.fly`) and
summarises it; `assess_ballistic` says whether a ballistic description holds.

Ballistic test: a flight whose apogee is at or below 100 km (the Karman line) spends
its whole flight in the atmosphere, where drag and, for manoeuvring or glide bodies,
lift decide the path. Such a request is flown (`sim.launch` flies it as a depressed
flight: a short, flat boost, then a drag-only body, in vacuum if the request gives no
ballistic coefficient) and reported as not ballistic, with that reason: a real depressed
or quasi-ballistic flight may pull up or glide, which no model here has, so its flight
time and impact are this model's and need not match published figures.

Range class follows the DESIGN.md glossary: for a lofted flight it is the class of the
range its burnout speed gives on a minimum-energy (vacuum Kepler, spherical Earth)
trajectory from the ground with the same energy as at burnout
(`physics.kepler.minimum_energy_range_of_state_m`), not of the shortened range flown:
the default flight (900 km, apogee 450 km, lofted) carries the energy of about 1,130 km.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.estimation.classify import classify_range
from warnlink.geo.wgs84 import as_vector3, geodetic_altitude_m
from warnlink.model.payloads import RangeClass
from warnlink.physics.kepler import minimum_energy_range_of_state_m
from warnlink.sim.launch import DEPRESSED_MAX_APOGEE_KM, LaunchSpec, fly

BALLISTIC_MIN_APOGEE_KM: Final = DEPRESSED_MAX_APOGEE_KM


@dataclass(frozen=True, slots=True)
class Burnout:
    """The end of powered flight: seconds after launch, height (km), speed (m/s, ECEF)."""

    time_s: float
    altitude_km: float
    speed_mps: float


@dataclass(frozen=True, slots=True)
class FlightDescription:
    """A flown launch request, summarised.

    Attributes:
        ballistic: whether a ballistic model describes the flight (False for a depressed
            or quasi-ballistic flight, see the module docstring).
        reason: why not, when not ballistic.
        flight_time_s: launch to impact, s.
        apogee_km, range_km: highest geodetic height and great-circle ground range.
        burnout: the end of the boost.
        min_energy_range_km: range of the burnout speed on a minimum-energy trajectory.
        range_class: the class of `min_energy_range_km`.
    """

    ballistic: bool
    reason: str | None
    flight_time_s: float
    apogee_km: float
    range_km: float
    burnout: Burnout
    min_energy_range_km: float
    range_class: RangeClass


def assess_ballistic(apogee_km: float | None) -> str | None:
    """The reason a flight with this apogee is not ballistic, or None if it is."""
    if apogee_km is not None and apogee_km <= BALLISTIC_MIN_APOGEE_KM:
        return (
            f"apogee {apogee_km:g} km is at or below {BALLISTIC_MIN_APOGEE_KM:g} km: the flight "
            "stays in the atmosphere (depressed or quasi-ballistic), where drag and lift "
            "decide the path (flown here without lift: no pull-up or glide)"
        )
    return None


def describe_flight(spec: LaunchSpec) -> FlightDescription:
    """Fly `spec` and summarise it.

    A flight whose apogee (requested, or flown: a short minimum-energy shot) is at or
    below 100 km is flown and flagged not ballistic, with the reason.

    Raises:
        PhysicsError: the launch model cannot meet the request.
    """
    trajectory = fly(spec)
    k = trajectory.burnout_index
    speed = float(np.linalg.norm(trajectory.vel_ecef_mps[k]))
    burnout = Burnout(
        time_s=float(trajectory.t_s[k]),
        altitude_km=float(geodetic_altitude_m(trajectory.pos_ecef_m[k])) / 1000.0,
        speed_mps=speed,
    )
    equivalent_km = (
        minimum_energy_range_of_state_m(
            as_vector3(trajectory.pos_ecef_m[k]), as_vector3(trajectory.vel_ecef_mps[k])
        )
        / 1000.0
    )
    apogee_km = trajectory.apogee_m / 1000.0
    reason = assess_ballistic(apogee_km)
    return FlightDescription(
        ballistic=reason is None,
        reason=reason,
        flight_time_s=trajectory.impact_time_s,
        apogee_km=apogee_km,
        range_km=trajectory.range_m / 1000.0,
        burnout=burnout,
        min_energy_range_km=equivalent_km,
        range_class=classify_range(max(equivalent_km, trajectory.range_m / 1000.0)),
    )
