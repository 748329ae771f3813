"""The tracks as they arrived: each contribution's track states, sampled from a picture.

A `Picture` keeps each originator's latest track state only; the display draws the
flown ground track and the altitude profile, so the web layer samples the picture
(every second of scenario time in the demo, and whenever it builds a state) and keeps
each new state's geodetic position. Bounded: a contribution keeps its latest
`MAX_POINTS` points.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from warnlink.fusion.picture import ContributionKey, Picture
from warnlink.geo.wgs84 import ecef_to_lla
from warnlink.model import TrackReport

#: Points kept per contribution: over an hour of flight at one state a second.
MAX_POINTS: Final = 4000


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One track state's position: event time (UTC ns), WGS-84 latitude, longitude, height."""

    epoch: int
    lat: float
    lon: float
    alt_m: float


def point_of(track: TrackReport) -> TrackPoint:
    """The geodetic position of a track state (`geo.wgs84.ecef_to_lla`)."""
    lat, lon, alt = ecef_to_lla(track.pos)
    return TrackPoint(track.epoch, float(lat), float(lon), float(alt))


class TrackHistory:
    """Each contribution's track points, oldest first, as sampled."""

    def __init__(self) -> None:
        self._points: dict[ContributionKey, deque[TrackPoint]] = {}

    def sample(self, picture: Picture) -> None:
        """Keep every contribution's track state not seen before (a newer epoch)."""
        for event in picture.events.values():
            for key, contribution in event.contributions.items():
                track = contribution.track
                if track is None:
                    continue
                points = self._points.setdefault(key, deque(maxlen=MAX_POINTS))
                if not points or track.epoch > points[-1].epoch:
                    points.append(point_of(track))

    @property
    def points(self) -> Mapping[ContributionKey, Sequence[TrackPoint]]:
        """Contribution key -> its points, oldest first."""
        return self._points
