"""The envelope every warnlink message travels in (schema version 1).

An envelope binds a payload to its originator, the originator's sequence number,
its creation time and its security label. A relay that must change a payload
(redact a field) issues a new envelope as its own product: ``producer`` names the
relay's party and ``derived_from`` the original message id, while ``originator``
and ``seq`` stay those of the data's originator so receivers keep per-originator
order.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

import msgspec

from warnlink.model.bounds import UtcNs
from warnlink.model.label import PartyCode, SecurityLabel
from warnlink.model.payloads import RESENDABLE, Payload, kind_of
from warnlink.model.record import DataMode

SCHEMA_VERSION: Final = 1

MsgId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$")]

_NAMESPACE: Final = uuid.UUID("6f1c2f0e-7d1b-4b7e-9a55-0c2f5b1e8a41")


class Envelope(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, rename="camel"
):
    """One message.

    Attributes:
        msg_id: 32 hex digits; unique; receivers apply each id once.
        schema: the schema version this envelope follows.
        originator: the party whose data this is.
        seq: the originator's sequence number, from 1, increasing per originator.
        created: when the originator created it, UTC ns.
        label: who may receive the message and its fields.
        payload: the report.
        producer: the party that issued this envelope when not the originator (a relay).
        derived_from: the msg_id of the message this one was made from.
        data_mode: whether the report is about the real world (`DataMode`): set on every
            report (launch, track, impact, status), from the source record it came from;
            None on link messages (heartbeats, resend requests and answers).
        sig: the issuer's (producer's, else originator's) Ed25519 signature over every
            other field (`warnlink.security.signing.signed_bytes`).
        countersig: a relay's Ed25519 signature over the same bytes and `sig`; set on
            what a relay sends on.
    """

    msg_id: MsgId
    schema: int
    originator: PartyCode
    seq: Annotated[int, msgspec.Meta(ge=1)]
    created: UtcNs
    label: SecurityLabel
    payload: Payload
    producer: PartyCode | None = None
    derived_from: MsgId | None = None
    data_mode: DataMode | None = None
    sig: Annotated[bytes, msgspec.Meta(max_length=64)] = b""
    countersig: Annotated[bytes, msgspec.Meta(max_length=64)] = b""

    def __post_init__(self) -> None:
        if isinstance(self.payload, RESENDABLE) and self.data_mode is None:
            raise ValueError(f"a {self.kind} must say its data mode (`dataMode`)")

    @property
    def kind(self) -> str:
        """The payload's kind, e.g. ``track_report``."""
        return kind_of(self.payload)

    @property
    def issued_by(self) -> str:
        """The party that put this envelope on the wire: producer or originator."""
        return self.producer or self.originator


def make_msg_id(*parts: object) -> str:
    """A deterministic message id from what identifies the message.

    Deterministic so that a re-issued product (a relay's redaction made again after a
    restart) gets the same id and receivers drop the copy.
    """
    return uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)).hex


def new_envelope(
    *,
    originator: str,
    seq: int,
    created: int,
    label: SecurityLabel,
    payload: Payload,
    data_mode: DataMode | None,
) -> Envelope:
    """An originator's envelope; its id follows from (originator, seq, created).

    `data_mode` is required of reports and None for link messages (see `Envelope`).
    """
    return Envelope(
        msg_id=make_msg_id(originator, seq, created),
        schema=SCHEMA_VERSION,
        originator=originator,
        seq=seq,
        created=created,
        label=label,
        payload=payload,
        data_mode=data_mode,
    )
