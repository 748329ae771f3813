"""Putting envelopes on the bus, and releasing them: one way, for gateways and relays.

A gateway releases to its link peer straight (`release`); a relay records its
decisions (`record_decision`), then countersigns the products of a whole batch of
deliveries at once (`countersigned`) and sends them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from warnlink.model import Envelope, encode
from warnlink.model.envelope import MAX_BATCH
from warnlink.model.time import Clock
from warnlink.security.signing import PartyKey, countersign_batch
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


def record_decision(
    envelope: Envelope,
    recipient: str,
    *,
    decider: str,
    content: bytes,
    audit: AuditLog,
    clock: Clock,
    flush: bool = True,
) -> Decision:
    """Decide what `recipient` may have of `envelope` (`release.decide`) and record the
    decision in the audit log, before anything leaves (not `flush`: the caller flushes
    the log before sending, `AuditLog.append`)."""
    decision = decide(envelope, recipient)
    audit.append(
        record_of(decision, envelope, decider=decider, time=clock.now_ns(), content=content),
        flush=flush,
    )
    return decision


async def release(
    envelope: Envelope,
    recipient: str,
    *,
    decider: str,
    content: bytes,
    bus: Publisher,
    audit: AuditLog,
    clock: Clock,
) -> Decision:
    """Decide what `recipient` may have of `envelope`, record it, then send it straight
    (a gateway to its link peer: no countersignature).

    The decision is in the audit log before anything leaves: a crash between the two
    leaves a record of a decision whose product the re-delivery sends again.
    """
    decision = record_decision(
        envelope, recipient, decider=decider, content=content, audit=audit, clock=clock
    )
    if decision.product is not None:
        data = content if decision.product is envelope else None
        await publish_envelope(bus, node_inbox(recipient, decider), decision.product, data)
    return decision


def countersigned(
    decisions: Sequence[Decision], key: PartyKey
) -> list[tuple[Decision, bytes | None]]:
    """`decisions` with their products countersigned by the relay's `key` at once (one
    signature per `MAX_BATCH` products, `signing.countersign_batch`), each with its
    product's encoding (None when refused).

    A product several decisions share (an original forwarded unchanged to several
    recipients) is countersigned and encoded once: its recipients get the same bytes.
    """
    distinct: dict[int, Envelope] = {}
    for decision in decisions:
        if decision.product is not None:
            distinct.setdefault(id(decision.product), decision.product)
    originals = list(distinct.values())
    signed: dict[int, tuple[Envelope, bytes]] = {}
    for start in range(0, len(originals), MAX_BATCH):
        chunk = originals[start : start + MAX_BATCH]
        for original, product in zip(chunk, countersign_batch(chunk, key), strict=True):
            signed[id(original)] = (product, encode(product))
    out: list[tuple[Decision, bytes | None]] = []
    for decision in decisions:
        if decision.product is None:
            out.append((decision, None))
            continue
        product, data = signed[id(decision.product)]
        # Not dataclasses.replace: its generic field walk cost more than the rest here.
        kept = Decision(
            decision.outcome, decision.recipient, decision.reason, decision.withheld, product
        )
        out.append((kept, data))
    return out
