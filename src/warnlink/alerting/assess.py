"""What an event's predictions mean for one party's areas: impact mass and overflight.

Pure functions over immutable values. For an impact prediction: the probability mass of
its error ellipse over each area (`probability`). For a track state: the passages of the
predicted ground track over each land area and user zone (`overflight`), with entry and
exit times; a passage that ends at impact is an impact, not an overflight, and is left
to the impact assessment.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import shapely

from warnlink.alerting.overflight import GroundTrack, crossings
from warnlink.alerting.probability import impact_samples, probability_mass, reach
from warnlink.geo.areas import Area, AreaKind
from warnlink.geo.ellipse import ellipse_ring
from warnlink.geo.wgs84 import FloatArray
from warnlink.model import ImpactPrediction
from warnlink.model.record import DataMode

#: Areas whose overflight is assessed: the land and the user zones, not the sea.
OVERFLOWN_KINDS: Final = (AreaKind.LAND, AreaKind.ZONE)
#: Half-width of the corridor drawn around an overflown stretch of ground track, degrees.
CORRIDOR_DEG: Final = 0.25


class ThreatKind(enum.StrEnum):
    """An impact in an area, or a passage over it."""

    IMPACT = "impact"
    OVERFLIGHT = "overflight"


@dataclass(frozen=True, slots=True)
class Threat:
    """One event's threat to one area, as assessed from given messages.

    Attributes:
        event_id: the event in the party's picture.
        area: the area's name.  area_kind: its kind.
        kind: impact or overflight.
        probability: impact: the ellipse's probability mass over the area; overflight:
            1.0 (the mean path crosses it).
        start_ns: UTC ns of the impact, or of the entry over the area.
        end_ns: UTC ns of the impact, or of the exit.
        polygon: the warned area as a closed ring of (lat_deg, lon_deg): the 95 % ellipse,
            or a corridor of `CORRIDOR_DEG` around the overflown stretch.
        derived_from: the ids of the messages the assessment used.
        data_mode: whether the event is real (`DataMode`): a warning is real only for
            real data (CAP status ``Actual``).
    """

    event_id: str
    area: str
    area_kind: AreaKind
    kind: ThreatKind
    probability: float
    start_ns: int
    end_ns: int
    polygon: tuple[tuple[float, float], ...]
    derived_from: tuple[str, ...]
    data_mode: DataMode


def impact_threats(
    event_id: str,
    ipp: ImpactPrediction,
    areas: Sequence[Area],
    derived_from: tuple[str, ...],
    data_mode: DataMode,
) -> list[Threat]:
    """The areas an impact prediction puts probability mass on (mass > 0)."""
    limit = reach(ipp)
    within_reach = [a for a in areas if a.geometry.intersects(limit)]
    if not within_reach:
        return []
    samples: tuple[FloatArray, FloatArray] | None = None
    outline = ellipse_ring(ipp.impact_lat, ipp.impact_lon, ipp.impact_aou)
    threats = []
    for area in within_reach:
        # Every fixed draw lies inside `limit`: an area holding it all holds them all, so its
        # mass is 1 without drawing (the common case: an ellipse well inside an EEZ).
        if area.geometry.contains(limit):
            mass = 1.0
        else:
            samples = impact_samples(ipp) if samples is None else samples
            mass = probability_mass(samples, area.geometry)
        if mass > 0.0:
            threats.append(
                Threat(
                    event_id,
                    area.name,
                    area.kind,
                    ThreatKind.IMPACT,
                    mass,
                    ipp.impact_time,
                    ipp.impact_time,
                    outline,
                    derived_from,
                    data_mode,
                )
            )
    return threats


def overflight_threats(
    event_id: str,
    path: GroundTrack,
    areas: Sequence[Area],
    derived_from: tuple[str, ...],
    data_mode: DataMode,
) -> list[Threat]:
    """The land areas and user zones the predicted ground track passes over before impact.

    Several passages over one area (islands, a peninsula) make one threat: from the first
    entry to the last exit, its polygon the convex hull of `CORRIDOR_DEG` discs around
    every overflown sub-point.
    """
    impact_ns = path.times_ns[-1]
    threats = []
    for area in areas:
        if area.kind not in OVERFLOWN_KINDS:
            continue
        # A passage that ends at impact comes down there: an impact, not an overflight.
        passages = [c for c in crossings(path, area.geometry) if c.exit_ns < impact_ns]
        if not passages:
            continue
        overflown = shapely.MultiPoint(
            [(lon, lat) for c in passages for lon, lat in zip(c.lon_deg, c.lat_deg, strict=True)]
        )
        corridor = overflown.buffer(CORRIDOR_DEG, quad_segs=4).convex_hull
        ring = tuple((float(lat), float(lon)) for lon, lat in corridor.exterior.coords)
        threats.append(
            Threat(
                event_id,
                area.name,
                area.kind,
                ThreatKind.OVERFLIGHT,
                1.0,
                passages[0].entry_ns,
                passages[-1].exit_ns,
                ring,
                derived_from,
                data_mode,
            )
        )
    return threats
