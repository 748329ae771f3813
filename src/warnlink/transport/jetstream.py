"""The JetStream wire forms the NATS bus needs, as pure functions and msgspec structs.

Only the small part of the JetStream API that `warnlink.transport.nats` uses is here:
the publish acknowledgement, stream and consumer configuration, API errors, and the
reply subject a delivered message carries (from which its stream sequence, delivery
count and timestamp are read). Kept apart from the I/O so it can be tested on bytes.
"""

from __future__ import annotations

from typing import Final

import msgspec

from warnlink.errors import TransportError

MSG_ID_HEADER: Final = "Nats-Msg-Id"
ACK: Final = b"+ACK"
NAK: Final = b"-NAK"
NS_PER_S: Final = 1_000_000_000

# A pull request that ended without a message answers with one of these statuses.
NO_MESSAGES: Final = "404"
REQUEST_TIMEOUT: Final = "408"
CONFLICT: Final = "409"


class ApiError(msgspec.Struct, frozen=True):
    code: int
    description: str = ""
    err_code: int = 0


class PubAck(msgspec.Struct, frozen=True):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: ApiError | None = None


class StreamConfig(msgspec.Struct, frozen=True):
    """What a bus stream is created with (durations in ns, as the API wants)."""

    name: str
    subjects: list[str]
    duplicate_window: int
    max_msg_size: int = -1
    storage: str = "file"
    retention: str = "limits"
    discard: str = "old"
    num_replicas: int = 1


class ConsumerConfig(msgspec.Struct, frozen=True):
    durable_name: str
    filter_subject: str
    ack_wait: int
    ack_policy: str = "explicit"
    deliver_policy: str = "all"
    replay_policy: str = "instant"
    max_ack_pending: int = 1000


class SequenceInfo(msgspec.Struct, frozen=True):
    stream_seq: int = 0


class ConsumerInfo(msgspec.Struct, frozen=True):
    config: ConsumerConfig | None = None
    delivered: SequenceInfo = SequenceInfo()  # the highest delivered so far
    num_pending: int = 0  # matching messages not yet delivered
    num_ack_pending: int = 0  # delivered, not yet acked
    error: ApiError | None = None


class StreamState(msgspec.Struct, frozen=True):
    last_seq: int = 0


class StreamInfo(msgspec.Struct, frozen=True):
    state: StreamState | None = None
    error: ApiError | None = None


class CreateConsumer(msgspec.Struct, frozen=True):
    stream_name: str
    config: ConsumerConfig
    action: str = "create"


class PullRequest(msgspec.Struct, frozen=True):
    batch: int
    expires: int  # ns


class AckSubject(msgspec.Struct, frozen=True):
    """What the ``$JS.ACK...`` reply subject of a delivered message says about it."""

    stream: str
    consumer: str
    num_delivered: int
    stream_seq: int
    consumer_seq: int
    timestamp_ns: int


def parse_ack_subject(reply: str) -> AckSubject:
    """Read a delivered message's reply subject.

    Two forms exist: ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>``
    and, from servers with domains, ``$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.
    <delivered>.<sseq>.<cseq>.<ts>.<pending>[.<random>]``.

    Raises:
        TransportError: not a JetStream ack subject.
    """
    tokens = reply.split(".")
    if len(tokens) < 9 or tokens[0] != "$JS" or tokens[1] != "ACK":
        raise TransportError(f"not a JetStream delivery (reply subject {reply!r})")
    fields = tokens[2:] if len(tokens) == 9 else tokens[4:]
    if len(fields) < 7:
        raise TransportError(f"not a JetStream delivery (reply subject {reply!r})")
    try:
        return AckSubject(
            stream=fields[0],
            consumer=fields[1],
            num_delivered=int(fields[2]),
            stream_seq=int(fields[3]),
            consumer_seq=int(fields[4]),
            timestamp_ns=int(fields[5]),
        )
    except ValueError as exc:
        raise TransportError(f"not a JetStream delivery (reply subject {reply!r})") from exc


def api_error(where: str, error: ApiError) -> TransportError:
    return TransportError(
        f"{where}: JetStream error {error.code}/{error.err_code}: {error.description}"
    )


def seconds_to_ns(seconds: float) -> int:
    return round(seconds * NS_PER_S)
