"""OASIS Common Alerting Protocol (CAP) 1.2 XML for an alert message.

Source: OASIS CAP v1.2 (2010), element order and value sets as in its schema
(``urn:oasis:names:tc:emergency:cap:1.2``). Mapping used here:

- status from the event's data mode (`cap_status`): ``Actual`` for REAL data only,
  ``Exercise`` for EXERCISE, ``Test`` for TEST and SIMULATED; a message that is not
  Actual says its mode at the head of its headline and in parameter ``dataMode``;
- msgType Alert / Update / Cancel; updates, cancels and all-clears reference every earlier
  message of the same alert (``sender,identifier,sent``);
- category Security; urgency Immediate (Past for an all-clear); severity Extreme for an
  impact on land or an overflight, Severe for an impact at sea or in a user zone, Minor
  for an all-clear or a retraction; certainty Likely at probability >= 0.5, else
  Possible (Observed for an all-clear, Unlikely for a retraction);
- responseType Shelter (land, zone, overflight), Monitor (sea), AllClear, or None
  (a retraction);
- expires `EXPIRES_AFTER_S` after the impact or the exit from the overflown area;
- area: the 95 % ellipse or the overflight corridor as a polygon (lat,lon pairs);
- parameters: probability, lead time, area kind, and the ids of the warnlink messages
  the alert was derived from (also in ``note``), and the data mode.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Final

from warnlink.alerting.assess import ThreatKind
from warnlink.alerting.lifecycle import Alert, MsgType, Reason
from warnlink.geo.areas import AreaKind
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
EXPIRES_AFTER_S: Final = 600.0
#: CAP 1.2 ``status`` per data mode: only real data is actionable (``Actual``); an
#: exercise is an ``Exercise``; test and simulated data are ``Test`` ("technical
#: testing only, all recipients disregard").
CAP_STATUS: Final = {
    DataMode.REAL: "Actual",
    DataMode.EXERCISE: "Exercise",
    DataMode.TEST: "Test",
    DataMode.SIMULATED: "Test",
}


def cap_status(mode: DataMode) -> str:
    """The CAP ``status`` of an alert about data of this mode (`CAP_STATUS`)."""
    return CAP_STATUS[mode]


def cap_time(ns: int) -> str:
    """UTC ns as a CAP time: whole seconds with an explicit offset (``...T00:01:00+00:00``)."""
    return datetime.fromtimestamp(ns // NS_PER_S, tz=UTC).isoformat()


def sender_of(party: str) -> str:
    """The CAP sender id of a party's warnlink node."""
    return f"warnlink-{party}"


def to_cap(alert: Alert) -> bytes:
    """The CAP 1.2 document of one alert message, UTF-8 XML with a declaration.

    Its status follows the alert's data mode (`cap_status`): ``Actual`` for real data only.
    """
    threat = alert.threat
    root = ET.Element(f"{{{CAP_NS}}}alert")
    sender = sender_of(alert.party)
    _add(root, "identifier", alert.identifier)
    _add(root, "sender", sender)
    _add(root, "sent", cap_time(alert.sent_ns))
    _add(root, "status", cap_status(alert.data_mode))
    _add(root, "msgType", alert.msg_type.value)
    _add(root, "scope", "Public")
    _add(root, "note", f"{alert.reason}; derived from {' '.join(threat.derived_from)}")
    if alert.references:
        _add(
            root,
            "references",
            " ".join(f"{sender},{ident},{cap_time(sent)}" for ident, sent in alert.references),
        )
    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    _add(info, "language", "en-US")
    _add(info, "category", "Security")
    _add(info, "event", _event(alert))
    _add(info, "responseType", _response(alert))
    closed = alert.reason in (Reason.ALL_CLEAR,) or alert.msg_type is MsgType.CANCEL
    _add(info, "urgency", "Past" if alert.reason is Reason.ALL_CLEAR else "Immediate")
    _add(info, "severity", "Minor" if closed else _severity(alert))
    _add(info, "certainty", _certainty(alert))
    _add(info, "expires", cap_time(threat.end_ns + round(EXPIRES_AFTER_S * NS_PER_S)))
    _add(info, "senderName", f"warnlink node of {alert.party}")
    marked = "" if alert.data_mode is DataMode.REAL else f"{alert.data_mode}: "
    _add(info, "headline", f"{marked}{_event(alert)}: {threat.area} ({alert.reason})")
    _add(info, "description", _description(alert))
    for name, value in (
        ("probability", f"{threat.probability:.3f}"),
        ("leadTimeS", f"{alert.lead_time_s:.0f}"),
        ("areaKind", threat.area_kind.value),
        ("derivedFrom", " ".join(threat.derived_from)),
        ("dataMode", alert.data_mode.value),
    ):
        parameter = ET.SubElement(info, f"{{{CAP_NS}}}parameter")
        _add(parameter, "valueName", name)
        _add(parameter, "value", value)
    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    _add(area, "areaDesc", threat.area)
    _add(area, "polygon", " ".join(f"{lat:.4f},{lon:.4f}" for lat, lon in threat.polygon))
    ET.register_namespace("", CAP_NS)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _add(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{CAP_NS}}}{tag}").text = text


def _event(alert: Alert) -> str:
    if alert.threat.kind is ThreatKind.OVERFLIGHT:
        return "Missile overflight"
    return "Missile impact"


def _response(alert: Alert) -> str:
    if alert.reason is Reason.ALL_CLEAR:
        return "AllClear"
    if alert.msg_type is MsgType.CANCEL:
        return "None"
    sea = alert.threat.area_kind in (AreaKind.TERRITORIAL_SEA, AreaKind.EEZ)
    return "Monitor" if sea and alert.threat.kind is ThreatKind.IMPACT else "Shelter"


def _severity(alert: Alert) -> str:
    threat = alert.threat
    if threat.kind is ThreatKind.OVERFLIGHT or threat.area_kind is AreaKind.LAND:
        return "Extreme"
    return "Severe"


def _certainty(alert: Alert) -> str:
    if alert.reason is Reason.ALL_CLEAR:
        return "Observed"
    if alert.msg_type is MsgType.CANCEL:
        return "Unlikely"
    return "Likely" if alert.threat.probability >= 0.5 else "Possible"


def _description(alert: Alert) -> str:
    threat = alert.threat
    when = cap_time(threat.start_ns)
    if threat.kind is ThreatKind.OVERFLIGHT:
        what = f"Predicted passage over {threat.area} from {when} to {cap_time(threat.end_ns)}"
    else:
        what = f"Predicted impact at {when}, probability {threat.probability:.0%} in {threat.area}"
    return f"{what}; lead time {alert.lead_time_s:.0f} s at sending. Event {threat.event_id}."
