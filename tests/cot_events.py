"""CoT events as a TAK source writes them, for the CoT input's tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET

#: 2026-11-24T00:01:00.250Z as UTC ns.
START_NS = 1_795_478_460_250_000_000
START = "2026-11-24T00:01:00.250Z"


def missile_event(
    uid: str = "tak-a.track-1",
    *,
    kind: str = "a-h-A-W-M-S-S",
    start: str | None = START,
    time: str | None = "2026-11-24T00:01:01.000Z",
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
        "stale": "2026-11-24T00:02:00.000Z",
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
