"""Cursor-on-Target (CoT) events of one event in a party's picture, for TAK clients.

Read from the event's projection (`interop.projection.EventProjection`), as every output is.

CoT 2.0 event schema (MITRE, as used by ATAK/WinTAK/TAK Server): ``<event version="2.0"
uid type how time start stale>`` with ``<point lat lon hae ce le>`` (WGS-84 degrees,
height above the ellipsoid in m, ``ce``/``le`` 1-sigma circular/linear errors in m,
9999999 when unknown) and a ``<detail>``. Types used:

- the missile's track: ``a-u-A-W-M-S-S``: atom, unknown affiliation (warnlink carries
  none), Air / Weapon / Missile in flight / Surface-launched / Surface-to-surface, the
  MIL-STD-2525B air-track branch as CoT spells it; ``how`` ``m-f`` (machine, fused);
  ``<track course speed>`` (degrees from true north, m/s over the ground); for exercise
  data the affiliation is ``j`` (joker: an exercise hostile), ``a-j-A-W-M-S-S``;
- the launch point and the impact point: ``u-d-c-e``, a TAK drawing ellipse, with
  ``<shape><ellipse major minor angle/></shape>`` holding the 95 % semi-axes in m and the
  bearing of the major axis in degrees; ``how`` ``h-e`` (estimated).

Data mode: every event's ``<detail>`` holds ``<__warnlink dataMode="REAL|TEST|EXERCISE|
SIMULATED"/>`` (what warnlink's own CoT input reads back); data that is not real also has
its mode at the head of the ``<contact callsign>`` and the ``<remarks>``
(``SIMULATED JPN-E1 missile``), since TAK clients show those and ignore unknown detail.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np

from warnlink.fusion.gating import state_of
from warnlink.geo.ellipse import ELLIPSE_95_SCALE
from warnlink.geo.wgs84 import ecef_to_lla, enu_rotation
from warnlink.interop.projection import EventProjection
from warnlink.model import Ellipse
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

TRACK_TYPE: Final = "a-u-A-W-M-S-S"
EXERCISE_TRACK_TYPE: Final = "a-j-A-W-M-S-S"
ELLIPSE_TYPE: Final = "u-d-c-e"
#: The detail element that carries the data mode, and its attribute.
MODE_TAG: Final = "__warnlink"
MODE_ATTRIBUTE: Final = "dataMode"
UNKNOWN_ERROR_M: Final = 9999999.0
TRACK_STALE_S: Final = 60.0
POINT_STALE_S: Final = 600.0


@dataclass(frozen=True, slots=True)
class CotEvent:
    """One CoT event: its uid and its XML (UTF-8, no declaration)."""

    uid: str
    xml: bytes


def cot_time(ns: int) -> str:
    """UTC ns as a CoT time (``2026-11-24T00:01:00.000Z``)."""
    moment = datetime.fromtimestamp(ns / NS_PER_S, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event_cot(event: EventProjection) -> list[CotEvent]:
    """The CoT events of one event: its latest track, launch point and impact point."""
    prefix = f"warnlink.{event.party}.{event.event_id}"
    now_ns, mode = event.as_of_ns, event.data_mode
    out: list[CotEvent] = []
    if event.track is not None:
        track = event.track.report
        mean, cov = state_of(track)
        lat, lon, alt = (float(v) for v in ecef_to_lla(mean[:3]))
        rotation = enu_rotation(lat, lon)
        enu_cov = rotation @ cov[:3, :3] @ rotation.T
        enu_vel = rotation @ mean[3:]
        ce = math.sqrt((enu_cov[0, 0] + enu_cov[1, 1]) / 2.0) if track.cov else UNKNOWN_ERROR_M
        le = math.sqrt(enu_cov[2, 2]) if track.cov else UNKNOWN_ERROR_M
        kind = EXERCISE_TRACK_TYPE if mode is DataMode.EXERCISE else TRACK_TYPE
        root = _event(f"{prefix}.track", kind, "m-f", track.epoch, now_ns, TRACK_STALE_S)
        _point(root, lat, lon, alt, ce, le)
        detail = ET.SubElement(root, "detail")
        course = math.degrees(math.atan2(enu_vel[0], enu_vel[1])) % 360.0
        speed = float(np.hypot(enu_vel[0], enu_vel[1]))
        ET.SubElement(detail, "track", course=f"{course:.1f}", speed=f"{speed:.1f}")
        _marked(
            detail,
            mode,
            f"{event.event_id} missile",
            f"phase {track.phase}, quality {track.trk_qual}",
        )
        out.append(CotEvent(f"{prefix}.track", ET.tostring(root)))
    if event.launch is not None:
        best = event.launch.report
        out.append(
            _ellipse(
                f"{prefix}.launch",
                (event.event_id, "launch point", mode),
                best.launch_lat,
                best.launch_lon,
                best.launch_aou,
                (best.launch_time, now_ns),
                now_ns + round(POINT_STALE_S * NS_PER_S),
            )
        )
    if event.impact is not None:
        ipp = event.impact.prediction
        out.append(
            _ellipse(
                f"{prefix}.impact",
                (event.event_id, "predicted impact", mode),
                ipp.impact_lat,
                ipp.impact_lon,
                ipp.impact_aou,
                (ipp.epoch, now_ns),
                max(ipp.impact_time, now_ns) + round(POINT_STALE_S * NS_PER_S),
            )
        )
    return out


def _marked(detail: ET.Element, mode: DataMode, callsign: str, remarks: str) -> None:
    """The mode element, the contact and the remarks, marked with the mode unless real."""
    ET.SubElement(detail, MODE_TAG, {MODE_ATTRIBUTE: mode.value})
    mark = "" if mode is DataMode.REAL else f"{mode.value} "
    ET.SubElement(detail, "contact", callsign=f"{mark}{callsign}")
    ET.SubElement(detail, "remarks").text = f"{mark}{remarks}"


def _event(uid: str, kind: str, how: str, time_ns: int, now_ns: int, stale_s: float) -> ET.Element:
    return ET.Element(
        "event",
        version="2.0",
        uid=uid,
        type=kind,
        how=how,
        time=cot_time(now_ns),
        start=cot_time(time_ns),
        stale=cot_time(now_ns + round(stale_s * NS_PER_S)),
    )


def _point(root: ET.Element, lat: float, lon: float, hae: float, ce: float, le: float) -> None:
    ET.SubElement(
        root,
        "point",
        lat=f"{lat:.6f}",
        lon=f"{lon:.6f}",
        hae=f"{hae:.1f}",
        ce=f"{ce:.1f}",
        le=f"{le:.1f}",
    )


def _ellipse(
    uid: str,
    what: tuple[str, str, DataMode],
    lat: float,
    lon: float,
    aou: Ellipse,
    start_now_ns: tuple[int, int],
    stale_ns: int,
) -> CotEvent:
    """A drawing ellipse of (event id, label, data mode): (start, now) as UTC ns; stale at
    `stale_ns`."""
    event_id, label, mode = what
    start_ns, now_ns = start_now_ns
    root = _event(uid, ELLIPSE_TYPE, "h-e", start_ns, now_ns, (stale_ns - now_ns) / NS_PER_S)
    _point(root, lat, lon, 0.0, aou.semi_major_m / ELLIPSE_95_SCALE, UNKNOWN_ERROR_M)
    detail = ET.SubElement(root, "detail")
    shape = ET.SubElement(detail, "shape")
    ET.SubElement(
        shape,
        "ellipse",
        major=f"{aou.semi_major_m:.1f}",
        minor=f"{aou.semi_minor_m:.1f}",
        angle=f"{aou.orientation_deg:.1f}",
    )
    _marked(detail, mode, f"{event_id} {label}", f"{label}, 95 % ellipse")
    return CotEvent(uid, ET.tostring(root))
