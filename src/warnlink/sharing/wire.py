"""Putting envelopes on the bus: one way, used by gateways and relays alike."""

from __future__ import annotations

from warnlink.model import Envelope, encode
from warnlink.transport import Bus, PublishAck


def publish_id(subject: str, msg_id: str) -> str:
    """The bus dedupe id of one message on one subject.

    The bus drops a second publish with the same id whatever its subject (as
    JetStream does within a stream), so one message sent to two recipients needs two
    ids; a re-send of the same message to the same recipient keeps its id and is
    dropped, which is what makes re-sending harmless.
    """
    return f"{subject}/{msg_id}"


async def publish_envelope(
    bus: Bus, subject: str, envelope: Envelope, data: bytes | None = None
) -> PublishAck:
    """Publish `envelope` (or its already encoded `data`) on `subject`."""
    payload = data if data is not None else encode(envelope)
    return await bus.publish(subject, payload, msg_id=publish_id(subject, envelope.msg_id))
