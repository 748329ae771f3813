"""Source records as CoT XML: what a TAK source sends its node's CoT port.

The inverse of `sources.cot.record_from_xml` for what CoT carries (docs/integration.md,
"Cursor-on-Target over TLS"): one hostile missile event (``a-h-A-W-M-S-S``, how ``m-f``)
per record, the track id as ``uid``, the state's time as ``start`` (ISO 8601 UTC to the
nanosecond), the position as ``<point lat lon hae>`` (WGS-84), its uncertainty as ``ce``
(1-sigma per horizontal axis: sqrt((var_E + var_N) / 2), as `interop.cot` writes it) and
``le`` (vertical 1-sigma), the velocity as ``<track course speed slope>`` (degrees from
true north, m/s of the whole motion, degrees above the horizon), and warnlink's marks
``<__warnlink phase dataMode>``. What CoT cannot carry is left behind: the position-
velocity correlation, the velocity's uncertainty, the quality, the sensor, the ballistic
coefficient. `warnlink feed --via cot` sends the simulation this way.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Final

import numpy as np

from warnlink.geo.wgs84 import ecef_to_lla, enu_rotation
from warnlink.interop.cot import MODE_ATTRIBUTE, MODE_TAG, UNKNOWN_ERROR_M
from warnlink.model.covariance import unpack_covariance
from warnlink.model.record import SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.sources.udl_encode import iso_ns

#: The CoT type of a hostile surface-to-surface missile in flight.
HOSTILE_MISSILE_TYPE: Final = "a-h-A-W-M-S-S"
#: How long after its time a receiver may show the event, s.
STALE_AFTER_S: Final = 60.0


def record_cot(record: SourceRecord, *, sent_ns: int | None = None) -> bytes:
    """One record as one CoT XML event (UTF-8, no declaration).

    Args:
        record: the state to send.
        sent_ns: the event's ``time`` (when it is sent), UTC ns; the state's time by default.
    """
    lat, lon, hae = (float(v) for v in ecef_to_lla(np.asarray(record.pos_ecef_m)))
    rotation = enu_rotation(lat, lon)
    east, north, up = (float(v) for v in rotation @ np.asarray(record.vel_ecef_mps))
    horizontal = math.hypot(east, north)
    speed = math.hypot(horizontal, up)
    course = math.degrees(math.atan2(east, north)) % 360.0
    slope = math.degrees(math.atan2(up, horizontal))
    ce = le = UNKNOWN_ERROR_M
    if record.cov is not None:
        position = rotation @ unpack_covariance(record.cov)[:3, :3] @ rotation.T
        ce = math.sqrt(max(0.0, (position[0, 0] + position[1, 1]) / 2.0))
        le = math.sqrt(max(0.0, position[2, 2]))
    sent = record.epoch_ns if sent_ns is None else sent_ns
    root = ET.Element(
        "event",
        version="2.0",
        uid=record.track_id,
        type=HOSTILE_MISSILE_TYPE,
        how="m-f",
        time=iso_ns(sent),
        start=iso_ns(record.epoch_ns),
        stale=iso_ns(sent + round(STALE_AFTER_S * NS_PER_S)),
    )
    ET.SubElement(
        root,
        "point",
        lat=f"{lat:.9f}",
        lon=f"{lon:.9f}",
        hae=f"{hae:.3f}",
        ce=f"{ce:.3f}",
        le=f"{le:.3f}",
    )
    detail = ET.SubElement(root, "detail")
    ET.SubElement(
        detail, "track", course=f"{course:.6f}", speed=f"{speed:.4f}", slope=f"{slope:.6f}"
    )
    ET.SubElement(
        detail, MODE_TAG, {"phase": record.phase.value, MODE_ATTRIBUTE: record.data_mode.value}
    )
    return ET.tostring(root)
