"""Generic sensor models: ground or ship radar, and space-based infrared (IR) early warning.

Public, textbook level only (Skolnik, *Introduction to Radar Systems*, 3rd ed., ch. 1-2 for
the range/angle measurement model). Each sensor measures position with independent errors
along the line of sight (range, sigma_r) and across it (two angles, sigma_theta times range),
so its position covariance in ECEF is

    R = U diag(sigma_r^2, (rho sigma_theta)^2, (rho sigma_theta)^2) U^T

with U the line-of-sight frame. Visibility: within the maximum range and, for IR, the line of
sight not blocked by the WGS-84 ellipsoid. A radar sees a target whose elevation on the
4/3-Earth model of standard atmospheric refraction is above its mask (Skolnik, 3rd ed.,
§8.4; Doerry, "Earth curvature and atmospheric refraction effects on radar signal
propagation", Sandia SAND2012-10690, 2013): on a sphere of effective radius a_e = 4/3 R
(R the mean Earth radius), a target at slant range r and height h_t seen from height h_s has

    sin(el) = ((a_e + h_t)^2 - (a_e + h_s)^2 - r^2) / (2 r (a_e + h_s)),

so rays bending with the air reach about 15 % beyond the geometric horizon.
IR sees only the burning plume, so only during boost and once the plume is above low cloud
(`IR_MIN_ALTITUDE_M`). What IR measures is two line-of-sight angles (`warnlink.sensors.ir`);
its ``range_sigma_m`` is not used by that model (the field stays required so every sensor
reads alike), and `measurement_covariance` is meant for radars.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from warnlink.errors import ConfigError
from warnlink.geo.wgs84 import A_M, B_M, MEAN_RADIUS_M, FloatArray, enu_rotation, lla_to_ecef
from warnlink.physics.propagate import approx_altitude_m

SensorKind = Literal["radar", "ir"]
EFFECTIVE_EARTH_FACTOR = 4.0 / 3.0
"""Effective Earth radius factor of standard atmospheric refraction (4/3-Earth model)."""
IR_MIN_ALTITUDE_M = 3000.0
"""Height above which a boosting missile's plume is assumed visible from space (low cloud)."""


@dataclass(frozen=True, slots=True)
class Sensor:
    """One sensor at generic performance.

    Attributes:
        name: unique name (``"JPN-SHIP1"``).
        party: owning party (``"JPN"``).
        kind: ``"radar"`` or ``"ir"`` (space-based infrared, boost phase only).
        lat_deg, lon_deg, alt_m: position, WGS-84 (a GEO satellite has alt_m ~ 35.786e6).
        max_range_km: detection range.
        min_elevation_deg: elevation mask at the sensor (radar; ignored for IR).
        update_s: revisit interval; updates fall on multiples of it after the epoch.
        range_sigma_m: 1-sigma error along the line of sight (radar; not used for IR).
        angle_sigma_mrad: 1-sigma error of each of the two angles.
        latency_s: delay from measurement to publication of the track report.
    """

    name: str
    party: str
    kind: SensorKind
    lat_deg: float
    lon_deg: float
    alt_m: float
    max_range_km: float
    min_elevation_deg: float
    update_s: float
    range_sigma_m: float
    angle_sigma_mrad: float
    latency_s: float

    def __post_init__(self) -> None:
        if self.kind not in ("radar", "ir"):
            raise ConfigError(f"sensor kind must be 'radar' or 'ir', got {self.kind!r}", key="kind")
        for name in ("max_range_km", "update_s", "range_sigma_m", "angle_sigma_mrad"):
            if not getattr(self, name) > 0.0:
                raise ConfigError(f"sensor {self.name}: must be positive", key=name)
        if self.latency_s < 0.0:
            raise ConfigError(f"sensor {self.name}: latency must be >= 0", key="latency_s")
        if not -90.0 <= self.lat_deg <= 90.0:
            raise ConfigError(f"sensor {self.name}: latitude out of range", key="lat_deg")

    @property
    def position_ecef_m(self) -> FloatArray:
        """The site, ECEF (3,), m (read-only)."""
        return _site_frame(self.lat_deg, self.lon_deg, self.alt_m)[0]

    @property
    def enu_rotation(self) -> FloatArray:
        """The ECEF-to-ENU rotation (3, 3) at the site (read-only)."""
        return _site_frame(self.lat_deg, self.lon_deg, self.alt_m)[1]


@functools.lru_cache(maxsize=1024)
def _site_frame(lat_deg: float, lon_deg: float, alt_m: float) -> tuple[FloatArray, FloatArray]:
    """A site's ECEF position and ENU rotation, computed once per site: a filter asks for
    them at every update. Read-only, as they are shared."""
    position = lla_to_ecef(lat_deg, lon_deg, alt_m)
    rotation = enu_rotation(lat_deg, lon_deg)
    position.setflags(write=False)
    rotation.setflags(write=False)
    return position, rotation


def line_of_sight_clear(origin_m: FloatArray, targets_m: FloatArray) -> NDArray[np.bool_]:
    """True where the segment origin -> target (M, 3) does not pass below the WGS-84 ellipsoid.

    Scales the axes so the ellipsoid becomes the unit sphere and tests the segment's closest
    approach to the centre.
    """
    scale = np.array([1.0 / A_M, 1.0 / A_M, 1.0 / B_M])
    o = origin_m * scale
    d = targets_m * scale - o
    s = np.clip(-(d @ o) / np.sum(d * d, axis=1), 0.0, 1.0)
    closest = o + s[:, None] * d
    # A hair below 1 so points on the surface (a sensor on the ground) do not block themselves.
    return np.asarray(np.sum(closest * closest, axis=1) >= 1.0 - 1e-9)


def visible(
    sensor: Sensor, targets_m: FloatArray, boosting: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Which of the target positions (M, 3) the sensor detects; `boosting` (M,) for IR."""
    origin = sensor.position_ecef_m
    rng = np.linalg.norm(targets_m - origin, axis=1)
    ok = rng <= sensor.max_range_km * 1e3
    if sensor.kind == "ir":
        ok &= line_of_sight_clear(origin, targets_m)
        return np.asarray(ok & boosting & (approx_altitude_m(targets_m) >= IR_MIN_ALTITUDE_M))
    elevation = refracted_elevation_deg(sensor.alt_m, approx_altitude_m(targets_m), rng)
    return np.asarray(ok & (elevation >= sensor.min_elevation_deg))


def refracted_elevation_deg(
    sensor_alt_m: float, target_alt_m: FloatArray, slant_range_m: FloatArray
) -> FloatArray:
    """Elevation (deg) of targets on the 4/3-Earth refraction model (module docstring)."""
    a_e = EFFECTIVE_EARTH_FACTOR * MEAN_RADIUS_M
    r = np.maximum(slant_range_m, 1e-6)
    base = a_e + sensor_alt_m
    sine = ((a_e + target_alt_m) ** 2 - base**2 - r**2) / (2.0 * r * base)
    return np.asarray(np.degrees(np.arcsin(np.clip(sine, -1.0, 1.0))))


def measurement_covariance(sensor: Sensor, target_m: FloatArray) -> FloatArray:
    """ECEF position covariance (3, 3), m^2, of one measurement of the target at (3,)."""
    los = target_m - sensor.position_ecef_m
    rho = float(np.linalg.norm(los))
    u = los / rho
    helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    v = np.cross(u, helper)
    v /= np.linalg.norm(v)
    w = np.cross(u, v)
    frame = np.stack([u, v, w], axis=1)
    cross = rho * sensor.angle_sigma_mrad * 1e-3
    return np.asarray(frame @ np.diag([sensor.range_sigma_m**2, cross**2, cross**2]) @ frame.T)
