"""NatsBus on a real nats-server: the conformance suite, and what JetStream adds."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conformance.bus_suite import (
    BusConformance,
    BusFactory,
    publish_numbered,
    take,
    take_batches,
)
from warnlink.errors import TransportError
from warnlink.transport.base import Bus
from warnlink.transport.nats import DEFAULT_MAX_ACK_PENDING, NatsBus, StreamSpec
from warnlink.transport.nats_server import NatsServer, free_port, start_standalone

pytestmark = pytest.mark.nats


def _namespace(store: Path) -> str:
    """A stream name and subject prefix of its own for each test's store."""
    return "T" + hashlib.sha256(str(store).encode()).hexdigest()[:16]


async def _connect(
    url: str, store: Path, *, ack_wait_s: float = 30.0, max_ack_pending: int | None = None
) -> NatsBus:
    name = _namespace(store)
    return await NatsBus.connect(
        url,
        stream=name,
        subject_prefix=name,
        ensure=StreamSpec(name=name, subjects=(">",)),
        ack_wait_s=ack_wait_s,
        **({} if max_ack_pending is None else {"max_ack_pending": max_ack_pending}),
    )


class TestNatsBusConformance(BusConformance):
    @pytest.fixture
    def bus_factory(self, nats_server: NatsServer) -> BusFactory:
        async def make_bus(store: Path) -> Bus:
            return await _connect(nats_server.url, store)

        return make_bus


# What JetStream adds, or does its own way


@pytest.fixture
async def bus(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[NatsBus]:
    bus = await _connect(nats_server.url, tmp_path)
    yield bus
    await bus.close()


async def test_an_acknowledged_publish_survives_a_server_crash(tmp_path: Path) -> None:
    server = start_standalone(tmp_path)
    try:
        bus = await _connect(server.url, tmp_path)
        await publish_numbered(bus, "a.b", 3)
        await bus.close()
        server.kill()  # SIGKILL: no shutdown, only what sync_interval=always put on disk
        server.start()
        bus = await _connect(server.url, tmp_path)
        sub = await bus.subscribe("a.b", durable="c")
        assert [(d.seq, d.data) for d in await take(sub, 3)] == [
            (1, b"m1"),
            (2, b"m2"),
            (3, b"m3"),
        ]
        again = await bus.publish("a.b", b"m2", msg_id="m2")
        assert (again.seq, again.duplicate) == (2, True)
        await bus.close()
    finally:
        server.stop()


async def test_an_open_subscription_hands_out_a_message_once_past_its_ack_wait(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    bus = await _connect(nats_server.url, tmp_path, ack_wait_s=0.3)
    try:
        await publish_numbered(bus, "a.b", 2)
        sub = await bus.subscribe("a.b", durable="c")
        (first,) = await take(sub, 1)
        # Past the ack wait the server sends it again: held, not handed out twice.
        (second,) = await take(sub, 1)
        assert (first.data, second.data) == (b"m1", b"m2")
        assert await sub.next(timeout_s=1.0) is None
        await sub.ack_many([first, second])  # answers the latest delivery of each
        await sub.close()
        sub = await bus.subscribe("a.b", durable="c")
        assert await sub.next(timeout_s=1.0) is None  # acked: nothing comes again
    finally:
        await bus.close()


async def test_after_a_crash_the_orphans_come_back_before_newer_messages(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    crashed = await _connect(nats_server.url, tmp_path, ack_wait_s=0.5)
    await publish_numbered(crashed, "a.b", 3)
    sub = await crashed.subscribe("a.b", durable="c")
    assert len(await take_batches(sub, 3, 10)) == 3
    await crashed.client.close()  # the process dies: no ack, no hand-back
    bus = await _connect(nats_server.url, tmp_path, ack_wait_s=0.5)
    try:
        await bus.publish("a.b", b"m4", msg_id="m4")
        await bus.publish("a.b", b"m5", msg_id="m5")
        sub = await bus.subscribe("a.b", durable="c")
        got = await take_batches(sub, 5, 10)
        assert [(d.data, d.redelivered) for d in got] == [
            (b"m1", True),
            (b"m2", True),
            (b"m3", True),
            (b"m4", False),
            (b"m5", False),
        ]
        await sub.ack_many(got)
    finally:
        await bus.close()


async def test_a_durable_made_with_older_settings_takes_the_new_ones_and_keeps_its_place(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """A consumer an older version made one message at a time (max_ack_pending=1) is
    updated in place when subscribed to again: batches flow, nothing acked comes back."""
    old = await _connect(nats_server.url, tmp_path, max_ack_pending=1)
    await publish_numbered(old, "a.b", 4)
    sub = await old.subscribe("a.b", durable="c")
    await sub.ack_many(await take(sub, 1))
    await old.close()
    bus = await _connect(nats_server.url, tmp_path, ack_wait_s=5.0)
    try:
        sub = await bus.subscribe("a.b", durable="c")
        info = await bus.client.jetstream().consumer_info(bus.stream, "c")
        assert (info.config.max_ack_pending, info.config.ack_wait) == (
            DEFAULT_MAX_ACK_PENDING,
            5.0,
        )
        batch = await take_batches(sub, 3, 10)
        assert [d.data for d in batch] == [b"m2", b"m3", b"m4"]
        await sub.ack_many(batch)
    finally:
        await bus.close()


async def test_the_msg_id_travels_in_the_nats_msg_id_header(bus: NatsBus) -> None:
    await bus.publish("a.b", b"x", msg_id="wl.node.JPN.from.USA/abc")
    sub = await bus.subscribe("a.b", durable="c")
    (delivery,) = await take(sub, 1)
    assert delivery.msg_id == "wl.node.JPN.from.USA/abc"


async def test_a_subject_no_stream_captures_is_a_transport_error(nats_server: NatsServer) -> None:
    bus = await NatsBus.connect(nats_server.url, stream="NOSUCH", subject_prefix="nowhere")
    try:
        with pytest.raises(TransportError, match="no JetStream stream"):
            await bus.publish("a.b", b"x", msg_id="x")
        answer = await bus.publish_pipelined("a.b", b"x", msg_id="x")
        with pytest.raises(TransportError, match="no JetStream stream"):
            await asyncio.wait_for(answer, 10)
        with pytest.raises(TransportError, match="creating durable"):
            await bus.subscribe("a.b", durable="c")
    finally:
        await bus.close()


async def test_a_message_over_the_server_limit_is_refused(bus: NatsBus) -> None:
    with pytest.raises(TransportError, match="exceeds"):
        await bus.publish("a.b", b"x" * (bus.max_message_bytes + 1), msg_id="big")


async def test_no_server_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="cannot connect"):
        await NatsBus.connect(f"nats://127.0.0.1:{free_port()}", stream="S")


async def test_closing_while_an_ack_is_on_its_way_is_harmless(bus: NatsBus) -> None:
    await publish_numbered(bus, "a.b", 1)
    sub = await bus.subscribe("a.b", durable="c")
    (delivery,) = await take(sub, 1)
    acking = asyncio.create_task(sub.ack(delivery))
    await asyncio.sleep(0)  # the ack is sent and waits for its round trip
    await sub.close()
    await acking  # no error: the close let go of the delivery
