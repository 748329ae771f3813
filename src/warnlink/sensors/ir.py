"""What a space-based infrared (IR) sensor measures: the line of sight to a boosting plume.

Model: a staring sensor on a satellite, its boresight pointing to the geodetic nadir of
the satellite's position. The satellite frame is the East-North-Up frame of the sub-satellite
point (`warnlink.geo.wgs84.enu_rotation`) with the boresight along -Up. For the unit vector
u from the satellite to the plume, with components (u_e, u_n, u_d) on East, North and the
boresight, the sensor measures two angles

    alpha = atan2(u_e, u_d)   (tilt from the boresight towards East)
    beta  = atan2(u_n, u_d)   (tilt from the boresight towards North)

the focal-plane coordinates of a pin-hole camera divided by its focal length, arctan'd
(Hartley & Zisserman, *Multiple View Geometry in Computer Vision*, 2nd ed., §6.1, for the
central projection). Each angle has independent zero-mean Gaussian noise of the sensor's
``angle_sigma_mrad``. No range: one satellite constrains the two directions across its line
of sight; two satellites looking at the same instant fix the position (stereo). The
sensor's ``range_sigma_m`` has no meaning for this model and is not used.
Units: metres, radians, seconds after the scenario epoch. Generic figures only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import FloatArray, enu_rotation
from warnlink.sensors.sensor import Sensor


@dataclass(frozen=True, slots=True)
class LosMeasurement:
    """One line-of-sight measurement of a plume by one IR satellite.

    Attributes:
        time_s: measurement time, s after the scenario epoch.
        sensor: name of the IR sensor.
        alpha_rad: tilt from the boresight towards the sub-satellite East, rad.
        beta_rad: tilt from the boresight towards the sub-satellite North, rad.
        angle_sigma_rad: 1-sigma error of each angle, rad.
    """

    time_s: float
    sensor: str
    alpha_rad: float
    beta_rad: float
    angle_sigma_rad: float

    @property
    def vector(self) -> FloatArray:
        """(2,) alpha, beta."""
        return np.array([self.alpha_rad, self.beta_rad])

    @property
    def noise_covariance(self) -> FloatArray:
        """(2, 2) diagonal covariance of (alpha, beta), rad^2."""
        return np.eye(2) * self.angle_sigma_rad**2


def _frame(sensor: Sensor) -> FloatArray:
    """(3, 3) rows East, North, boresight (-Up) of the sub-satellite point."""
    east, north, up = enu_rotation(sensor.lat_deg, sensor.lon_deg)
    return np.stack([east, north, -up])


def _check_ir(sensor: Sensor) -> None:
    if sensor.kind != "ir":
        raise PhysicsError(f"sensor {sensor.name} is not an IR sensor ({sensor.kind})")


def los_function(states: FloatArray, sensor: Sensor) -> FloatArray:
    """Angles alpha, beta (rad) of ECEF states (N, >=3) seen from the IR satellite: (N, 2).

    Vectorised over N (positions are the first three columns); see the module docstring.

    Raises:
        PhysicsError: if the sensor is not an IR sensor.
    """
    _check_ir(sensor)
    pos = np.asarray(states, dtype=np.float64).reshape(-1, np.shape(states)[-1])[:, :3]
    local = (pos - sensor.position_ecef_m) @ _frame(sensor).T
    return np.stack(
        [np.arctan2(local[:, 0], local[:, 2]), np.arctan2(local[:, 1], local[:, 2])], axis=1
    )


def los_ray(measurement: LosMeasurement, sensor: Sensor) -> tuple[FloatArray, FloatArray]:
    """The ray of a measurement: the satellite's ECEF position (3,) and the unit direction (3,).

    The inverse of `los_function` up to the unknown range (no noise model).

    Raises:
        PhysicsError: if the measurement is not the sensor's, or the sensor is not IR.
    """
    _check_ir(sensor)
    if measurement.sensor != sensor.name:
        raise PhysicsError(f"measurement of {measurement.sensor} given with sensor {sensor.name}")
    local = np.array([math.tan(measurement.alpha_rad), math.tan(measurement.beta_rad), 1.0])
    direction = _frame(sensor).T @ local
    return sensor.position_ecef_m, np.asarray(direction / np.linalg.norm(direction))
