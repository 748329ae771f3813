"""Simulated radar plots: range, azimuth and elevation of a flight from one radar site.

Model: `warnlink.sensors.radar` (range, azimuth, elevation with Gaussian noise) applied to the
flown truth. No false or missed plots: the radar reports at every revisit where
`warnlink.sensors.sensor.visible` says it sees the missile.
Units: metres, radians, seconds after the scenario epoch.
"""

from __future__ import annotations

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.sensors.radar import RadarMeasurement, measurement_function, wrap_angle_rad
from warnlink.sensors.sensor import Sensor, visible
from warnlink.sim.tracker import _candidate_times
from warnlink.sim.trajectory import Phase, Trajectory


def radar_measurements(
    trajectory: Trajectory, sensor: Sensor, rng: np.random.Generator
) -> list[RadarMeasurement]:
    """Noisy plots of one flight by one radar, in time order.

    The radar revisits on multiples of its ``update_s`` after the epoch (the schedule of
    `warnlink.sim.tracker`) and reports wherever `warnlink.sensors.sensor.visible` holds.

    Raises:
        PhysicsError: if the sensor is not a radar.
    """
    if sensor.kind != "radar":
        raise PhysicsError(f"sensor {sensor.name} is not a radar ({sensor.kind})")
    times = _candidate_times(trajectory, [sensor])
    if times.size == 0:
        return []
    since_launch = np.clip(times - trajectory.launch_time_s, 0.0, trajectory.impact_time_s)
    truth = trajectory.states_at(since_launch)
    boosting = trajectory.phases_at(since_launch) == Phase.BOOST
    seen = visible(sensor, truth[:, :3], boosting)
    if not seen.any():
        return []
    exact = measurement_function(truth[seen], sensor)
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
        for t, z in zip(times[seen], noisy, strict=True)
    ]
