"""Putting envelopes on the bus, and releasing them: one way, for gateways and relays."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Protocol

from warnlink.model import Envelope, encode
from warnlink.model.time import Clock
from warnlink.security.signing import PartyKeys, countersign
from warnlink.sharing.audit import AuditLog, DecisionRecord
from warnlink.sharing.release import Decision, decide
from warnlink.sharing.subjects import node_inbox
from warnlink.transport import PublishAck


class Publisher(Protocol):
    """What releasing needs of a bus: a publish. A `Bus` is one; so is the gateway's
    `outbox.Outbox`, which answers None when it holds the message for later."""

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck | None:
        """Append a message (see `Bus.publish`); None if it was kept to send later."""
        ...


def publish_id(subject: str, msg_id: str) -> str:
    """The bus dedupe id of one message on one subject.

    The bus drops a second publish with the same id whatever its subject (as
    JetStream does within a stream), so one message sent to two recipients needs two
    ids; a re-send of the same message to the same recipient keeps its id and is
    dropped, which is what makes re-sending harmless.
    """
    return f"{subject}/{msg_id}"


async def publish_envelope(
    bus: Publisher, subject: str, envelope: Envelope, data: bytes | None = None
) -> PublishAck | None:
    """Publish `envelope` (or its already encoded `data`) on `subject`."""
    payload = data if data is not None else encode(envelope)
    return await bus.publish(subject, payload, msg_id=publish_id(subject, envelope.msg_id))


def record_of(
    decision: Decision, envelope: Envelope, *, decider: str, time: int, content: bytes
) -> DecisionRecord:
    """The audit record of one release decision."""
    return DecisionRecord(
        time=time,
        decider=decider,
        msg_id=envelope.msg_id,
        originator=envelope.originator,
        kind=envelope.kind,
        recipient=decision.recipient,
        outcome=decision.outcome.value,
        reason=decision.reason,
        content_sha256=hashlib.sha256(content).hexdigest(),
        withheld=decision.withheld,
        product_id=decision.product.msg_id if decision.product is not None else "",
    )


async def release(
    envelope: Envelope,
    recipient: str,
    *,
    decider: str,
    content: bytes,
    bus: Publisher,
    audit: AuditLog,
    clock: Clock,
    keys: PartyKeys,
    relayed: bool = False,
    forwarded: dict[str, tuple[Envelope, bytes]] | None = None,
) -> Decision:
    """Decide what `recipient` may have of `envelope`, record it, then send it.

    The decision is in the audit log before anything leaves: a crash between the two
    leaves a record of a decision whose product the re-delivery sends again. The
    product is made by `product_for`.
    """
    decision, data = product_for(
        envelope, recipient, keys=keys, relayed=relayed, forwarded=forwarded
    )
    audit.append(
        record_of(decision, envelope, decider=decider, time=clock.now_ns(), content=content)
    )
    if decision.product is not None:
        await publish_envelope(bus, node_inbox(recipient, decider), decision.product, data)
    return decision


def product_for(
    envelope: Envelope,
    recipient: str,
    *,
    keys: PartyKeys,
    relayed: bool = False,
    forwarded: dict[str, tuple[Envelope, bytes]] | None = None,
) -> tuple[Decision, bytes | None]:
    """The release decision for `recipient`, its product countersigned when `relayed`,
    and its encoding if already made.

    A redacted product stays signed by its originator (`release.decide`); a relay
    countersigns what it sends on, redacted or not, to vouch for exactly those bytes.

    `forwarded`, shared across the recipients of one message, keeps the original as
    countersigned and encoded the first time it is forwarded unchanged, so the next
    recipient gets the same bytes without a second signature (Ed25519 is
    deterministic: signing again would give the same countersignature).
    """
    decision = decide(envelope, recipient)
    product = decision.product
    data: bytes | None = None
    if product is None or not relayed:
        return decision, None
    if product is not envelope:
        product = countersign(product, keys.own)
    elif forwarded is not None and envelope.msg_id in forwarded:
        product, data = forwarded[envelope.msg_id]
    else:
        product = countersign(product, keys.own)
        if forwarded is not None:
            data = encode(product)
            forwarded[envelope.msg_id] = (product, data)
    return dataclasses.replace(decision, product=product), data
