"""Simulated radar plots: range, azimuth and elevation of a flight from one radar site.

Model: the target's true ECEF position is expressed in the local East-North-Up frame of the
radar site (WGS-84 geodetic normal, `warnlink.geo.wgs84.enu_rotation`), and measured as

    range = |enu|,  azimuth = atan2(east, north),  elevation = atan2(up, hypot(east, north))

(azimuth clockwise from true north in (-pi, pi], elevation in [-pi/2, pi/2]), each with
independent zero-mean Gaussian noise of the sensor's ``range_sigma_m`` and
``angle_sigma_mrad`` (Skolnik, *Introduction to Radar Systems*, 3rd ed., §1.2 and ch. 2 for
the range/angle measurement model). No refraction, no bias, no false or missed plots: the
radar reports at every revisit where `warnlink.sim.sensors.visible` says it sees the missile.
Units: metres, radians, seconds after the scenario epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import FloatArray, enu_rotation
from warnlink.sim.sensors import Sensor, visible
from warnlink.sim.tracker import _candidate_times
from warnlink.sim.trajectory import Phase, Trajectory


@dataclass(frozen=True, slots=True)
class RadarMeasurement:
    """One radar plot.

    Attributes:
        time_s: measurement time, s after the scenario epoch.
        sensor: name of the radar.
        range_m: slant range from the radar site, m.
        azimuth_rad: clockwise from true north at the site, (-pi, pi].
        elevation_rad: above the site's local horizontal (WGS-84 normal), rad.
        range_sigma_m: 1-sigma range error, m.
        angle_sigma_rad: 1-sigma error of each angle, rad.
    """

    time_s: float
    sensor: str
    range_m: float
    azimuth_rad: float
    elevation_rad: float
    range_sigma_m: float
    angle_sigma_rad: float

    @property
    def vector(self) -> FloatArray:
        """(3,) range, azimuth, elevation."""
        return np.array([self.range_m, self.azimuth_rad, self.elevation_rad])

    @property
    def noise_covariance(self) -> FloatArray:
        """(3, 3) diagonal covariance of (range, azimuth, elevation), m^2 and rad^2."""
        return np.diag([self.range_sigma_m**2, self.angle_sigma_rad**2, self.angle_sigma_rad**2])


def wrap_angle_rad(angle: FloatArray) -> FloatArray:
    """Angles wrapped to (-pi, pi]."""
    return np.asarray(np.pi - np.mod(np.pi - np.asarray(angle, dtype=np.float64), 2.0 * np.pi))


def measurement_function(states: FloatArray, sensor: Sensor) -> FloatArray:
    """Range (m), azimuth and elevation (rad) of ECEF states (N, 6) or positions (N, 3).

    Vectorised over N; see the module docstring for the model. Returns (N, 3).
    """
    pos = np.asarray(states, dtype=np.float64).reshape(-1, np.shape(states)[-1])[:, :3]
    enu = (pos - sensor.position_ecef_m) @ enu_rotation(sensor.lat_deg, sensor.lon_deg).T
    east, north, up = enu[:, 0], enu[:, 1], enu[:, 2]
    horizontal = np.hypot(east, north)
    return np.stack(
        [np.hypot(horizontal, up), np.arctan2(east, north), np.arctan2(up, horizontal)], axis=1
    )


def measurement_to_ecef(measurement: RadarMeasurement, sensor: Sensor) -> FloatArray:
    """ECEF position (3,), m, of a plot: the inverse of `measurement_function` (no noise model)."""
    r, az, el = measurement.range_m, measurement.azimuth_rad, measurement.elevation_rad
    enu = r * np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])
    rotation = enu_rotation(sensor.lat_deg, sensor.lon_deg)
    return np.asarray(sensor.position_ecef_m + rotation.T @ enu)


def radar_measurements(
    trajectory: Trajectory, sensor: Sensor, rng: np.random.Generator
) -> list[RadarMeasurement]:
    """Noisy plots of one flight by one radar, in time order.

    The radar revisits on multiples of its ``update_s`` after the epoch (the schedule of
    `warnlink.sim.tracker`) and reports wherever `warnlink.sim.sensors.visible` holds.

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
