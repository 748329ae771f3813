"""MemoryBus: the conformance suite, plus what only the embedded bus promises."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conformance.bus_suite import (
    PATIENCE_S,
    QUIET_S,
    BusConformance,
    BusFactory,
    publish_numbered,
    take,
)
from warnlink.errors import BusClosed, ConfigError, StoreError, TransportError
from warnlink.model.time import ManualClock
from warnlink.transport import Bus, MemoryBus
from warnlink.transport.sqlite_log import FILE_NAME


class TestMemoryBusConformance(BusConformance):
    @pytest.fixture
    def bus_factory(self) -> BusFactory:
        async def make_bus(store: Path) -> Bus:
            return MemoryBus(store)

        return make_bus


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[MemoryBus]:
    bus = MemoryBus(tmp_path)
    yield bus
    await bus.close()


# Storage


async def test_without_a_data_dir_the_log_is_private_and_in_memory() -> None:
    bus = MemoryBus()
    await publish_numbered(bus, "a.b", 2)
    sub = await bus.subscribe("a.b", durable="c")
    for delivery in await take(sub, 2):
        await sub.ack(delivery)
    await bus.close()
    other = MemoryBus()
    assert (await other.publish("a.b", b"x", msg_id="m1")).seq == 1
    await other.close()


async def test_published_ns_comes_from_the_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock(start_ns=1_500_000_000_000_000_000)
    bus = MemoryBus(tmp_path, clock=clock)
    await bus.publish("a.b", b"x", msg_id="m1")
    clock.advance_s(2.5)
    await bus.publish("a.b", b"y", msg_id="m2")
    sub = await bus.subscribe("a.b", durable="c")
    got = await take(sub, 2)
    assert [d.published_ns for d in got] == [1_500_000_000_000_000_000, 1_500_000_002_500_000_000]
    await bus.close()


async def test_corrupted_file_raises_store_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"not a database, " * 512)
    with pytest.raises(StoreError, match=str(tmp_path / FILE_NAME)) as caught:
        MemoryBus(tmp_path)
    assert isinstance(caught.value.__cause__, sqlite3.Error)


async def test_unknown_schema_version_raises_store_error(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        MemoryBus(tmp_path)


async def test_second_bus_on_the_same_folder_is_refused(bus: MemoryBus, tmp_path: Path) -> None:
    # Its publishes would not wake the first bus's subscribers.
    with pytest.raises(StoreError, match="locked"):
        MemoryBus(tmp_path)


async def test_in_order_acks_leave_only_the_floor(tmp_path: Path) -> None:
    bus = MemoryBus(tmp_path)
    await publish_numbered(bus, "a.b", 3)
    await bus.publish("other", b"x", msg_id="other")
    await publish_numbered(bus, "a.b", 2, prefix="n")
    sub = await bus.subscribe("a.b", durable="c")
    for delivery in await take(sub, 5):
        await sub.ack(delivery)
    await bus.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:
        floor = conn.execute("SELECT ack_floor FROM consumers WHERE durable = 'c'").fetchone()
        acks = conn.execute("SELECT count(*) FROM acks").fetchone()
    conn.close()
    assert floor == (6,)
    assert acks == (0,)


# Limits and misuse


async def test_oversized_message_is_refused(tmp_path: Path) -> None:
    bus = MemoryBus(tmp_path, max_message_bytes=600)
    assert not (await bus.publish("a.b", bytes(600), msg_id="fits")).duplicate
    with pytest.raises(TransportError, match="601 bytes"):
        await bus.publish("a.b", bytes(601), msg_id="too-big")
    await bus.close()


def test_max_message_bytes_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="positive"):
        MemoryBus(max_message_bytes=0)


async def test_one_open_subscription_per_durable(bus: MemoryBus) -> None:
    await bus.subscribe("a.b", durable="c")
    with pytest.raises(TransportError, match="already has an open subscription"):
        await bus.subscribe("a.b", durable="c")


async def test_acking_a_delivery_not_given_out_is_refused(bus: MemoryBus) -> None:
    await publish_numbered(bus, "a.b", 1)
    one = await bus.subscribe("a.b", durable="one")
    other = await bus.subscribe("a.b", durable="other")
    (delivery,) = await take(one, 1)
    with pytest.raises(TransportError, match="did not deliver"):
        await other.ack(delivery)


# wait_idle


async def test_wait_idle_returns_at_once_when_nothing_is_pending(bus: MemoryBus) -> None:
    await bus.wait_idle()  # no subscription
    await bus.publish("unrelated", b"x", msg_id="x")
    await bus.subscribe("a.b", durable="c")
    async with asyncio.timeout(PATIENCE_S):
        await bus.wait_idle()  # a subscription with nothing matching


async def test_wait_idle_waits_for_an_unacked_delivery(bus: MemoryBus) -> None:
    await publish_numbered(bus, "a.b", 1)
    sub = await bus.subscribe("a.b", durable="c")
    (delivery,) = await take(sub, 1)
    idle = asyncio.create_task(bus.wait_idle())
    done, _ = await asyncio.wait({idle}, timeout=QUIET_S)
    assert not done
    await sub.ack(delivery)
    async with asyncio.timeout(PATIENCE_S):
        await idle


async def test_wait_idle_waits_for_messages_handlers_publish(tmp_path: Path) -> None:
    clock = ManualClock()
    bus = MemoryBus(tmp_path, clock=clock)
    relayed: list[str] = []
    shown: list[tuple[str, int]] = []

    # Subscribed up front, so wait_idle knows about both from the first step.
    relay_sub = await bus.subscribe("link.A.>", durable="relay")
    picture_sub = await bus.subscribe("link.B.>", durable="picture")

    async def relay() -> None:
        sub = relay_sub
        async for delivery in sub:
            # Publish before acking, as the contract of wait_idle asks.
            forwarded = f"link.B.{delivery.subject.rsplit('.', 1)[-1]}"
            await bus.publish(forwarded, delivery.data, msg_id=f"fwd-{delivery.msg_id}")
            relayed.append(delivery.msg_id)
            await sub.ack(delivery)

    async def picture() -> None:
        sub = picture_sub
        async for delivery in sub:
            shown.append((delivery.msg_id, delivery.published_ns))
            await sub.ack(delivery)

    workers = [asyncio.create_task(relay()), asyncio.create_task(picture())]
    async with asyncio.timeout(PATIENCE_S):
        for step in range(3):
            await publish_numbered(bus, "link.A.track", 2, prefix=f"s{step}-")
            await bus.wait_idle()
            # Everything published in this step went through both stages at this time.
            assert len(shown) == 2 * (step + 1)
            assert {ns for _, ns in shown[-2:]} == {clock.now_ns()}
            clock.advance_s(1.0)
    assert relayed == ["s0-1", "s0-2", "s1-1", "s1-2", "s2-1", "s2-2"]
    assert [msg_id for msg_id, _ in shown] == [f"fwd-{msg_id}" for msg_id in relayed]
    await bus.close()
    async with asyncio.timeout(PATIENCE_S):
        await asyncio.gather(*workers)


async def test_wait_idle_raises_bus_closed_when_the_bus_closes(bus: MemoryBus) -> None:
    await publish_numbered(bus, "a.b", 1)
    sub = await bus.subscribe("a.b", durable="c")
    await take(sub, 1)
    idle = asyncio.create_task(bus.wait_idle())
    await asyncio.sleep(0)  # let it start waiting
    await bus.close()
    with pytest.raises(BusClosed):
        async with asyncio.timeout(PATIENCE_S):
            await idle
