"""Simulated plots: radar range, azimuth and elevation, and IR lines of sight, of one flight.

Models: `warnlink.sensors.radar` (range, azimuth, elevation with Gaussian noise) and
`warnlink.sensors.ir` (two line-of-sight angles from a satellite, Gaussian noise) applied to
the flown truth. Each sensor revisits on multiples of its ``update_s`` after the epoch and
reports wherever `warnlink.sensors.sensor.visible` says it sees the missile (for IR: the
burning plume above low cloud). No false or missed plots.
Units: metres, radians, seconds after the scenario epoch.
"""

from __future__ import annotations

import math

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import FloatArray
from warnlink.sensors.ir import LosMeasurement, los_function
from warnlink.sensors.radar import RadarMeasurement, measurement_function, wrap_angle_rad
from warnlink.sensors.sensor import Sensor, visible
from warnlink.sim.trajectory import Phase, Trajectory


def revisit_times(trajectory: Trajectory, sensor: Sensor) -> FloatArray:
    """The sensor's revisit instants (multiples of ``update_s``) from launch to impact."""
    start = trajectory.launch_time_s
    end = start + trajectory.impact_time_s
    first, last = math.ceil(start / sensor.update_s), math.floor(end / sensor.update_s)
    return np.round(np.arange(first, last + 1) * sensor.update_s, 6)


def _seen(trajectory: Trajectory, sensor: Sensor) -> tuple[FloatArray, FloatArray]:
    """Revisit times (K,) at which the sensor sees the flight, and the true states (K, 6)."""
    times = revisit_times(trajectory, sensor)
    if times.size == 0:
        return times, np.empty((0, 6))
    since_launch = np.clip(times - trajectory.launch_time_s, 0.0, trajectory.impact_time_s)
    truth = trajectory.states_at(since_launch)
    boosting = trajectory.phases_at(since_launch) == Phase.BOOST
    seen = visible(sensor, truth[:, :3], boosting)
    return times[seen], truth[seen]


def radar_measurements(
    trajectory: Trajectory, sensor: Sensor, rng: np.random.Generator
) -> list[RadarMeasurement]:
    """Noisy plots of one flight by one radar, in time order.

    Raises:
        PhysicsError: if the sensor is not a radar.
    """
    if sensor.kind != "radar":
        raise PhysicsError(f"sensor {sensor.name} is not a radar ({sensor.kind})")
    times, truth = _seen(trajectory, sensor)
    if times.size == 0:
        return []
    exact = measurement_function(truth, sensor)
    angle_sigma = sensor.angle_sigma_mrad * 1e-3
    sigmas = np.array([sensor.range_sigma_m, angle_sigma, angle_sigma])
    noisy = exact + rng.standard_normal(exact.shape) * sigmas
    noisy[:, 1] = wrap_angle_rad(noisy[:, 1])
    return [
        RadarMeasurement(
            time_s=float(t),
            sensor=sensor.name,
            range_m=float(z[0]),
            azimuth_rad=float(z[1]),
            elevation_rad=float(z[2]),
            range_sigma_m=sensor.range_sigma_m,
            angle_sigma_rad=angle_sigma,
        )
        for t, z in zip(times, noisy, strict=True)
    ]


def ir_measurements(
    trajectory: Trajectory, sensor: Sensor, rng: np.random.Generator
) -> list[LosMeasurement]:
    """Noisy lines of sight to one flight's plume from one IR satellite, in time order.

    Raises:
        PhysicsError: if the sensor is not an IR sensor.
    """
    if sensor.kind != "ir":
        raise PhysicsError(f"sensor {sensor.name} is not an IR sensor ({sensor.kind})")
    times, truth = _seen(trajectory, sensor)
    if times.size == 0:
        return []
    angle_sigma = sensor.angle_sigma_mrad * 1e-3
    noisy = los_function(truth, sensor) + rng.standard_normal((times.size, 2)) * angle_sigma
    return [
        LosMeasurement(
            time_s=float(t),
            sensor=sensor.name,
            alpha_rad=float(z[0]),
            beta_rad=float(z[1]),
            angle_sigma_rad=angle_sigma,
        )
        for t, z in zip(times, noisy, strict=True)
    ]
