"""The launch model: a single-stage boost with a pitch program, then ballistic flight.

Boost model (an honest textbook simplification, not any real missile): vertical rise for
the first 10 % of the burn, then the thrust direction pitches linearly in angle, in the
launch site's vertical plane along the launch azimuth, down to a final elevation reached
at burnout. A depressed request (apogee at or below `DEPRESSED_MAX_APOGEE_KM`) flies a
short burn (`DEPRESSED_BURN_TIME_S` unless given) that reaches its final elevation at
`DEPRESSED_PITCH_END_SHARE` of the burn and holds it, so that the boost does not climb above
the requested apogee; no lift or pull-up manoeuvre is modelled (the body after burnout is a
drag-only ballistic body, so a depressed flight is the low, draggy end of ballistic flight,
not a glide). Thrust
acceleration grows as the propellant burns, a(t) = a0 / (1 - f t / t_b) with propellant
fraction f = 0.6 (constant thrust and mass flow; Sutton & Biblarz, *Rocket Propulsion
Elements*, 9th ed., §4.1). It is integrated with RK4 in the rotating-frame equations of
`warnlink.physics.dynamics` plus thrust, in vacuum: the boost has no drag (the thrust
acceleration solved for absorbs the drag loss of a real boost, a few per cent of the
velocity gained). After burnout the re-entry body is propagated to the ground with drag
when the request gives its ballistic coefficient (`LaunchSpec.ballistic_coefficient_kg_m2`,
U.S. Standard Atmosphere 1976 air), in vacuum otherwise.

Shooting: three unknowns (a0, final thrust elevation, azimuth correction for the Coriolis
drift) are solved by a damped Newton iteration with a finite-difference Jacobian, evaluated
vectorised (four trial flights at once, with the same drag as the flight), so that the
impact lies at the requested ground range and azimuth and the apogee is the requested one.
Without a requested apogee the target is the apogee of the vacuum minimum-energy Kepler arc
for the full range (`warnlink.physics.kepler`), which puts the flight close to the
minimum-energy trajectory. The start is the Kepler solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import (
    FloatArray,
    ecef_to_lla,
    enu_rotation,
    initial_azimuth_deg,
    lla_to_ecef,
    surface_distance_m,
)
from warnlink.physics.dynamics import FULL_MODEL, ForceModel, acceleration
from warnlink.physics.kepler import (
    minimum_energy_range_m,
    minimum_energy_shot,
    shot_with_apogee,
)
from warnlink.physics.propagate import propagate_path, propagate_to_impact, rk4_step
from warnlink.sim.trajectory import Trajectory, phases_of

PROPELLANT_FRACTION = 0.6
"""Share of lift-off mass burnt during boost (sets how thrust acceleration grows)."""
VERTICAL_RISE_SHARE = 0.1
"""Share of the burn flown vertically before the pitch program starts."""
BOOST_STEP_S = 0.5
"""RK4 step during boost, s."""
SAMPLE_STEP_S = 1.0
"""Sampling of the ballistic part of a flown trajectory, s."""
_SHOOTING_STEP_S = 5.0
_G0 = 9.80665
_MAX_ITERATIONS = 25
DEPRESSED_MAX_APOGEE_KM: Final = 100.0
"""A requested apogee at or below this (the Karman line) is a depressed flight, km."""
DEPRESSED_BURN_TIME_S: Final = 40.0
"""Default burn of a depressed flight, s: short, so that burnout stays low."""
DEPRESSED_PITCH_END_SHARE: Final = 0.5
"""Share of a depressed flight's burn after which the thrust elevation is held."""
GENERIC_BALLISTIC_COEFFICIENT_KG_M2: Final = 10_000.0
"""A generic re-entry vehicle's beta = m / (Cd A), kg/m^2: an order of magnitude only
(textbook re-entry bodies span ~5,000-50,000 kg/m^2, Regan & Anandakrishnan, *Dynamics of
Atmospheric Re-Entry*, 1993), not the figure of any real missile."""


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """What to fly: site, direction, range and (optionally) apogee.

    Attributes:
        site_lat_deg, site_lon_deg: launch point, WGS-84 geodetic.
        azimuth_deg: direction to the impact point, clockwise from true north.
        range_km: ground range to the impact point (great circle on the mean sphere).
        apogee_km: apogee height; None for a (near) minimum-energy trajectory.
        burn_time_s: boost duration; None chooses it from the energy needed (see
            `default_burn_time_s`), or `DEPRESSED_BURN_TIME_S` for a depressed flight.
        launch_offset_s: launch time, seconds after the scenario epoch.
        ballistic_coefficient_kg_m2: beta = m / (Cd A) of the re-entry body after burnout,
            kg/m^2; None flies it in vacuum.
    """

    site_lat_deg: float
    site_lon_deg: float
    azimuth_deg: float
    range_km: float
    apogee_km: float | None = None
    burn_time_s: float | None = None
    launch_offset_s: float = 0.0
    ballistic_coefficient_kg_m2: float | None = None

    def __post_init__(self) -> None:
        if not -90.0 <= self.site_lat_deg <= 90.0:
            raise PhysicsError(f"site latitude {self.site_lat_deg} deg is outside [-90, 90]")
        if not 10.0 <= self.range_km <= 15_000.0:
            raise PhysicsError(f"range {self.range_km} km is outside [10, 15000] km")
        if self.apogee_km is not None and self.apogee_km <= 0.0:
            raise PhysicsError(f"apogee must be positive, got {self.apogee_km} km")
        if self.burn_time_s is not None and not 10.0 <= self.burn_time_s <= 600.0:
            raise PhysicsError(f"burn time {self.burn_time_s} s is outside [10, 600] s")
        beta = self.ballistic_coefficient_kg_m2
        if beta is not None and not 100.0 <= beta <= 1e6:
            raise PhysicsError(f"ballistic coefficient {beta} kg/m^2 is outside [100, 1e6]")

    @property
    def depressed(self) -> bool:
        """Whether the request is a depressed flight (apogee <= `DEPRESSED_MAX_APOGEE_KM`)."""
        return self.apogee_km is not None and self.apogee_km <= DEPRESSED_MAX_APOGEE_KM

    @property
    def ballistic_model(self) -> ForceModel:
        """The force model after burnout: J2, rotating Earth, and drag if beta is given."""
        return FULL_MODEL.with_ballistic_coefficient(self.ballistic_coefficient_kg_m2)


def default_burn_time_s(range_km: float, apogee_km: float | None) -> float:
    """Burn time growing with energy: 60 s plus 20 s per 1000 km of equivalent range, <= 180 s.

    The equivalent range is the minimum-energy range of the Kepler launch speed, so a lofted
    shot burns as long as the longer flight its energy would allow.
    """
    shot = (
        minimum_energy_shot(range_km * 1e3)
        if apogee_km is None
        else shot_with_apogee(range_km * 1e3, apogee_km * 1e3)
    )
    equivalent_km = minimum_energy_range_m(shot.speed_mps) / 1e3
    return 60.0 + 120.0 * min(equivalent_km, 6000.0) / 6000.0


@dataclass(frozen=True, slots=True)
class _Boost:
    """Launch-site geometry and burn timing shared by every trial flight."""

    origin: FloatArray
    east: FloatArray
    north: FloatArray
    up: FloatArray
    azimuth_rad: float
    burn_s: float
    pitch_end_share: float = 1.0

    @property
    def rise_s(self) -> float:
        return BOOST_STEP_S * round(VERTICAL_RISE_SHARE * self.burn_s / BOOST_STEP_S)

    @property
    def pitch_end_s(self) -> float:
        return BOOST_STEP_S * round(self.pitch_end_share * self.burn_s / BOOST_STEP_S)

    def fly(self, params: FloatArray, record: bool) -> tuple[FloatArray, list[FloatArray]]:
        """Fly the boost for parameter rows (a0, final elevation, yaw); burnout states (M, 6)."""
        a0, elev_end, yaw = params[:, 0:1], params[:, 1:2], params[:, 2:3]
        az = self.azimuth_rad + yaw
        horizontal = np.sin(az) * self.east + np.cos(az) * self.north
        rise, burn, pitch_end = self.rise_s, self.burn_s, self.pitch_end_s

        def accel(pos: FloatArray, vel: FloatArray, t: float | FloatArray) -> FloatArray:
            tt = float(np.max(t))
            share = min(1.0, max(0.0, (tt - rise) / (pitch_end - rise)))
            elev = 0.5 * math.pi + share * (elev_end - 0.5 * math.pi)
            direction = np.cos(elev) * horizontal + np.sin(elev) * self.up
            thrust = a0 / (1.0 - PROPELLANT_FRACTION * min(tt, burn) / burn)
            return acceleration(pos, vel, FULL_MODEL) + thrust * direction

        m = params.shape[0]
        pos = np.repeat(self.origin[None, :], m, axis=0)
        vel = np.zeros((m, 3))
        samples = [np.concatenate([pos, vel], axis=1)] if record else []
        n_steps = round(burn / BOOST_STEP_S)
        for k in range(n_steps):
            pos, vel = rk4_step(pos, vel, k * BOOST_STEP_S, BOOST_STEP_S, accel)
            if record:
                samples.append(np.concatenate([pos, vel], axis=1))
        return np.concatenate([pos, vel], axis=1), samples


def _outcome(boost: _Boost, spec: LaunchSpec, params: FloatArray) -> FloatArray:
    """(M, 3) results of trial flights: ground range m, apogee m, cross-range m."""
    burnout, _ = boost.fly(params, record=False)
    sol = propagate_to_impact(burnout, step_s=_SHOOTING_STEP_S, model=spec.ballistic_model)
    rng = surface_distance_m(spec.site_lat_deg, spec.site_lon_deg, sol.lat_deg, sol.lon_deg)
    az = initial_azimuth_deg(spec.site_lat_deg, spec.site_lon_deg, sol.lat_deg, sol.lon_deg)
    daz = np.radians((az - spec.azimuth_deg + 180.0) % 360.0 - 180.0)
    return np.stack([rng, sol.apogee_alt_m, rng * daz], axis=1)


def _geometry(spec: LaunchSpec, burn_s: float) -> _Boost:
    rot = enu_rotation(spec.site_lat_deg, spec.site_lon_deg)
    return _Boost(
        origin=lla_to_ecef(spec.site_lat_deg, spec.site_lon_deg, 0.0),
        east=rot[0],
        north=rot[1],
        up=rot[2],
        azimuth_rad=math.radians(spec.azimuth_deg),
        burn_s=burn_s,
        pitch_end_share=DEPRESSED_PITCH_END_SHARE if spec.depressed else 1.0,
    )


def solve_boost(spec: LaunchSpec) -> tuple[FloatArray, float]:
    """Boost parameters (a0 m/s^2, final elevation rad, yaw rad) and burn time that fly `spec`.

    Raises:
        PhysicsError: if the shooting does not converge, or the thrust needed is too low to
            lift off (choose a shorter burn time).
    """
    range_m = spec.range_km * 1e3
    shot = (
        minimum_energy_shot(range_m)
        if spec.apogee_km is None
        else shot_with_apogee(range_m, spec.apogee_km * 1e3)
    )
    if spec.burn_time_s is not None:
        burn_s = spec.burn_time_s
    elif spec.depressed:
        burn_s = DEPRESSED_BURN_TIME_S
    else:
        burn_s = default_burn_time_s(spec.range_km, spec.apogee_km)
    boost = _geometry(spec, burn_s)
    target = np.array([range_m, shot.apogee_alt_m, 0.0])
    # Kepler start: ideal velocity gain = burnout speed + gravity loss over the burn.
    log_factor = -math.log(1.0 - PROPELLANT_FRACTION) / PROPELLANT_FRACTION
    gamma = shot.flight_path_angle_rad
    delta_v = shot.speed_mps + _G0 * burn_s * 0.5 * (1.0 + math.sin(gamma))
    params = np.array([delta_v / (burn_s * log_factor), gamma, 0.0])
    steps = np.array([1e-3 * params[0], 1e-3, 1e-3])
    scale = np.array([range_m, max(shot.apogee_alt_m, 1e5), range_m])
    for _ in range(_MAX_ITERATIONS):
        trials = np.repeat(params[None, :], 4, axis=0)
        trials[1:] += np.diag(steps)
        results = _outcome(boost, spec, trials)
        residual = results[0] - target
        if (
            abs(residual[0]) < 1e-3 * range_m
            and abs(residual[1]) < 5e-3 * shot.apogee_alt_m
            and abs(residual[2]) < 1e-3 * range_m
        ):
            if params[0] < 1.2 * _G0:
                raise PhysicsError(
                    f"burn time {burn_s:.0f} s is too long for {spec.range_km} km: the thrust "
                    "needed could not lift the missile off; give a shorter burn time"
                )
            return params, burn_s
        jac = (results[1:] - results[0]).T / steps
        delta = np.linalg.solve(jac / scale[:, None], -residual / scale)
        # Damping: no component moves more than its trust limit in one iteration.
        limit = np.array([0.3 * params[0], math.radians(10.0), math.radians(30.0)])
        shrink = float(np.max(np.abs(delta) / limit))
        params = params + (delta / shrink if shrink > 1.0 else delta)
        params[0] = max(params[0], 0.5 * _G0)
    raise PhysicsError(
        f"launch shooting did not converge for range {spec.range_km} km, apogee {spec.apogee_km} km"
    )


def fly(spec: LaunchSpec) -> Trajectory:
    """Fly a launch: solve the boost for the requested range and apogee, then sample the flight.

    Samples every 0.5 s during boost and every 1 s after burnout, plus the impact itself.

    Raises:
        PhysicsError: when the shooting cannot meet the request (see `solve_boost`).
    """
    params, burn_s = solve_boost(spec)
    boost = _geometry(spec, burn_s)
    burnout, samples = boost.fly(params[None, :], record=True)
    boost_states = np.concatenate(samples, axis=0)
    boost_times = BOOST_STEP_S * np.arange(boost_states.shape[0], dtype=np.float64)
    times, ballistic = propagate_path(
        burnout[0], step_s=SAMPLE_STEP_S, t0_s=burn_s, model=spec.ballistic_model
    )
    t_s = np.concatenate([boost_times, times[1:]])
    states = np.concatenate([boost_states, ballistic[1:]], axis=0)
    burnout_index = boost_states.shape[0] - 1
    phase, alt = phases_of(states[:, :3], burnout_index)
    lat, lon, _ = ecef_to_lla(states[-1, :3])
    return Trajectory(
        t_s=t_s,
        pos_ecef_m=states[:, :3].copy(),
        vel_ecef_mps=states[:, 3:].copy(),
        phase=phase,
        burnout_index=burnout_index,
        impact_time_s=float(t_s[-1]),
        impact_lat_deg=float(lat),
        impact_lon_deg=float(lon),
        apogee_m=float(np.max(alt)),
        range_m=float(surface_distance_m(spec.site_lat_deg, spec.site_lon_deg, lat, lon)),
        spec=spec,
    )
