"""Message payloads, version 1.

Field names follow the public UDL ``MissileTrack`` vocabulary where it fits
(``trkId``, ``launchTime``, ``impactLat``, ``impactAouData``, ``trkQual``...), in
snake_case here and camelCase on the wire. Units are SI and stated per field:
positions ECEF metres (WGS-84), velocities ECEF m/s, angles degrees, times UTC
integer nanoseconds. Covariances are 6x6 over (x, y, z, vx, vy, vz) in m and m/s,
sent as the 21 upper-triangle entries row by row, as UDL does.

Fields typed ``X | None`` with a default of None are the ones an originator may
withhold per recipient (field-level release); a redacted product carries None.
"""

from __future__ import annotations

import enum
import math
from typing import Annotated, ClassVar

import msgspec

from warnlink.model.bounds import (
    AxisMetres,
    CovarianceEntry,
    EcefCoordinate,
    EcefVelocity,
    SigmaSeconds,
    UtcNs,
)
from warnlink.model.covariance import packed_positive_definite

TrackNumber = Annotated[int, msgspec.Meta(ge=0, lt=2**31)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Vector3 = tuple[float, float, float]
Covariance21 = Annotated[tuple[CovarianceEntry, ...], msgspec.Meta(min_length=21, max_length=21)]
SensorName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


TERMINAL_ALTITUDE_M = 100_000.0
"""Below this height on the way down a flight is in its terminal phase."""


class Phase(enum.StrEnum):
    """Flight phase of the tracked object."""

    BOOST = "boost"
    MIDCOURSE = "midcourse"
    TERMINAL = "terminal"
    UNKNOWN = "unknown"


class RangeClass(enum.StrEnum):
    """Range class by ground range (DESIGN.md glossary)."""

    SRBM = "SRBM"
    MRBM = "MRBM"
    IRBM = "IRBM"
    ICBM = "ICBM"


class Status(enum.StrEnum):
    """Life of one originator's track of one missile."""

    FLYING = "flying"
    IMPACTED = "impacted"
    LOST = "lost"
    CANCELLED = "cancelled"


def _require_finite(struct: msgspec.Struct, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(struct, name)
        if value is None:
            continue
        # `map` rather than a generator: this runs for every report decoded.
        finite = (
            all(map(math.isfinite, value)) if isinstance(value, tuple) else math.isfinite(value)
        )
        if not finite:
            raise ValueError(f"`{name}` must be finite")


class Ellipse(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A 95% error ellipse on the local tangent plane.

    Attributes:
        semi_major_m: semi-major axis, metres.
        semi_minor_m: semi-minor axis, metres (<= semi-major).
        orientation_deg: bearing of the major axis, degrees clockwise from true north, [0, 180).
    """

    semi_major_m: AxisMetres
    semi_minor_m: AxisMetres
    orientation_deg: Annotated[float, msgspec.Meta(ge=0.0, lt=180.0)]

    def __post_init__(self) -> None:
        _require_finite(self, ("semi_major_m", "semi_minor_m", "orientation_deg"))
        if self.semi_minor_m > self.semi_major_m:
            raise ValueError("semi-minor axis exceeds semi-major axis")


class _Payload(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    rename="camel",
    tag_field="kind",
):
    """Base of every payload: the originator's track number of the missile."""

    trk_id: TrackNumber

    #: The fields an originator may withhold per recipient.
    releasable_fields: ClassVar[tuple[str, ...]] = ()


class LaunchReport(_Payload, frozen=True, tag="launch_report"):
    """Estimated launch point and time (LPE) of one missile."""

    launch_time: UtcNs
    launch_time_sigma_s: SigmaSeconds
    launch_lat: Latitude
    launch_lon: Longitude
    launch_aou: Ellipse
    range_class: RangeClass | None = None
    sensor: SensorName | None = None

    releasable_fields: ClassVar[tuple[str, ...]] = ("range_class", "sensor")

    def __post_init__(self) -> None:
        _require_finite(self, ("launch_time_sigma_s", "launch_lat", "launch_lon"))


class TrackReport(_Payload, frozen=True, tag="track_report"):
    """One state estimate of the originator's track.

    Attributes:
        epoch: event time of the state, UTC ns.
        pos: ECEF position, m.  vel: ECEF velocity, m/s.
        cov: 6x6 state covariance, 21 upper-triangle entries, m^2, m^2/s, m^2/s^2.
        trk_qual: track quality 0 (worst) to 15 (best).
        sensor: the sensor that contributed the latest measurement.
    """

    epoch: UtcNs
    pos: tuple[EcefCoordinate, EcefCoordinate, EcefCoordinate]
    vel: tuple[EcefVelocity, EcefVelocity, EcefVelocity]
    phase: Phase
    trk_qual: Annotated[int, msgspec.Meta(ge=0, le=15)]
    cov: Covariance21 | None = None
    sensor: SensorName | None = None

    releasable_fields: ClassVar[tuple[str, ...]] = ("cov", "sensor")

    def __post_init__(self) -> None:
        _require_finite(self, ("pos", "vel", "cov"))
        # Gating and fusion invert it: a singular or indefinite one is refused here, at
        # the edge, rather than failing inside a node's picture.
        if self.cov is not None and not packed_positive_definite(self.cov):
            raise ValueError("covariance is not positive definite")


class ImpactPrediction(_Payload, frozen=True, tag="impact_prediction"):
    """Predicted impact point and time (IPP) with its 95% error ellipse.

    Attributes:
        epoch: event time of the track state the prediction was made from, UTC ns.
        impact_time: predicted time of impact, UTC ns.
    """

    epoch: UtcNs
    impact_time: UtcNs
    impact_time_sigma_s: SigmaSeconds
    impact_lat: Latitude
    impact_lon: Longitude
    impact_aou: Ellipse

    def __post_init__(self) -> None:
        _require_finite(self, ("impact_time_sigma_s", "impact_lat", "impact_lon"))


class EventStatus(_Payload, frozen=True, tag="event_status"):
    """The originator's word on how its track of a missile ended (or goes on)."""

    epoch: UtcNs
    status: Status


class Heartbeat(_Payload, frozen=True, tag="heartbeat"):
    """Link liveness between two adjacent parties; trk_id is 0."""

    interval_s: Annotated[float, msgspec.Meta(gt=0.0, le=3600.0)]


class ResendRequest(_Payload, frozen=True, tag="resend_request"):
    """A receiver asks an originator to send again what it sent the receiver; trk_id is 0.

    Sent when the receiver found its own record of applied messages damaged
    (docs/reliability.md, case 6). Labelled for the originator alone.

    Attributes:
        originator: whose messages are asked for (the addressee).
        since: UTC ns; messages created after it (exclusive).
        until: UTC ns; messages created up to it (inclusive).
        reason: why, for the originator's operators and logs.
    """

    originator: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{1,15}$", max_length=16)]
    since: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    until: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    reason: Annotated[str, msgspec.Meta(max_length=256)] = ""

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError("`until` is before `since`")


#: The most parts one answer may have (about 160 MB of messages at 40 kB a part).
MAX_RESEND_PARTS = 4096


class Resend(_Payload, frozen=True, tag="resend"):
    """An answer to a `ResendRequest`: messages sent again, each as its receiver gets it.

    From the originator, ``messages`` are its retained envelopes (as it sent them); a
    relay replaces them by its products for the requester (its release decision made
    again) and issues the answer as its producer. The receiver checks every message
    inside at its edge, signatures included, and applies those it lacks; the answer
    itself is fresh and signed, so it passes the replay rules that the messages inside
    (old by design) would not. trk_id is 0.

    Attributes:
        request: msg_id of the request answered.
        to: the requester.
        messages: encoded envelopes (the wire form), oldest first.
        part, last: this answer's part number (from 1) and whether it is the last.
        retained_since: UTC ns of the oldest message the originator still keeps; the
            request's range before it could not be answered (the receiver reports it).
    """

    request: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]
    to: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{1,15}$", max_length=16)]
    messages: Annotated[tuple[bytes, ...], msgspec.Meta(max_length=1024)]
    part: Annotated[int, msgspec.Meta(ge=1, le=MAX_RESEND_PARTS)]
    last: bool
    retained_since: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


#: A relay instance's name, as a `TreeHead` carries it.
INSTANCE_PATTERN = r"^[A-Za-z0-9_-]{0,32}$"


class TreeHead(_Payload, frozen=True, tag="tree_head"):
    """A relay's latest signed audit tree head, for a link peer to witness; trk_id is 0.

    Link-local: from the relay's host to one link peer, never relayed (`sharing.witness`).

    Attributes:
        head: the `sharing.audit.SignedHead`, in the canonical JSON its log holds.
        log: which of the host's relay instances keeps the log ("" when it runs one;
            a standby relay keeps a log of its own, docs/reliability.md).
        since: the size of the head the peer last witnessed of that log (0: none).
        consistency: the RFC 9162 consistency proof (section 2.1.4) from that head to
            this one, SHA-256 hashes.
    """

    head: Annotated[bytes, msgspec.Meta(max_length=1024)]
    log: Annotated[str, msgspec.Meta(pattern=INSTANCE_PATTERN)]
    since: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    consistency: Annotated[tuple[bytes, ...], msgspec.Meta(max_length=64)] = ()


class HeadCosignature(_Payload, frozen=True, tag="head_cosignature"):
    """A link peer's countersignature of a relay's tree head; trk_id is 0.

    Link-local: from the witness back to the relay's host (`sharing.witness`).

    Attributes:
        record: the `sharing.witness.WitnessedHead`, in canonical JSON.
    """

    record: Annotated[bytes, msgspec.Meta(max_length=2048)]


#: What a `Resend` may carry: reports (a heartbeat, a request or an answer sent again
#: would say something false about now).
RESENDABLE: tuple[type, ...] = (LaunchReport, TrackReport, ImpactPrediction, EventStatus)

#: Messages between two adjacent parties about their link, never relayed nor kept
#: through an outage (a late one says nothing about now).
LINK_LOCAL: tuple[type, ...] = (Heartbeat, TreeHead, HeadCosignature)

Payload = (
    LaunchReport
    | TrackReport
    | ImpactPrediction
    | EventStatus
    | Heartbeat
    | ResendRequest
    | Resend
    | TreeHead
    | HeadCosignature
)

#: Message kinds by their wire tag, in a stable order.
PAYLOAD_TYPES: dict[str, type[_Payload]] = {
    "launch_report": LaunchReport,
    "track_report": TrackReport,
    "impact_prediction": ImpactPrediction,
    "event_status": EventStatus,
    "heartbeat": Heartbeat,
    "resend_request": ResendRequest,
    "resend": Resend,
    "tree_head": TreeHead,
    "head_cosignature": HeadCosignature,
}


def kind_of(payload: Payload) -> str:
    """The wire tag of a payload, e.g. ``track_report``."""
    tag = type(payload).__struct_config__.tag
    assert isinstance(tag, str)
    return tag
