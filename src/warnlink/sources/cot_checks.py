"""The physical checks and the time format of the CoT adapter: a stand-in for `sources.checks`.

`sources.checks` (finite numbers, positions between the Earth's surface and 50,000 km,
speeds under 12 km/s, latitudes and longitudes in range, ISO 8601 UTC times) is shared
with the UDL adapter and written beside this module. Until the two meet, the CoT adapter
calls these, one call per check, each raising `IngestError` with a reason of
`sources.base.REASONS`; at the merge each call becomes a call of its namesake there and
this module goes.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from warnlink.errors import IngestError
from warnlink.model.time import NS_PER_S

#: Heights above the WGS-84 ellipsoid below this are under the Earth's surface: the lowest
#: land (the Dead Sea shore, -430 m above mean sea level) where the geoid lies ~-30 m below
#: the ellipsoid, with margin.
SURFACE_M: Final = -1_000.0
#: The highest position a record may hold, m above the ellipsoid.
MAX_ALTITUDE_M: Final = 50_000_000.0
#: Every speed must be under this, m/s (faster than any ballistic missile's).
MAX_SPEED_MPS: Final = 12_000.0

_ISO_UTC: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00)", re.ASCII
)


def finite(value: float, field: str) -> float:
    """`value`, if it is a finite number."""
    if not math.isfinite(value):
        raise IngestError(f"{field} is {value}", reason="not_finite", field=field)
    return value


def latitude(lat_deg: float, field: str) -> float:
    """`lat_deg`, if within [-90, 90]."""
    if not -90.0 <= lat_deg <= 90.0:
        raise IngestError(f"latitude {lat_deg} outside [-90, 90]", reason="latitude", field=field)
    return lat_deg


def longitude(lon_deg: float, field: str) -> float:
    """`lon_deg`, if within [-180, 180]."""
    if not -180.0 <= lon_deg <= 180.0:
        raise IngestError(
            f"longitude {lon_deg} outside [-180, 180]", reason="longitude", field=field
        )
    return lon_deg


def altitude(alt_m: float, field: str) -> float:
    """`alt_m` (height above the ellipsoid), if between the surface and 50,000 km."""
    if not SURFACE_M <= alt_m <= MAX_ALTITUDE_M:
        raise IngestError(
            f"height {alt_m:.0f} m is below the Earth's surface or above 50,000 km",
            reason="altitude",
            field=field,
        )
    return alt_m


def speed(vel_mps: ArrayLike, field: str) -> None:
    """Refuses a velocity (m/s) of `MAX_SPEED_MPS` or more."""
    norm = float(np.linalg.norm(np.asarray(vel_mps, dtype=np.float64)))
    if not norm < MAX_SPEED_MPS:
        raise IngestError(
            f"speed {norm:.0f} m/s is not under {MAX_SPEED_MPS:.0f}", reason="speed", field=field
        )


def utc_ns(text: str, field: str) -> int:
    """An ISO 8601 UTC time (``2026-11-24T00:01:00.25Z``; ``Z`` or ``+00:00``) as UTC ns."""
    match = _ISO_UTC.fullmatch(text)
    if match is None:
        raise IngestError(f"{text[:40]!r} is not an ISO 8601 UTC time", reason="epoch", field=field)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise IngestError(f"{text!r}: {exc}", reason="epoch", field=field) from exc
    nanoseconds = int((fraction or "").ljust(9, "0"))
    return int(moment.timestamp()) * NS_PER_S + nanoseconds
