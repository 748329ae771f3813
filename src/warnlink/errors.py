"""The warnlink exception tree.

Every error the library raises on purpose derives from `WarnlinkError`, carries
structured fields (party, msg_id, rule, key...) besides its message, and is
translated from third-party errors at the edge with ``raise ... from exc``::

    WarnlinkError
    ├── ConfigError              a federation or scenario file is invalid (file, key, line)
    ├── MessageError             a message was refused at an edge (counted, never fatal)
    │   ├── DecodeError          not a valid message: bad bytes, bad field, bad type
    │   │   └── NestingTooDeep   containers nested deeper than the limit (refused unparsed)
    │   ├── OversizedMessage     larger than the configured limit
    │   ├── UnknownSchemaVersion a schema version this node does not speak
    │   ├── LabelError           wrongly labelled: unknown party, not released to us,
    │   │                        withheld field present, originator/link mismatch
    │   ├── SignatureError       signature or countersignature missing or not verifying
    │   │   └── UnknownSigner    the signer has no key in the trusted key set
    │   ├── ReplayError          outside the freshness window, or its originator's
    │   │                        sequence number already seen with another message
    │   ├── WitnessError         a relay's tree head contradicts one witnessed before:
    │   │                        its log forked or rolled back (or the head is not its own)
    │   ├── IngestError          a national source's input refused at the node's input
    │   │                        port (per record: index, field, reason)
    │   └── ImplausibleMessage   decoded and in range field by field, but its fields
    │                            disagree with physics or each other (field, rule)
    ├── ConsumerEnded            an inbox's consumer ended before it was asked to stop
    ├── TransportError           the bus failed
    │   ├── BusClosed            you closed it (use after close)
    │   └── StoreError           it broke (the durable log could not be read or written)
    └── PhysicsError             a trajectory or prediction cannot be computed
                                 (no impact within the horizon, invalid launch parameters)

Only `MessageError` is expected in normal operation: nodes count it per kind and
keep going. The others mean a wrong set-up or a broken machine.
"""

from __future__ import annotations


class WarnlinkError(Exception):
    """Root of every error warnlink raises on purpose."""


class ConfigError(WarnlinkError):
    """A federation or scenario file is invalid.

    Attributes:
        path: the file, if any.
        key: the dotted key path of the offending value (``links[1].parties``).
        line: 1-based line number in the file, when it could be found.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = path
        self.key = key
        self.line = line
        where = ":".join(str(p) for p in (path, line) if p is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (at {key})" if key else ""
        super().__init__(f"{prefix}{message}{suffix}")


class MessageError(WarnlinkError):
    """A message refused at an edge; counted by `counter_key`, never fatal.

    Attributes:
        msg_id: the message id when it could be read, else None.
        party: the party whose edge refused it, when known.
    """

    counter_key = "invalid"

    def __init__(
        self, message: str, *, msg_id: str | None = None, party: str | None = None
    ) -> None:
        self.msg_id = msg_id
        self.party = party
        super().__init__(message)


class DecodeError(MessageError):
    """The bytes are not a valid warnlink message (syntax, type or constraint)."""

    counter_key = "malformed"


class NestingTooDeep(DecodeError):
    """Containers nested deeper than the limit; refused before any recursive parser runs.

    Attributes:
        rule: ``too_deep``.
        depth: the depth at which the scan stopped (the limit plus one).
        limit: the deepest nesting allowed.
    """

    counter_key = "too_deep"
    rule = "too_deep"

    def __init__(self, depth: int, limit: int, *, msg_id: str | None = None) -> None:
        self.depth = depth
        self.limit = limit
        super().__init__(f"nested {depth} deep, deeper than the limit of {limit}", msg_id=msg_id)


class OversizedMessage(MessageError):
    """The message exceeds the size limit; refused before decoding."""

    counter_key = "oversized"

    def __init__(self, size: int, limit: int, *, party: str | None = None) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"message of {size} bytes exceeds the limit of {limit}", party=party)


class UnknownSchemaVersion(MessageError):
    """The message declares a schema version this node does not speak."""

    counter_key = "unknown_version"

    def __init__(self, version: object, supported: int, *, msg_id: str | None = None) -> None:
        self.version = version
        self.supported = supported
        super().__init__(
            f"schema version {version!r} is not supported (this node speaks {supported})",
            msg_id=msg_id,
        )


class LabelError(MessageError):
    """A message whose security label does not allow what is being done with it.

    Attributes:
        rule: a short machine-readable reason (``not_released``, ``withheld_field``,
            ``unknown_party``, ``wrong_sender``...).
    """

    counter_key = "mislabelled"

    def __init__(
        self, message: str, *, rule: str, msg_id: str | None = None, party: str | None = None
    ) -> None:
        self.rule = rule
        super().__init__(message, msg_id=msg_id, party=party)


class SignatureError(MessageError):
    """A signature or countersignature that is missing or does not verify.

    Attributes:
        rule: ``unsigned``, ``bad_sig``, ``no_countersig``, ``bad_countersig``,
            ``unexpected_countersig`` or ``unknown_signer``.
    """

    counter_key = "bad_signature"

    def __init__(
        self, message: str, *, rule: str, msg_id: str | None = None, party: str | None = None
    ) -> None:
        self.rule = rule
        super().__init__(message, msg_id=msg_id, party=party)


class UnknownSigner(SignatureError):
    """The party that should have signed has no key in the trusted key set."""

    counter_key = "unknown_signer"

    def __init__(self, signer: str, *, msg_id: str | None = None) -> None:
        self.signer = signer
        super().__init__(f"no trusted key for {signer}", rule="unknown_signer", msg_id=msg_id)


class ReplayError(MessageError):
    """A message that is not fresh, or whose (originator, seq) names another message.

    A redelivery of the very same message is not an error: see
    `warnlink.sharing.replay.Verdict.DUPLICATE`.

    Attributes:
        rule: ``stale`` (created before the freshness window), ``future`` (created
            after it: a skewed or forged clock) or ``seq_reused`` (the originator's
            sequence number already seen with another message id).
    """

    counter_key = "replay"

    def __init__(
        self, message: str, *, rule: str, msg_id: str | None = None, party: str | None = None
    ) -> None:
        self.rule = rule
        super().__init__(message, msg_id=msg_id, party=party)


class WitnessError(MessageError):
    """A relay's signed tree head that a witness cannot countersign (`sharing.witness`).

    Attributes:
        rule: ``rolled_back`` (smaller than a head witnessed before), ``forked`` (same
            size, another root), ``inconsistent`` (the consistency proof fails),
            ``wrong_signer`` (not the sending relay's head) or ``bad_head`` (unreadable,
            or its signature does not verify).
        relay: the relay whose head it is.
    """

    counter_key = "witness"

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        relay: str,
        msg_id: str | None = None,
        party: str | None = None,
    ) -> None:
        self.rule = rule
        self.relay = relay
        super().__init__(message, msg_id=msg_id, party=party)


class IngestError(MessageError):
    """Input from a national source refused at the node's input port (`warnlink.sources`).

    Counted as ``ingest_rejected.<reason>``.

    Attributes:
        reason: a short machine-readable reason from `sources.base.REASONS`
            (``not_finite``, ``altitude``, ``stale``, ``unregistered``...).
        field: where in the input, e.g. ``[3].vectors[0].pos`` (empty: the whole input).
        index: the record's place in its batch, from 0; None for the whole input.
    """

    counter_key = "ingest_rejected"

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        field: str = "",
        index: int | None = None,
        party: str | None = None,
    ) -> None:
        self.reason = reason
        self.field = field
        self.index = index
        super().__init__(message, party=party)


class ImplausibleMessage(MessageError):
    """A message whose values are each in range but together not physical
    (`model.plausibility`); counted as ``implausible``.

    Attributes:
        rule: ``altitude``, ``speed``, ``future``, ``too_old``, ``impact_before_epoch``
            or ``flight_too_long``.
        field: the payload field, e.g. ``pos`` or ``impact_time``.
    """

    counter_key = "implausible"

    def __init__(self, message: str, *, rule: str, field: str, msg_id: str | None = None) -> None:
        self.rule = rule
        self.field = field
        super().__init__(message, msg_id=msg_id)


class ConsumerEnded(WarnlinkError):
    """A consumer of an inbox ended before it was asked to stop: its process is unhealthy.

    Attributes:
        consumer: which one (``node-JPN``, ``relay-USA``).
    """

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        super().__init__(f"the inbox consumer {consumer} ended before it was asked to stop")


class TransportError(WarnlinkError):
    """The bus failed."""


class BusClosed(TransportError):
    """The bus or subscription was used after it was closed."""


class StoreError(TransportError):
    """The durable log could not be read or written."""


class PhysicsError(WarnlinkError):
    """A trajectory or prediction cannot be computed from the given state."""
