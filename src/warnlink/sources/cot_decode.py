"""One CoT event's fields, from CoT XML or from the TAK protocol, parsed safely.

Two encodings of the same event (docs/integration.md):

- CoT XML: ``<event uid type time start stale>`` with ``<point lat lon hae ce le>`` and
  ``<detail><track course speed slope/></detail>``; parsed with `defusedxml` (no DTD,
  no entity, no external reference), one event of at most `cot_framing.MAX_EVENT_BYTES`;
- the TAK protocol, version 1: a ``TakMessage`` protobuf (`takproto`) whose ``cotEvent``
  carries the same fields (times in ms since the Unix epoch; ``track`` with course and
  speed only) and the rest of ``<detail>`` as an XML fragment (``xmlDetail``), parsed as
  the XML is.

Only hostile missiles are taken: CoT type ``a-h-A-W-M`` (atom, hostile, Air, Weapon,
Missile) and its subtypes, and the exercise affiliations ``a-j-A-W-M`` (joker) and
``a-k-A-W-M`` (faker); any other event is refused as ``not_a_missile``. warnlink's own
marks travel in ``<detail><__warnlink phase="..." dataMode="..."/></detail>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from google.protobuf.message import DecodeError as ProtobufDecodeError
from takproto.proto import TakMessage

from warnlink.errors import IngestError
from warnlink.interop.cot import UNKNOWN_ERROR_M
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode
from warnlink.sources import checks

#: The hostile missile types: group 1 is the affiliation (h hostile, j joker, k faker).
MISSILE_TYPE: Final = re.compile(r"a-([hjk])-A-W-M(?:-[A-Za-z0-9]+)*", re.ASCII)
#: The detail element that carries warnlink's marks.
WARNLINK_DETAIL: Final = "__warnlink"
#: The TAK protocol stream header byte, and the mesh (datagram) header.
TAK_MAGIC: Final = 0xBF
TAK_MESH_HEADER: Final = b"\xbf\x01\xbf"
MAX_UID_CHARS: Final = 128
NS_PER_MS: Final = 1_000_000

#: A decimal number as CoT writes it; NaN and infinities pass here and are refused as
#: ``not_finite`` with every other number (`cot.record_from_fields`).
_NUMBER: Final = re.compile(
    r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)",
    re.ASCII | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CotFields:
    """What warnlink reads of one hostile missile's CoT event, either encoding.

    Attributes:
        uid: the event's uid: the source's id of the track.
        kind: the CoT type, e.g. ``a-h-A-W-M-S-S``.
        affiliation: ``h`` (hostile), ``j`` (joker) or ``k`` (faker).
        epoch_ns: when the state holds: ``start``, else ``time``, UTC ns.
        lat_deg, lon_deg, hae_m: the point (WGS-84, height above the ellipsoid).
        ce_m, le_m: circular (horizontal) and linear (vertical) 1-sigma errors, m;
            None when unknown (9999999, absent, or 0).
        course_deg, speed_mps: direction of motion from true north, magnitude of motion.
        slope_deg: the motion's angle above the horizon; None when not given.
        phase, data_mode: warnlink's marks, when the event carries them.
    """

    uid: str
    kind: str
    affiliation: str
    epoch_ns: int
    lat_deg: float
    lon_deg: float
    hae_m: float
    ce_m: float | None
    le_m: float | None
    course_deg: float
    speed_mps: float
    slope_deg: float | None
    phase: Phase | None
    data_mode: DataMode | None


def decode_xml(data: bytes) -> CotFields:
    """The fields of one CoT XML event (a whole ``<event>`` element, UTF-8).

    Raises:
        IngestError: ``not_xml``, ``not_a_missile``, ``required``, ``shape``,
            ``not_finite``, ``epoch``, ``data_mode`` or ``value``.
    """
    root = _parse_xml(data, "event")
    if root.tag != "event":
        raise IngestError(f"<{root.tag[:40]}> is not a CoT <event>", reason="not_xml")
    kind, affiliation = _missile_type(root.get("type"))
    uid = _uid(root.get("uid"))
    start, sent = root.get("start"), root.get("time")
    if start is not None:
        epoch_ns = checks.utc_ns_of(start, "start")
    elif sent is not None:
        epoch_ns = checks.utc_ns_of(sent, "time")
    else:
        raise IngestError("the event has neither start nor time", reason="required", field="time")
    point = _child(root, "point", "point")
    detail = _child(root, "detail", "detail")
    track = _child(detail, "track", "detail.track")
    slope = track.get("slope")
    phase, mode = _marks(detail.find(WARNLINK_DETAIL))
    return CotFields(
        uid=uid,
        kind=kind,
        affiliation=affiliation,
        epoch_ns=epoch_ns,
        lat_deg=_number(point.get("lat"), "point.lat"),
        lon_deg=_number(point.get("lon"), "point.lon"),
        hae_m=_number(point.get("hae"), "point.hae"),
        ce_m=_error_m(_number(point.get("ce", str(UNKNOWN_ERROR_M)), "point.ce"), "point.ce"),
        le_m=_error_m(_number(point.get("le", str(UNKNOWN_ERROR_M)), "point.le"), "point.le"),
        course_deg=_number(track.get("course"), "detail.track.course"),
        speed_mps=_number(track.get("speed"), "detail.track.speed"),
        slope_deg=None if slope is None else _number(slope, "detail.track.slope"),
        phase=phase,
        data_mode=mode,
    )


def decode_tak(payload: bytes) -> CotFields:
    """The fields of one TAK protocol message's payload (the ``TakMessage`` bytes).

    Raises:
        IngestError: as `decode_xml`.
    """
    message = TakMessage()
    try:
        message.ParseFromString(payload)
    except (ProtobufDecodeError, RuntimeError) as exc:  # RuntimeError: recursion too deep
        raise IngestError(f"not a TAK protocol message: {exc}", reason="not_xml") from exc
    if not message.HasField("cotEvent"):
        raise IngestError("the TAK message carries no CoT event", reason="not_a_missile")
    event = message.cotEvent
    kind, affiliation = _missile_type(str(event.type))
    uid = _uid(str(event.uid) or None)
    epoch_ms = int(event.startTime) or int(event.sendTime)
    if epoch_ms == 0:
        raise IngestError("the event has neither startTime nor sendTime", reason="epoch")
    detail = event.detail
    if not event.HasField("detail") or not detail.HasField("track"):
        raise IngestError("the event has no track", reason="required", field="detail.track")
    extra = str(detail.xmlDetail)
    marks = _parse_xml(f"<detail>{extra}</detail>".encode(), "detail.xmlDetail") if extra else None
    phase, mode = _marks(None if marks is None else marks.find(WARNLINK_DETAIL))
    return CotFields(
        uid=uid,
        kind=kind,
        affiliation=affiliation,
        epoch_ns=epoch_ms * NS_PER_MS,
        lat_deg=float(event.lat),
        lon_deg=float(event.lon),
        hae_m=float(event.hae),
        ce_m=_error_m(float(event.ce), "point.ce"),
        le_m=_error_m(float(event.le), "point.le"),
        course_deg=float(detail.track.course),
        speed_mps=float(detail.track.speed),
        slope_deg=None,
        phase=phase,
        data_mode=mode,
    )


def tak_payload(message: bytes) -> bytes:
    """The ``TakMessage`` bytes of one whole TAK protocol message, mesh or stream form.

    Mesh (datagrams): ``0xbf 0x01 0xbf`` then the payload. Stream: ``0xbf``, the
    payload's length as a protobuf varint, then the payload.

    Raises:
        IngestError: ``not_xml``: neither form, or a length that does not match.
    """
    if message.startswith(TAK_MESH_HEADER):
        return message[len(TAK_MESH_HEADER) :]
    found = tak_length(message) if message[:1] == bytes([TAK_MAGIC]) else None
    if found is None or len(message) - found[1] != found[0]:
        raise IngestError("not a whole TAK protocol stream message", reason="not_xml")
    return message[found[1] :]


def tak_length(data: bytes | bytearray) -> tuple[int, int] | None:
    """A TAK stream frame's payload length (the varint after ``0xbf``) and where it starts.

    None while the varint is not whole.

    Raises:
        IngestError: ``too_large``: a varint of more than 5 bytes (over 4 GiB).
    """
    length = 0
    for at in range(1, min(len(data), 6)):
        length |= (data[at] & 0x7F) << (7 * (at - 1))
        if not data[at] & 0x80:
            return length, at + 1
    if len(data) >= 6:
        raise IngestError("a TAK protocol frame length of more than 5 bytes", reason="too_large")
    return None


def _parse_xml(data: bytes, field: str) -> ET.Element:
    try:
        return safe_fromstring(data, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise IngestError(f"not well-formed CoT XML: {exc}", reason="not_xml", field=field) from exc


def _missile_type(kind: str | None) -> tuple[str, str]:
    if not kind:
        raise IngestError("the event has no type", reason="required", field="type")
    match = MISSILE_TYPE.fullmatch(kind)
    if match is None:
        raise IngestError(
            f"type {kind[:40]!r} is not a hostile missile (a-h-A-W-M...)",
            reason="not_a_missile",
            field="type",
        )
    return kind, match.group(1)


def _uid(uid: str | None) -> str:
    if not uid:
        raise IngestError("the event has no uid", reason="required", field="uid")
    if len(uid) > MAX_UID_CHARS:
        raise IngestError(f"uid longer than {MAX_UID_CHARS}", reason="value", field="uid")
    return uid


def _child(parent: ET.Element, tag: str, field: str) -> ET.Element:
    found = parent.find(tag)
    if found is None:
        raise IngestError(f"the event has no <{tag}>", reason="required", field=field)
    return found


def _number(text: str | None, field: str) -> float:
    if text is None:
        raise IngestError(f"{field} is missing", reason="required", field=field)
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped) is None:
        raise IngestError(f"{field} {text[:40]!r} is not a number", reason="shape", field=field)
    return float(stripped)


def _error_m(value: float, field: str) -> float | None:
    """A CoT ce or le: None when unknown (9999999 or more, or 0)."""
    checks.finite_of(value, field)
    if value < 0.0:
        raise IngestError(f"{field} {value} is negative", reason="value", field=field)
    return None if value == 0.0 or value >= UNKNOWN_ERROR_M else value


def _marks(element: ET.Element | None) -> tuple[Phase | None, DataMode | None]:
    if element is None:
        return None, None
    phase, mode = element.get("phase"), element.get("dataMode")
    return (
        None if phase is None else _phase(phase),
        None if mode is None else _mode(mode),
    )


def _phase(text: str) -> Phase:
    try:
        return Phase(text)
    except ValueError as exc:
        raise IngestError(
            f"phase {text[:20]!r} is none of {[p.value for p in Phase]}",
            reason="value",
            field=f"detail.{WARNLINK_DETAIL}.phase",
        ) from exc


def _mode(text: str) -> DataMode:
    try:
        return DataMode(text)
    except ValueError as exc:
        raise IngestError(
            f"dataMode {text[:20]!r} is none of {[m.value for m in DataMode]}",
            reason="data_mode",
            field=f"detail.{WARNLINK_DETAIL}.dataMode",
        ) from exc
