"""Predicted ground track of a missile and the times it passes over an area.

Model: the track's mean state is flown ballistically to impact with
`physics.propagate.propagate_path` (J2 gravity, rotating Earth, no drag: the drag of an
unknown body is left out, which moves the ground track by well under the sampling step
before re-entry); the ground track is the sub-point (geodetic latitude/longitude) every
`STEP_S` seconds (flown in `COARSE_STEP_S` steps high above the air and sampled between
them by Hermite interpolation: centimetres off the path flown at `STEP_S`). The state's
uncertainty is not flown: entry and exit times are those of the mean path, to within
`STEP_S` / 2 (the crossing is taken at the mid-time between the samples either side of
the border).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely

from warnlink.errors import PhysicsError
from warnlink.geo.wgs84 import FloatArray, ecef_to_lla
from warnlink.model import TrackReport
from warnlink.model.time import NS_PER_S
from warnlink.physics.propagate import COARSE_STEP_S, propagate_path

STEP_S: Final = 5.0
MAX_FLIGHT_S: Final = 7200.0


@dataclass(frozen=True, slots=True)
class GroundTrack:
    """A predicted flight path: times (UTC ns), sub-points (degrees) and heights (m)."""

    times_ns: tuple[int, ...]
    lat_deg: tuple[float, ...]
    lon_deg: tuple[float, ...]
    alt_m: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Crossing:
    """One passage over an area: entry and exit times (UTC ns), and the sub-points between."""

    entry_ns: int
    exit_ns: int
    lat_deg: tuple[float, ...]
    lon_deg: tuple[float, ...]


def ground_track(track: TrackReport) -> GroundTrack | None:
    """The ballistic path from a track state to impact; None if it does not come down."""
    state = np.array([*track.pos, *track.vel], dtype=np.float64)
    try:
        times_s, states = propagate_path(
            state, step_s=STEP_S, max_time_s=MAX_FLIGHT_S, coarse_step_s=COARSE_STEP_S
        )
    except PhysicsError:
        return None
    lat, lon, alt = ecef_to_lla(states[:, :3])
    return GroundTrack(
        tuple(track.epoch + round(float(t) * NS_PER_S) for t in times_s),
        _floats(lat),
        _floats(lon),
        _floats(alt),
    )


def crossings(path: GroundTrack, geometry: Any, *, after_ns: int | None = None) -> list[Crossing]:
    """Every passage of the ground track over a lon/lat polygon.

    The last sample is the impact itself; a path that comes down inside the area exits it
    at impact. Passages ending before `after_ns` are left out.
    """
    inside = shapely.contains_xy(geometry, np.array(path.lon_deg), np.array(path.lat_deg))
    times = path.times_ns
    found: list[Crossing] = []
    start: int | None = None
    for i, flag in enumerate([*inside.tolist(), False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            entry = times[start] if start == 0 else (times[start - 1] + times[start]) // 2
            last = i - 1
            exit_ = times[last] if i >= len(times) else (times[last] + times[i]) // 2
            if after_ns is None or exit_ >= after_ns:
                found.append(Crossing(entry, exit_, path.lat_deg[start:i], path.lon_deg[start:i]))
            start = None
    return found


def _floats(values: FloatArray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
