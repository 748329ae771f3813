"""What a radar measures: range, azimuth and elevation of a target from one site.

Model: the target's ECEF position is expressed in the local East-North-Up frame of the
radar site (WGS-84 geodetic normal, `warnlink.geo.wgs84.enu_rotation`), and measured as

    range = |enu|,  azimuth = atan2(east, north),  elevation = atan2(up, hypot(east, north))

(azimuth clockwise from true north in (-pi, pi], elevation in [-pi/2, pi/2]), each with
independent zero-mean Gaussian noise of the sensor's ``range_sigma_m`` and
``angle_sigma_mrad`` (Skolnik, *Introduction to Radar Systems*, 3rd ed., §1.2 and ch. 2).
No refraction, no bias. Used both to simulate plots (`warnlink.sim.measurements`) and to
filter them (`warnlink.estimation.ukf`). Units: metres, radians, seconds after the epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from warnlink.geo.wgs84 import FloatArray
from warnlink.sensors.sensor import Sensor


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
    return range_azimuth_elevation(pos, sensor.position_ecef_m, sensor.enu_rotation)


def range_azimuth_elevation(
    pos_ecef_m: FloatArray, site_ecef_m: FloatArray, rotation: FloatArray
) -> FloatArray:
    """Range (m), azimuth and elevation (rad) of ECEF positions (..., 3) from radar sites.

    `site_ecef_m` (..., 3) and `rotation` (..., 3, 3), the sites' ECEF-to-ENU rotations,
    broadcast against the positions, so many targets seen from many sites (a batch of
    tracks, each with its own radar) are one call. Returns (..., 3).
    """
    enu = (pos_ecef_m - site_ecef_m) @ np.swapaxes(rotation, -1, -2)
    east, north, up = enu[..., 0], enu[..., 1], enu[..., 2]
    horizontal = np.hypot(east, north)
    return np.stack(
        [np.hypot(horizontal, up), np.arctan2(east, north), np.arctan2(up, horizontal)], axis=-1
    )


def measurement_to_ecef(measurement: RadarMeasurement, sensor: Sensor) -> FloatArray:
    """ECEF position (3,), m, of a plot: the inverse of `measurement_function` (no noise model)."""
    r, az, el = measurement.range_m, measurement.azimuth_rad, measurement.elevation_rad
    enu = r * np.array([math.cos(el) * math.sin(az), math.cos(el) * math.cos(az), math.sin(el)])
    return np.asarray(sensor.position_ecef_m + sensor.enu_rotation.T @ enu)
