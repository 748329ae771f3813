"""CoT events as a TAK source writes them, for the CoT input's tests."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np

from warnlink.geo.wgs84 import ecef_to_lla, enu_rotation
from warnlink.model.covariance import unpack_covariance
from warnlink.model.record import SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.sources.udl_encode import iso_ns

#: 2026-11-24T00:01:00.250Z as UTC ns.
START_NS = 1_795_478_460_250_000_000
START = "2026-11-24T00:01:00.250Z"


def missile_event(
    uid: str = "tak-a.track-1",
    *,
    kind: str = "a-h-A-W-M-S-S",
    start: str | None = START,
    time: str | None = "2026-11-24T00:01:01.000Z",
    stale: str | None = "2026-11-24T00:02:00.000Z",
    point: dict[str, str] | None = None,
    track: dict[str, str] | None = None,
    marks: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> bytes:
    """One CoT event of a missile in midcourse over the Sea of Japan; keys override or drop.

    `drop` names what to leave out: ``point``, ``track``, ``detail``, or an event attribute.
    """
    attributes = {
        "version": "2.0",
        "uid": uid,
        "type": kind,
        "how": "m-f",
        "time": time,
        "start": start,
        "stale": stale,
    }
    root = ET.Element(
        "event", {k: v for k, v in attributes.items() if v is not None and k not in drop}
    )
    if "point" not in drop:
        values = {"lat": "39.5", "lon": "134.25", "hae": "250000", "ce": "150", "le": "300"}
        ET.SubElement(root, "point", {**values, **(point or {})})
    if "detail" not in drop:
        detail = ET.SubElement(root, "detail")
        if "track" not in drop:
            ET.SubElement(
                detail, "track", {"course": "90", "speed": "3000", "slope": "10", **(track or {})}
            )
        ET.SubElement(detail, "contact", {"callsign": uid})
        if marks is not None:
            ET.SubElement(detail, "__warnlink", marks)
    return ET.tostring(root)


def other_event(uid: str = "tak-a.friend", kind: str = "a-f-G-U-C") -> bytes:
    """An event that is not a hostile missile (a friendly ground unit, by default)."""
    return missile_event(uid, kind=kind)


def record_event(record: SourceRecord, *, kind: str = "a-h-A-W-M-S-S") -> bytes:
    """A record as a TAK source's CoT XML event, the inverse of `sources.cot`'s mapping.

    Position as WGS-84 latitude, longitude and height; velocity as course, speed and
    slope in the local East-North-Up frame; ``ce`` and ``le`` the 1-sigma horizontal (per
    axis, RMS of east and north) and vertical position errors of the covariance (unknown
    without one); the phase and data mode in warnlink's ``<__warnlink>`` mark.
    """
    lat, lon, hae = (float(v) for v in ecef_to_lla(np.array(record.pos_ecef_m)))
    rotation = enu_rotation(lat, lon)
    east, north, up = (float(v) for v in rotation @ np.array(record.vel_ecef_mps))
    horizontal = math.hypot(east, north)
    point = {"lat": f"{lat:.10f}", "lon": f"{lon:.10f}", "hae": f"{hae:.4f}"}
    if record.cov is not None:
        enu = rotation @ unpack_covariance(record.cov)[:3, :3] @ rotation.T
        point |= {"ce": f"{math.sqrt((enu[0, 0] + enu[1, 1]) / 2):.3f}"}
        point |= {"le": f"{math.sqrt(enu[2, 2]):.3f}"}
    else:
        point |= {"ce": "9999999", "le": "9999999"}  # CoT's "unknown"
    time = iso_ns(record.epoch_ns)
    return missile_event(
        record.track_id,
        kind=kind,
        start=time,
        time=time,
        stale=iso_ns(record.epoch_ns + 60 * NS_PER_S),
        point=point,
        track={
            "course": f"{math.degrees(math.atan2(east, north)) % 360.0:.9f}",
            "speed": f"{math.hypot(horizontal, up):.6f}",
            "slope": f"{math.degrees(math.atan2(up, horizontal)):.9f}",
        },
        marks={"phase": record.phase.value, "dataMode": record.data_mode.value},
    )
