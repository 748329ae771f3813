"""The input port's interface: what a source hands over and what it is told back.

A source adapter (UDL over HTTPS or NATS, CoT, the simulation) parses its wire form
into `SourceRecord`s and `Refusal`s, then gives the records to a `RecordSink` (the
node's `intake.Intake`) under the source's registered name. The answer says, per
record, what was refused and why, in one vocabulary (`REASONS`) whatever the wire:
the HTTP and NATS replies and the counters (``ingest_rejected.<reason>``) use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from warnlink.errors import IngestError
from warnlink.model.record import SourceRecord

#: Every reason an input can be refused for, and what it means (docs/integration.md).
REASONS: Final[dict[str, str]] = {
    # the input as a whole
    "content_type": "the body is not of a content type this port takes",
    "too_large": "the body is larger than the port's limit",
    "too_deep": "the JSON nests deeper than the port's limit",
    "too_many": "the batch has more records than the port's limit",
    "not_json": "the body is not JSON (or not UTF-8)",
    "not_xml": "the CoT event is not well-formed XML, or not a TAK protocol message",
    "slow": "the body did not arrive within the port's time limit",
    "unauthenticated": "no client certificate, or one not of this party's CA",
    "unregistered": "the certificate names no source registered with this node",
    "revoked": "the source's certificate was revoked",
    "flood": "the source sent more than its share; try again later",
    # one record
    "shape": "a field has the wrong JSON type or the record is not an object",
    "unknown_field": "a field this port does not take",
    "required": "a required field is missing",
    "not_finite": "a number is NaN or infinite",
    "latitude": "a latitude outside [-90, 90]",
    "longitude": "a longitude outside [-180, 180]",
    "altitude": "a position below the Earth's surface or above 50,000 km",
    "speed": "a velocity of 12 km/s or more",
    "covariance": "a covariance of the wrong length, not symmetric positive semi-definite",
    "frame": "a reference frame this port does not take",
    "epoch": "a time that is not ISO 8601 UTC",
    "stale": "a state older than the freshness window",
    "future": "a state later than now by more than the freshness window",
    "data_mode": "a data mode other than REAL, TEST, EXERCISE or SIMULATED",
    "mode_changed": "a track's data mode differs from its earlier records'",
    "party": "a record for another party than the source's",
    "not_a_missile": "a CoT event whose type is not a hostile missile",
    "value": "a value out of its range (named in the message)",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused record (or, with `index` None, the whole input).

    Attributes:
        index: the record's place in its batch, from 0; None for the whole input.
        field: where in the record, in the wire's own names, e.g. ``vectors[0].pos``.
        reason: a key of `REASONS`.
        message: for people: what was wrong, with the value where it helps.
    """

    index: int | None
    field: str
    reason: str
    message: str

    @classmethod
    def of(cls, error: IngestError) -> Refusal:
        """The refusal an `IngestError` describes."""
        return cls(error.index, error.field, error.reason, str(error))

    def as_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "field": self.field,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class IngestAnswer:
    """What a sink says of one batch.

    Attributes:
        accepted: records taken and durable (new ones, applied once, in order).
        duplicates: records taken before (same source, track id and epoch):
            acknowledged, not applied again.
        refused: the refused records and why.
    """

    accepted: int = 0
    duplicates: int = 0
    refused: tuple[Refusal, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether nothing was refused."""
        return not self.refused

    def as_json(self) -> dict[str, object]:
        """The answer as the HTTP and NATS ports send it."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "refused": [r.as_json() for r in self.refused],
        }


class RecordSink(Protocol):
    """Where a source's records go: the node's intake.

    `take` checks the batch whole against what is common to every source, and takes it
    all or nothing: if any record is refused, none is taken (the source corrects and
    sends the batch again; the accepted part would otherwise be applied twice, or the
    source could not tell which). An accepted batch is durable when `take` returns.
    The sink counts what it refuses (``ingest_rejected.<reason>``); a port counts only
    the refusals it makes itself, so that each is counted once.
    """

    async def take(self, source: str, records: Sequence[SourceRecord]) -> IngestAnswer:
        """Take `records` from the registered source `source`."""
        ...
