"""Gates that say whether two originators' reports describe the same missile.

A deliberately simple first association (issue 3 brings global nearest neighbour
and covariance intersection): two tracks are the same missile when their states,
brought to a common time by constant-velocity extrapolation over at most 60 s,
are within 50 km; two launch reports when their times are within 60 s and their
points within 100 km; two impact predictions when within 120 s and 150 km.
Distances are straight-line ECEF (tracks) or great-circle (surface points).
"""

from __future__ import annotations

import math
from typing import Final

from warnlink.geo.wgs84 import surface_distance_m
from warnlink.model import ImpactPrediction, LaunchReport, TrackReport
from warnlink.model.time import NS_PER_S

TRACK_GATE_M: Final = 50_000.0
TRACK_MAX_GAP_S: Final = 60.0
LAUNCH_GATE_M: Final = 100_000.0
LAUNCH_GATE_S: Final = 60.0
IMPACT_GATE_M: Final = 150_000.0
IMPACT_GATE_S: Final = 120.0


def tracks_match(a: TrackReport, b: TrackReport) -> bool:
    """Same missile, by position at a common time (constant-velocity extrapolation)."""
    dt_s = (b.epoch - a.epoch) / NS_PER_S
    if abs(dt_s) > TRACK_MAX_GAP_S:
        return False
    predicted = [p + v * dt_s for p, v in zip(a.pos, a.vel, strict=True)]
    return math.dist(predicted, b.pos) <= TRACK_GATE_M


def launches_match(a: LaunchReport, b: LaunchReport) -> bool:
    """Same missile, by launch time and point."""
    if abs(a.launch_time - b.launch_time) / NS_PER_S > LAUNCH_GATE_S:
        return False
    distance = float(surface_distance_m(a.launch_lat, a.launch_lon, b.launch_lat, b.launch_lon))
    return distance <= LAUNCH_GATE_M


def impacts_match(a: ImpactPrediction, b: ImpactPrediction) -> bool:
    """Same missile, by predicted impact time and point."""
    if abs(a.impact_time - b.impact_time) / NS_PER_S > IMPACT_GATE_S:
        return False
    distance = float(surface_distance_m(a.impact_lat, a.impact_lon, b.impact_lat, b.impact_lon))
    return distance <= IMPACT_GATE_M
