"""An independent check that no party received what was not released to it.

It looks only at what arrived in each party's inbox and at the originals as their
originators labelled them; it does not ask the relay or the gateways what they
decided. A leak is a delivered message whose original does not release it to the
recipient, a delivered field the original's label withholds from the recipient, or a
delivery whose origin is unknown. The delivered copy's own label is not trusted:
only the original's counts. The messages inside a `Resend` are checked as deliveries
of their own (one that does not decode is a leak: nothing can vouch for it). A
relay's tree head (`TreeHead`, `sharing.witness`) holds hashes of the relay's own
decisions and no party's data: there is nothing in it to leak.
"""

from __future__ import annotations

from dataclasses import dataclass

from warnlink.errors import MessageError
from warnlink.model import Envelope, Resend, decode
from warnlink.model.payloads import TreeHead


@dataclass(frozen=True, slots=True)
class Leak:
    """One thing a party received that its originator had not released to it."""

    recipient: str
    msg_id: str
    originator: str
    what: str  # "message", "field:<name>", "unknown_origin", "unreadable_inner"


class LeakChecker:
    """Holds the originals; checks each delivery against them."""

    def __init__(self) -> None:
        self._originals: dict[str, Envelope] = {}

    def record_original(self, envelope: Envelope) -> None:
        """Remember a message as its originator labelled it, before any release."""
        self._originals[envelope.msg_id] = envelope

    def check(self, recipient: str, delivered: Envelope) -> list[Leak]:
        """The leaks in one delivery to `recipient` (empty when it is clean)."""
        if isinstance(delivered.payload, TreeHead):
            return []
        source = delivered.derived_from or delivered.msg_id
        original = self._originals.get(source)
        if original is None:
            return [Leak(recipient, delivered.msg_id, delivered.originator, "unknown_origin")]
        leaks: list[Leak] = []
        label = original.label
        if not label.releases_to(recipient):
            leaks.append(Leak(recipient, delivered.msg_id, original.originator, "message"))
        for field in label.withheld_from(recipient):
            if getattr(delivered.payload, field, None) is not None:
                leaks.append(
                    Leak(recipient, delivered.msg_id, original.originator, f"field:{field}")
                )
        if isinstance(delivered.payload, Resend):
            for data in delivered.payload.messages:
                try:
                    inner = decode(data)
                except MessageError:
                    leaks.append(
                        Leak(recipient, delivered.msg_id, original.originator, "unreadable_inner")
                    )
                    continue
                leaks += self.check(recipient, inner)
        return leaks
