"""Release decisions: what one recipient may receive of one message.

Pure functions over immutable values. The same `decide` serves an originator's
gateway (for its direct link peers) and a relay (for the parties behind it), so
there is one place where releasability is judged.

A decision is one of:
- forwarded: the recipient may have the message as it is;
- redacted: the recipient may have it without some fields; the product is a new
  envelope issued by the decider, labelled for the recipient alone, that names the
  original in ``derived_from``;
- refused: the recipient may have none of it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import msgspec

from warnlink.model import Envelope, make_msg_id


class Outcome(enum.StrEnum):
    FORWARDED = "forwarded"
    REDACTED = "redacted"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Decision:
    """One release decision and the reason for it.

    Attributes:
        outcome: forwarded, redacted or refused.
        recipient: the party the decision is about.
        reason: a short machine-readable reason (``released``, ``fields_withheld``,
            ``not_released``, ``bad_label``).
        withheld: the fields removed (redacted) or that made the decision (bad_label).
        product: what the recipient gets; None when refused.
    """

    outcome: Outcome
    recipient: str
    reason: str
    withheld: tuple[str, ...]
    product: Envelope | None


def decide(envelope: Envelope, recipient: str, *, decider: str) -> Decision:
    """Decide what `recipient` may receive of `envelope`, acting as `decider`.

    A label that withholds a field the payload cannot lose (an unknown field, or one
    not optional) is a bad label: the message is refused rather than guessed at.
    """
    label = envelope.label
    if not label.releases_to(recipient):
        return Decision(Outcome.REFUSED, recipient, "not_released", (), None)
    withheld = label.withheld_from(recipient)
    if not withheld:
        return Decision(Outcome.FORWARDED, recipient, "released", (), envelope)
    releasable = envelope.payload.releasable_fields
    bad = tuple(f for f in withheld if f not in releasable)
    if bad:
        return Decision(Outcome.REFUSED, recipient, "bad_label", bad, None)
    product = redact(envelope, recipient, withheld, decider=decider)
    return Decision(Outcome.REDACTED, recipient, "fields_withheld", withheld, product)


def redact(
    envelope: Envelope, recipient: str, fields: tuple[str, ...], *, decider: str
) -> Envelope:
    """A copy of `envelope` for `recipient` without `fields`, issued by `decider`.

    The product's id is derived from the original's id and the recipient, so a
    product made again (after a restart) is recognised as the same message.
    """
    payload = msgspec.structs.replace(envelope.payload, **dict.fromkeys(fields))
    return msgspec.structs.replace(
        envelope,
        msg_id=make_msg_id(envelope.msg_id, "for", recipient),
        label=envelope.label.restricted_to(recipient),
        payload=payload,
        producer=None if decider == envelope.originator else decider,
        derived_from=envelope.msg_id,
    )
