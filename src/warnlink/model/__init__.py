"""The shared language: message structs, security labels, codecs, schema version."""

from warnlink.model.codec import decode, encode, json_schema
from warnlink.model.envelope import (
    SCHEMA_VERSION,
    Envelope,
    SigPath,
    make_msg_id,
    new_envelope,
)
from warnlink.model.label import SecurityLabel
from warnlink.model.payloads import (
    PAYLOAD_TYPES,
    Ellipse,
    EventStatus,
    Heartbeat,
    ImpactPrediction,
    LaunchReport,
    Payload,
    Phase,
    RangeClass,
    Resend,
    ResendRequest,
    Status,
    TrackReport,
    kind_of,
)

__all__ = [
    "PAYLOAD_TYPES",
    "SCHEMA_VERSION",
    "Ellipse",
    "Envelope",
    "EventStatus",
    "Heartbeat",
    "ImpactPrediction",
    "LaunchReport",
    "Payload",
    "Phase",
    "RangeClass",
    "Resend",
    "ResendRequest",
    "SecurityLabel",
    "SigPath",
    "Status",
    "TrackReport",
    "decode",
    "encode",
    "json_schema",
    "kind_of",
    "make_msg_id",
    "new_envelope",
]
