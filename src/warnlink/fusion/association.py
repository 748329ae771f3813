"""Gates that say whether two originators' reports could describe the same missile.

Tracks are gated statistically at a common time (`gating.track_distance2`, chi-square
99.9%) and assigned globally (`picture`). Where a party holds no track of an
originator (its tracks were not released), that originator's launch reports and
impact predictions are gated instead: launch times within 60 s and points within
100 km; impact times within 120 s and points within 150 km (great-circle), fixed
gates a few times wider than the 95% ellipses the estimators state.
"""

from __future__ import annotations

from typing import Final

from warnlink.fusion.gating import GATE_CHI2_3DOF, track_distance2
from warnlink.geo.wgs84 import surface_distance_one_m
from warnlink.model import ImpactPrediction, LaunchReport, TrackReport
from warnlink.model.time import NS_PER_S

LAUNCH_GATE_M: Final = 100_000.0
LAUNCH_GATE_S: Final = 60.0
IMPACT_GATE_M: Final = 150_000.0
IMPACT_GATE_S: Final = 120.0


def tracks_match(a: TrackReport, b: TrackReport) -> bool:
    """Same missile, by the statistical gate at a common time."""
    distance2 = track_distance2(a, b)
    return distance2 is not None and distance2 <= GATE_CHI2_3DOF


def launches_match(a: LaunchReport, b: LaunchReport) -> bool:
    """Same missile, by launch time and point."""
    if abs(a.launch_time - b.launch_time) / NS_PER_S > LAUNCH_GATE_S:
        return False
    distance = surface_distance_one_m(a.launch_lat, a.launch_lon, b.launch_lat, b.launch_lon)
    return distance <= LAUNCH_GATE_M


def impacts_match(a: ImpactPrediction, b: ImpactPrediction) -> bool:
    """Same missile, by predicted impact time and point."""
    if abs(a.impact_time - b.impact_time) / NS_PER_S > IMPACT_GATE_S:
        return False
    distance = surface_distance_one_m(a.impact_lat, a.impact_lon, b.impact_lat, b.impact_lon)
    return distance <= IMPACT_GATE_M
