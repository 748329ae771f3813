"""The receiving edge: is this delivery one this party may accept?

Checked again at every receiver, independently of what the sender or relay
decided (defence in depth): the bytes decode as a version-2 envelope, the sender
named by the subject is a link peer (or the party's own relay) entitled to issue
this envelope, and the label releases the message and every field present to this
party, the issuer's signature verifies over what the envelope holds (committed
fields withheld from this party absent with their salts, every other value the
originator's) and, for a message a relay passed on, so does the relay's
countersignature. A report (launch, track, impact, status) is only ever issued by
its originator: a relay passes it on, withholding fields at most, and one issued
by a relay is refused (rule ``relay_rewrite``). The payload is physical
(`model.plausibility`). Each failure is a typed `MessageError`.
"""

from __future__ import annotations

from warnlink.errors import LabelError, SignatureError
from warnlink.model import Envelope, decode
from warnlink.model.payloads import RESENDABLE
from warnlink.model.plausibility import check_plausible
from warnlink.security.signing import KeySet, verify, verify_countersig
from warnlink.sharing.federation import Federation


def accept(
    data: bytes, *, party: str, sender: str, federation: Federation, keyset: KeySet
) -> Envelope:
    """Decode and check a delivery to `party` from `sender`.

    Raises:
        MessageError: a subclass naming why the delivery is refused.
    """
    envelope = decode(data)
    check_sender(envelope, sender=sender, receiver=party, federation=federation)
    check_signatures(envelope, sender=sender, keyset=keyset)
    check_release(envelope, party)
    check_plausible(envelope, window_s=federation.freshness_window_s)
    return envelope


def check_signatures(envelope: Envelope, *, sender: str, keyset: KeySet) -> None:
    """The issuer signed it; a relay that passed it on (sender not the originator)
    countersigned it; a message sent by its originator carries no countersignature."""
    verify(envelope, keyset)
    if sender != envelope.originator:
        verify_countersig(envelope, sender, keyset)
    elif envelope.countersig:
        raise SignatureError(
            f"{sender} sent its own message with a countersignature",
            rule="unexpected_countersig",
            msg_id=envelope.msg_id,
        )


def check_sender(envelope: Envelope, *, sender: str, receiver: str, federation: Federation) -> None:
    """The subject's sender may have put this envelope on this link.

    A sender must be the receiver's link peer, or the receiver itself when it hosts a
    relay. It may issue its own messages, and a relay may also pass on other
    parties' messages (with fields withheld) and issue its own link messages; a
    report issued by anyone but its originator is refused.
    """
    msg_id = envelope.msg_id
    if envelope.originator not in federation.parties:
        raise LabelError(
            f"unknown originator {envelope.originator}", rule="unknown_party", msg_id=msg_id
        )
    linked = federation.adjacent(sender, receiver) or (
        sender == receiver and sender in federation.relays
    )
    if not linked:
        raise LabelError(
            f"{sender} has no link to {receiver}", rule="no_link", msg_id=msg_id, party=receiver
        )
    if envelope.issued_by != sender and sender not in federation.relays:
        raise LabelError(
            f"{sender} sent a message issued by {envelope.issued_by}",
            rule="wrong_sender",
            msg_id=msg_id,
            party=receiver,
        )
    if envelope.producer is not None and envelope.producer not in federation.relays:
        raise LabelError(
            f"{envelope.producer} is not a relay and cannot issue {envelope.originator}'s data",
            rule="wrong_producer",
            msg_id=msg_id,
            party=receiver,
        )
    if envelope.producer is not None and isinstance(envelope.payload, RESENDABLE):
        raise LabelError(
            f"{envelope.producer} issued {envelope.originator}'s {envelope.kind}: only its"
            " originator may",
            rule="relay_rewrite",
            msg_id=msg_id,
            party=receiver,
        )


def check_release(envelope: Envelope, party: str) -> None:
    """The label releases the message, and every field present (value or salt), to
    `party`."""
    label = envelope.label
    if not label.releases_to(party):
        raise LabelError(
            f"{envelope.msg_id} is not released to {party} ({label.marking()})",
            rule="not_released",
            msg_id=envelope.msg_id,
            party=party,
        )
    present = [
        f
        for f in label.withheld_from(party)
        if getattr(envelope.payload, f, None) is not None or f in envelope.salts
    ]
    if present:
        raise LabelError(
            f"{envelope.msg_id} carries fields withheld from {party}: {', '.join(present)}",
            rule="withheld_field",
            msg_id=envelope.msg_id,
            party=party,
        )
