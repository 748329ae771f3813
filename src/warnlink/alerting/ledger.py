"""Which message each part of a party's picture came from, and each track's history.

The picture keeps, per contribution (originator, track number), the latest payload of
each kind; the ledger keeps the id of the message that payload came from (by the
picture's own rule: a payload replaces one of the same kind unless its epoch is older),
so an alert can name exactly the messages it was derived from. It also keeps each
contribution's track states (epoch, latitude, longitude, height) for exports, the
newest `MAX_TRACK_POINTS` of them.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from warnlink.geo.wgs84 import ecef_to_lla_one
from warnlink.model import Envelope, Heartbeat, ImpactPrediction, TrackReport

ContributionKey = tuple[str, int]

#: Track states kept per contribution: over an hour at one state a second.
MAX_TRACK_POINTS: Final = 4000


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One track state: epoch (UTC ns), geodetic latitude/longitude (degrees), height (m)."""

    epoch: int
    lat_deg: float
    lon_deg: float
    alt_m: float


def point_of(track: TrackReport) -> TrackPoint:
    """The geodetic position of a track state (`geo.wgs84.ecef_to_lla_one`)."""
    return TrackPoint(track.epoch, *ecef_to_lla_one(*track.pos))


@dataclass
class Ledger:
    """Message ids of the latest payloads, and track histories, by contribution."""

    _latest: dict[tuple[str, int, str], tuple[int, str]] = field(default_factory=dict)
    _tracks: dict[ContributionKey, list[TrackPoint]] = field(default_factory=dict)

    def record(self, envelope: Envelope) -> None:
        """Note one message the picture applied (call it where the picture applies)."""
        payload = envelope.payload
        if isinstance(payload, Heartbeat):
            return
        key = (envelope.originator, payload.trk_id)
        epoch = payload.epoch if isinstance(payload, TrackReport | ImpactPrediction) else 0
        slot = (*key, envelope.kind)
        previous = self._latest.get(slot)
        if previous is None or epoch >= previous[0]:
            self._latest[slot] = (epoch, envelope.msg_id)
        if isinstance(payload, TrackReport):
            points = self._tracks.setdefault(key, [])
            point = point_of(payload)
            if not points or points[-1].epoch <= point.epoch:
                points.append(point)  # the usual case: states arrive in time order
            else:
                bisect.insort(points, point, key=lambda p: p.epoch)
            if len(points) > MAX_TRACK_POINTS:
                del points[0]  # the oldest: a track's history is bounded

    def msg_id(self, key: ContributionKey, kind: str) -> str | None:
        """The id of the message the contribution's current payload of `kind` came from."""
        found = self._latest.get((*key, kind))
        return None if found is None else found[1]

    def derived_from(self, key: ContributionKey, *kinds: str) -> tuple[str, ...]:
        """The ids of the contribution's current payloads of the given kinds, known ones only."""
        return tuple(i for kind in kinds if (i := self.msg_id(key, kind)) is not None)

    @property
    def tracks(self) -> Mapping[ContributionKey, Sequence[TrackPoint]]:
        """Every contribution's track states in time order (read, do not change)."""
        return self._tracks

    def track_points(self, key: ContributionKey) -> tuple[TrackPoint, ...]:
        """The contribution's track states in time order."""
        return tuple(self._tracks.get(key, ()))
