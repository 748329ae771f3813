"""Release decisions: what one recipient may receive of one message.

Pure functions over immutable values. The same `decide` serves an originator's
gateway (for its direct link peers) and a relay (for the parties behind it), so
there is one place where releasability is judged.

A decision is one of:
- forwarded: the recipient may have the message as it is;
- redacted: the recipient may have it without some fields; the product is the
  originator's message without those fields' values and salts (`commitments.withhold`),
  under the originator's id, label and signature, so the recipient sees what was
  withheld (`Envelope.withheld`) and that nothing else changed;
- refused: the recipient may have none of it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from warnlink.model import Envelope
from warnlink.security.commitments import withhold


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


def decide(envelope: Envelope, recipient: str) -> Decision:
    """Decide what `recipient` may receive of `envelope`.

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
    product = withhold(envelope, withheld)
    return Decision(Outcome.REDACTED, recipient, "fields_withheld", withheld, product)
