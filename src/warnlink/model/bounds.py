"""The physical envelope of what a message may say, one home for every bound.

Absolute bounds are `msgspec.Meta` on the wire types (`model.payloads`), so decoding
refuses a value outside them with a `DecodeError`; rules relative to other fields or
to the message's creation time are `model.plausibility.check_plausible`. The input
port (`sources.checks`) uses the same bounds, so an originator cannot send what its
receivers refuse.

The bounds, and why:

- positions: height above the WGS-84 ellipsoid in (-1 km, 50,000 km]. The lowest dry
  land is about 430 m below sea level (Dead Sea shore) and the geoid lies at most
  ~106 m below the ellipsoid, so -1 km leaves margin for noise without taking
  underground fixes. The highest ballistic apogee flown is ~7,700 km (Hwasong-19,
  lofted, October 2024); 50,000 km is far above it and above geostationary orbit
  (35,786 km), the bound of "around the Earth". On the wire each ECEF coordinate is
  within `MAX_ECEF_M` (the equatorial radius plus that height).
- velocities: speed relative to the rotating Earth under 12 km/s. Anything bound to
  the Earth moves slower than the escape speed (11.19 km/s inertial at the surface,
  less higher up); the frame's rotation adds at most ~0.47 km/s at the surface, and
  an ICBM burns out near 7 km/s.
- times: UTC in [2000-01-01, 2100-01-01): finite integer nanoseconds that fit a
  signed 64-bit store and an ISO 8601 text. Event times relative to `created` are
  checked in `model.plausibility` (created itself is checked against the receiver's
  clock by the freshness window).
- flight time: at most `MAX_FLIGHT_S` (2 h): the longest ballistic flight flown lasted
  86 min (Hwasong-19, lofted).
- sigmas: at most one day (a prediction that uncertain warns nobody).
- error ellipses: semi-axes at most 20,000 km (half the Earth's circumference: an
  ellipse beyond it covers the whole globe).
- covariances: every entry within `MAX_COVARIANCE`, 1e16 (a position sigma of
  100,000 km, twice the envelope); positive definite, checked on decode.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

MIN_ALTITUDE_M: Final = -1_000.0
"""Lowest height above the WGS-84 ellipsoid a state may have, m (exclusive)."""
MAX_ALTITUDE_M: Final = 50_000_000.0
"""Highest height above the WGS-84 ellipsoid a state may have, m (50,000 km)."""
MAX_SPEED_MPS: Final = 12_000.0
"""Speeds at or above this (ECEF, m/s) are refused."""
MAX_ECEF_M: Final = 6_378_137.0 + MAX_ALTITUDE_M
"""No ECEF coordinate of a valid position exceeds this in magnitude, m."""
MIN_UTC_NS: Final = 946_684_800 * 10**9
"""2000-01-01T00:00:00Z, UTC ns: the earliest time a message may carry."""
MAX_UTC_NS: Final = 4_102_444_800 * 10**9
"""2100-01-01T00:00:00Z, UTC ns: every time a message carries is before it."""
MAX_FLIGHT_S: Final = 7_200.0
"""Longest time from a state (or launch) to impact, s."""
MAX_SIGMA_S: Final = 86_400.0
"""Largest time sigma, s."""
MAX_AXIS_M: Final = 20_000_000.0
"""Largest semi-axis of an error ellipse, m."""
MAX_COVARIANCE: Final = 1e16
"""Largest magnitude of a covariance entry, m^2 (and m^2/s, m^2/s^2)."""

UtcNs = Annotated[int, msgspec.Meta(ge=MIN_UTC_NS, lt=MAX_UTC_NS)]
EcefCoordinate = Annotated[float, msgspec.Meta(ge=-MAX_ECEF_M, le=MAX_ECEF_M)]
EcefVelocity = Annotated[float, msgspec.Meta(gt=-MAX_SPEED_MPS, lt=MAX_SPEED_MPS)]
SigmaSeconds = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_SIGMA_S)]
AxisMetres = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_AXIS_M)]
CovarianceEntry = Annotated[float, msgspec.Meta(ge=-MAX_COVARIANCE, le=MAX_COVARIANCE)]
