"""The envelope every warnlink message travels in (schema version 2).

An envelope binds a payload to its originator, the originator's sequence number,
its creation time and its security label. The originator signs salted commitments
to the fields it may withhold (`warnlink.security.signing`), so a relay that must
withhold a field from a recipient drops the field's value and salt and passes on
the originator's message under its own id, label and signature: the recipient
sees which fields were withheld (`Envelope.withheld`) and that nothing else
changed. A relay issues only its own link messages (a `Resend` answer): there
``producer`` names the relay's party and ``derived_from`` the message answered.

Version 2 (redactable signatures) replaced version 1, where a relay re-issued a
redacted report as its own product; a version-1 message is refused as
`UnknownSchemaVersion`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

import msgspec

from warnlink.model.bounds import UtcNs
from warnlink.model.codes import FieldName, MsgId, WirePartyCode
from warnlink.model.label import SecurityLabel
from warnlink.model.payloads import RESENDABLE, Payload, kind_of
from warnlink.model.record import DataMode

SCHEMA_VERSION: Final = 2

Digest = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
Salt = Annotated[bytes, msgspec.Meta(min_length=16, max_length=16)]

#: The most messages one batch signature covers (`SigPath`).
MAX_BATCH: Final = 1024

_NAMESPACE: Final = uuid.UUID("6f1c2f0e-7d1b-4b7e-9a55-0c2f5b1e8a41")


class SigPath(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Where a message sits in a batch its issuer signed once (a Merkle tree).

    Attributes:
        index: the message's leaf, from 0.
        size: how many messages the batch holds (2 or more; a lone message has no path).
        path: the RFC 9162 inclusion proof of the leaf, bottom up.
    """

    index: Annotated[int, msgspec.Meta(ge=0, lt=MAX_BATCH)]
    size: Annotated[int, msgspec.Meta(ge=2, le=MAX_BATCH)]
    path: Annotated[tuple[Digest, ...], msgspec.Meta(max_length=10)]


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
        producer: the party that issued this envelope when not the originator: a relay,
            for its own link messages (a `Resend` answer) only; never on a report.
        derived_from: the msg_id of the message this one was made from.
        data_mode: whether the report is about the real world (`DataMode`): set on every
            report (launch, track, impact, status), from the source record it came from;
            None on link messages (heartbeats, resend requests and answers).
        commitments: payload field name -> the issuer's salted commitment to its value,
            for every field the payload may be sent without (`releasable_fields`).
        salts: the salts of the committed fields this envelope holds; a committed
            field without its salt was withheld (its value is absent).
        sig_path: where this message sits in a batch signed at once; None for a
            message signed alone.
        sig: the issuer's (producer's, else originator's) Ed25519 signature over
            every field but the committed values, the salts and the signatures
            (`warnlink.security.signing`).
        countersig: a relay's Ed25519 signature over the whole envelope as it sends
            it on (every other field); set on what a relay sends on.
        countersig_path: where this message sits in a batch the relay countersigned
            at once; None for a message countersigned alone.
    """

    msg_id: MsgId
    schema: int
    originator: WirePartyCode
    seq: Annotated[int, msgspec.Meta(ge=1)]
    created: UtcNs
    label: SecurityLabel
    payload: Payload
    producer: WirePartyCode | None = None
    derived_from: MsgId | None = None
    data_mode: DataMode | None = None
    commitments: Annotated[dict[FieldName, Digest], msgspec.Meta(max_length=16)] = {}
    salts: Annotated[dict[FieldName, Salt], msgspec.Meta(max_length=16)] = {}
    sig_path: SigPath | None = None
    sig: Annotated[bytes, msgspec.Meta(max_length=64)] = b""
    countersig: Annotated[bytes, msgspec.Meta(max_length=64)] = b""
    countersig_path: SigPath | None = None

    def __post_init__(self) -> None:
        if isinstance(self.payload, RESENDABLE) and self.data_mode is None:
            raise ValueError(f"a {self.kind} must say its data mode (`dataMode`)")

    @property
    def kind(self) -> str:
        """The payload's kind, e.g. ``track_report``."""
        return kind_of(self.payload)

    @property
    def withheld(self) -> tuple[str, ...]:
        """The committed fields this envelope was sent without (sorted)."""
        return tuple(sorted(f for f in self.commitments if f not in self.salts))

    @property
    def issued_by(self) -> str:
        """The party that put this envelope on the wire: producer or originator."""
        return self.producer or self.originator


def make_msg_id(*parts: object) -> str:
    """A deterministic message id from what identifies the message.

    Deterministic so that a re-issued product (a relay's answer made again after a
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
