"""The JetStream wire forms the NATS bus reads, on bytes and strings alone."""

from __future__ import annotations

import msgspec
import pytest

from warnlink.errors import TransportError
from warnlink.transport import jetstream as js


def test_reads_the_short_ack_subject() -> None:
    info = js.parse_ack_subject("$JS.ACK.WL_USA.node-USA.2.17.9.1795547261381876656.4")
    assert info == js.AckSubject(
        stream="WL_USA",
        consumer="node-USA",
        num_delivered=2,
        stream_seq=17,
        consumer_seq=9,
        timestamp_ns=1795547261381876656,
    )


@pytest.mark.parametrize("tail", ["", ".Xy7q"])
def test_reads_the_ack_subject_with_domain_and_account_hash(tail: str) -> None:
    reply = f"$JS.ACK.USA.ACCHASH.WL_USA.relay-USA.1.5.5.1795547261381876656.0{tail}"
    info = js.parse_ack_subject(reply)
    assert (info.stream, info.consumer, info.num_delivered, info.stream_seq) == (
        "WL_USA",
        "relay-USA",
        1,
        5,
    )


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "_INBOX.abc",
        "$JS.ACK.S.c.1.1",
        "$JS.ACK.S.c.one.1.1.1.0",
        "$JS.NAK.S.c.1.1.1.1.0",
    ],
)
def test_anything_else_is_a_transport_error(reply: str) -> None:
    with pytest.raises(TransportError, match="not a JetStream delivery"):
        js.parse_ack_subject(reply)


def test_consumer_config_states_explicit_acks() -> None:
    # The server's default for a missing ack_policy is not "explicit": it must be sent.
    config = js.ConsumerConfig(durable_name="c", filter_subject="a.>", ack_wait=1)
    assert msgspec.json.decode(msgspec.json.encode(config))["ack_policy"] == "explicit"


def test_a_duplicate_pub_ack_is_read() -> None:
    ack = msgspec.json.decode(
        b'{"stream":"S","seq":4,"duplicate":true,"domain":"USA"}', type=js.PubAck
    )
    assert (ack.seq, ack.duplicate, ack.error) == (4, True, None)
