"""The conformance suite every `Bus` implementation runs.

Use it by subclassing in a test module, with a name pytest collects, and providing
a `bus_factory` fixture::

    class TestMemoryBusConformance(BusConformance):
        @pytest.fixture
        def bus_factory(self) -> BusFactory:
            async def make_bus(store: Path) -> Bus:
                return MemoryBus(store)
            return make_bus

`bus_factory(store)` returns a fresh, open bus whose durable state lives in
`store`; calling it again with the same path after closing the first bus is a
restart. The suite closes every bus it opens.

Only what `warnlink.transport.base` promises is tested here. Nothing sleeps to
wait for something: waits are bounded by `PATIENCE_S` as a guard against hangs,
and "nothing arrives" is checked with a short `next(timeout_s=QUIET_S)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

import pytest

from warnlink.errors import BusClosed, TransportError
from warnlink.transport.base import Bus, Delivery, Subscription

BusFactory = Callable[[Path], Awaitable[Bus]]

PATIENCE_S: Final = 5.0  # a guard against a hang, never expected to elapse
QUIET_S: Final = 0.05  # how long "nothing arrives" is watched for


class Buses:
    """Opens buses on one store, restarts them, and closes them all at the end."""

    def __init__(self, factory: BusFactory, store: Path) -> None:
        self._factory = factory
        self._store = store
        self._opened: list[Bus] = []

    async def open(self) -> Bus:
        bus = await self._factory(self._store)
        self._opened.append(bus)
        return bus

    async def restart(self, bus: Bus) -> Bus:
        await bus.close()
        return await self.open()

    async def close_all(self) -> None:
        for bus in self._opened:
            await bus.close()


async def take(subscription: Subscription, count: int) -> list[Delivery]:
    """The next `count` deliveries, failing the test if one does not come."""
    deliveries: list[Delivery] = []
    for _ in range(count):
        delivery = await subscription.next(timeout_s=PATIENCE_S)
        assert delivery is not None, f"expected {count} deliveries, got {len(deliveries)}"
        deliveries.append(delivery)
    return deliveries


async def take_batches(subscription: Subscription, count: int, max_count: int) -> list[Delivery]:
    """The next `count` deliveries by `next_batch(max_count)`, checking each batch's size."""
    deliveries: list[Delivery] = []
    while len(deliveries) < count:
        batch = await subscription.next_batch(max_count, timeout_s=PATIENCE_S)
        assert 1 <= len(batch) <= max_count, f"a batch of {len(batch)} (max {max_count})"
        deliveries.extend(batch)
    assert len(deliveries) == count
    return deliveries


async def assert_quiet(subscription: Subscription) -> None:
    assert await subscription.next(timeout_s=QUIET_S) is None


async def publish_numbered(bus: Bus, subject: str, count: int, *, prefix: str = "m") -> None:
    for number in range(1, count + 1):
        await bus.publish(subject, f"{prefix}{number}".encode(), msg_id=f"{prefix}{number}")


class BusConformance:
    """What every `Bus` must do. Not collected itself: subclass it as ``Test...``."""

    @pytest.fixture
    async def buses(self, bus_factory: BusFactory, tmp_path: Path) -> AsyncIterator[Buses]:
        buses = Buses(bus_factory, tmp_path / "store")
        yield buses
        await buses.close_all()

    @pytest.fixture
    async def bus(self, buses: Buses) -> Bus:
        return await buses.open()

    # Publishing and order

    async def test_seqs_start_at_1_and_increase(self, bus: Bus) -> None:
        acks = [await bus.publish("a.b", b"x", msg_id=f"id{n}") for n in range(3)]
        assert [ack.seq for ack in acks] == [1, 2, 3]
        assert not any(ack.duplicate for ack in acks)

    async def test_delivers_in_log_order_with_every_field(self, bus: Bus) -> None:
        acks = [
            await bus.publish("track.ROK.update", b"one", msg_id="id-1"),
            await bus.publish("track.JPN.update", b"two", msg_id="id-2"),
            await bus.publish("track.ROK.update", b"three", msg_id="id-3"),
        ]
        sub = await bus.subscribe("track.>", durable="picture")
        got = await take(sub, 3)
        assert [d.seq for d in got] == [ack.seq for ack in acks]
        assert [d.data for d in got] == [b"one", b"two", b"three"]
        assert [d.msg_id for d in got] == ["id-1", "id-2", "id-3"]
        assert [d.subject for d in got] == [
            "track.ROK.update",
            "track.JPN.update",
            "track.ROK.update",
        ]
        assert not any(d.redelivered for d in got)
        assert got[0].published_ns <= got[1].published_ns <= got[2].published_ns
        await assert_quiet(sub)

    async def test_waiting_next_receives_a_later_publish(self, bus: Bus) -> None:
        sub = await bus.subscribe("a.>", durable="c")
        waiting = asyncio.create_task(sub.next(timeout_s=PATIENCE_S))
        await asyncio.sleep(0)  # let it start waiting before the publish
        ack = await bus.publish("a.b", b"late", msg_id="late")
        delivery = await waiting
        assert delivery is not None
        assert (delivery.seq, delivery.data) == (ack.seq, b"late")

    async def test_next_returns_none_on_timeout(self, bus: Bus) -> None:
        await bus.publish("other.subject", b"x", msg_id="x")
        sub = await bus.subscribe("a.>", durable="c")
        await assert_quiet(sub)

    async def test_async_iteration_yields_in_order_and_ends_on_close(self, bus: Bus) -> None:
        sub = await bus.subscribe("a.*", durable="c")
        got: list[bytes] = []
        three = asyncio.Event()

        async def consume() -> None:
            async for delivery in sub:
                got.append(delivery.data)
                await sub.ack(delivery)
                if len(got) == 3:
                    three.set()

        consumer = asyncio.create_task(consume())
        await publish_numbered(bus, "a.b", 3)
        async with asyncio.timeout(PATIENCE_S):
            await three.wait()
            await sub.close()
            await consumer  # the iteration ended, without an error
        assert got == [b"m1", b"m2", b"m3"]

    # Deduplication

    async def test_duplicate_msg_id_appends_nothing(self, bus: Bus) -> None:
        first = await bus.publish("a.b", b"original", msg_id="same")
        await bus.publish("a.b", b"other", msg_id="different")
        again = await bus.publish("a.c", b"retry", msg_id="same")
        assert (again.seq, again.duplicate) == (first.seq, True)
        sub = await bus.subscribe(">", durable="c")
        got = await take(sub, 2)
        assert [d.data for d in got] == [b"original", b"other"]
        await assert_quiet(sub)

    async def test_deduplication_survives_restart(self, buses: Buses, bus: Bus) -> None:
        first = await bus.publish("a.b", b"x", msg_id="same")
        bus = await buses.restart(bus)
        again = await bus.publish("a.b", b"x", msg_id="same")
        assert (again.seq, again.duplicate) == (first.seq, True)

    # Durability and acks

    async def test_published_messages_survive_restart(self, buses: Buses, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 3)
        bus = await buses.restart(bus)
        sub = await bus.subscribe("a.b", durable="c")
        assert [d.data for d in await take(sub, 3)] == [b"m1", b"m2", b"m3"]
        nxt = await bus.publish("a.b", b"m4", msg_id="m4")
        assert nxt.seq == 4

    async def test_restart_resumes_after_acks_and_flags_redeliveries(
        self, buses: Buses, bus: Bus
    ) -> None:
        await publish_numbered(bus, "a.b", 5)
        sub = await bus.subscribe("a.b", durable="c")
        m1, m2, m3 = await take(sub, 3)
        await sub.ack(m1)
        await sub.ack(m2)
        # m3 was delivered but not acked; m4 and m5 were never delivered.
        bus = await buses.restart(bus)
        sub = await bus.subscribe("a.b", durable="c")
        got = await take(sub, 3)
        assert [(d.data, d.redelivered) for d in got] == [
            (b"m3", True),
            (b"m4", False),
            (b"m5", False),
        ]
        assert got[0].seq == m3.seq
        await assert_quiet(sub)

    async def test_resubscribing_redelivers_unacked(self, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 2)
        sub = await bus.subscribe("a.b", durable="c")
        m1, _m2 = await take(sub, 2)
        await sub.ack(m1)
        await sub.close()
        sub = await bus.subscribe("a.b", durable="c")
        (again,) = await take(sub, 1)
        assert (again.data, again.redelivered) == (b"m2", True)
        await assert_quiet(sub)

    async def test_out_of_order_acks_are_kept(self, buses: Buses, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 4)
        sub = await bus.subscribe("a.b", durable="c")
        _m1, m2, _m3, m4 = await take(sub, 4)
        await sub.ack(m4)
        await sub.ack(m2)
        bus = await buses.restart(bus)
        sub = await bus.subscribe("a.b", durable="c")
        got = await take(sub, 2)
        assert [(d.data, d.redelivered) for d in got] == [(b"m1", True), (b"m3", True)]
        await assert_quiet(sub)

    async def test_acking_twice_is_harmless(self, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 2)
        sub = await bus.subscribe("a.b", durable="c")
        m1, _m2 = await take(sub, 2)
        await sub.ack(m1)
        await sub.ack(m1)
        await sub.close()
        sub = await bus.subscribe("a.b", durable="c")
        assert [d.data for d in await take(sub, 1)] == [b"m2"]

    # Batches

    async def test_batches_hand_out_in_log_order_up_to_their_size(self, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 7)
        sub = await bus.subscribe("a.b", durable="c")
        got = await take_batches(sub, 7, 3)
        assert [d.data for d in got] == [f"m{n}".encode() for n in range(1, 8)]
        assert [d.seq for d in got] == sorted(d.seq for d in got)
        assert await sub.next_batch(3, timeout_s=QUIET_S) == []

    async def test_a_waiting_batch_receives_a_later_publish(self, bus: Bus) -> None:
        sub = await bus.subscribe("a.>", durable="c")
        waiting = asyncio.create_task(sub.next_batch(10, timeout_s=PATIENCE_S))
        await asyncio.sleep(0)
        await bus.publish("a.b", b"late", msg_id="late")
        assert [d.data for d in await waiting] == [b"late"]

    async def test_a_batch_holds_at_least_one(self, bus: Bus) -> None:
        sub = await bus.subscribe("a.b", durable="c")
        with pytest.raises(TransportError):
            await sub.next_batch(0, timeout_s=QUIET_S)

    async def test_ack_many_survives_restart_and_leaves_the_rest(
        self, buses: Buses, bus: Bus
    ) -> None:
        await publish_numbered(bus, "a.b", 5)
        sub = await bus.subscribe("a.b", durable="c")
        m1, _m2, m3, m4, _m5 = await take_batches(sub, 5, 5)
        await sub.ack_many([m1, m3, m4])
        await sub.ack_many([m1, m3])  # acking again is harmless
        bus = await buses.restart(bus)
        sub = await bus.subscribe("a.b", durable="c")
        got = await take_batches(sub, 2, 5)
        assert [(d.data, d.redelivered) for d in got] == [(b"m2", True), (b"m5", True)]
        await assert_quiet(sub)

    async def test_ack_many_with_a_stranger_acks_none(self, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 2)
        sub = await bus.subscribe("a.b", durable="c")
        m1, m2 = await take_batches(sub, 2, 2)
        stranger = Delivery("a.b", b"?", m2.seq + 100, "x", 0, False)
        with pytest.raises(TransportError):
            await sub.ack_many([m1, stranger])
        await sub.close()
        sub = await bus.subscribe("a.b", durable="c")
        assert [d.data for d in await take(sub, 2)] == [b"m1", b"m2"]

    async def test_batches_and_single_takes_mix(self, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 4)
        sub = await bus.subscribe("a.b", durable="c")
        first = await take(sub, 1)
        rest = await take_batches(sub, 3, 8)
        await sub.ack_many([*first, *rest])
        await sub.close()
        sub = await bus.subscribe("a.b", durable="c")
        await assert_quiet(sub)

    # Pipelined publishes

    async def test_pipelined_publishes_keep_their_order_and_answer_each(
        self, buses: Buses, bus: Bus
    ) -> None:
        answers = [
            await bus.publish_pipelined("a.b", f"m{n}".encode(), msg_id=f"m{n}")
            for n in range(1, 101)
        ]
        again = await bus.publish_pipelined("a.b", b"m7", msg_id="m7")
        acks = await asyncio.wait_for(asyncio.gather(*answers, again), PATIENCE_S)
        assert [ack.seq for ack in acks[:-1]] == list(range(1, 101))
        assert not any(ack.duplicate for ack in acks[:-1])
        assert (acks[-1].seq, acks[-1].duplicate) == (7, True)
        bus = await buses.restart(bus)  # answered: durable
        sub = await bus.subscribe("a.b", durable="c")
        got = await take_batches(sub, 100, 64)
        assert [d.data for d in got] == [f"m{n}".encode() for n in range(1, 101)]

    async def test_a_pipelined_publish_is_checked_at_once(self, bus: Bus) -> None:
        with pytest.raises(TransportError):
            await bus.publish_pipelined("a.b", b"x", msg_id="")

    # Filters and durables

    @pytest.mark.parametrize(
        ("subject_filter", "expected"),
        [
            ("track.ROK.update", ["track.ROK.update"]),
            ("track.*.update", ["track.ROK.update", "track.JPN.update"]),
            ("track.>", ["track.ROK.update", "track.JPN.update", "track.JPN.lost", "track.X"]),
            ("*.JPN.*", ["track.JPN.update", "track.JPN.lost", "alert.JPN.area"]),
            ("*", ["heartbeat"]),
            (">", ["track.ROK.update", "track.JPN.update", "track.JPN.lost", "track.X",
                   "alert.JPN.area", "heartbeat"]),
        ],
    )  # fmt: skip
    async def test_wildcard_filters(
        self, bus: Bus, subject_filter: str, expected: list[str]
    ) -> None:
        subjects = [
            "track.ROK.update",
            "track.JPN.update",
            "track.JPN.lost",
            "track.X",
            "alert.JPN.area",
            "heartbeat",
        ]
        for number, subject in enumerate(subjects):
            await bus.publish(subject, b"x", msg_id=f"id{number}")
        sub = await bus.subscribe(subject_filter, durable="c")
        assert [d.subject for d in await take(sub, len(expected))] == expected
        await assert_quiet(sub)

    async def test_durables_are_independent(self, buses: Buses, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 3)
        fast = await bus.subscribe("a.>", durable="fast")
        for delivery in await take(fast, 3):
            await fast.ack(delivery)
        slow = await bus.subscribe("a.>", durable="slow")
        assert [d.data for d in await take(slow, 3)] == [b"m1", b"m2", b"m3"]
        bus = await buses.restart(bus)
        fast = await bus.subscribe("a.>", durable="fast")
        await assert_quiet(fast)
        slow = await bus.subscribe("a.>", durable="slow")
        assert [(d.data, d.redelivered) for d in await take(slow, 3)] == [
            (b"m1", True),
            (b"m2", True),
            (b"m3", True),
        ]

    async def test_new_durable_starts_at_the_beginning(self, bus: Bus) -> None:
        await publish_numbered(bus, "a.b", 2)
        first = await bus.subscribe("a.b", durable="first")
        for delivery in await take(first, 2):
            await first.ack(delivery)
        late = await bus.subscribe("a.b", durable="late")
        assert [d.data for d in await take(late, 2)] == [b"m1", b"m2"]

    async def test_resubscribing_with_another_filter_is_refused(
        self, buses: Buses, bus: Bus
    ) -> None:
        sub = await bus.subscribe("a.*", durable="c")
        await sub.close()
        with pytest.raises(TransportError, match="filter"):
            await bus.subscribe("a.>", durable="c")
        bus = await buses.restart(bus)
        with pytest.raises(TransportError, match="filter"):
            await bus.subscribe("b.*", durable="c")
        await bus.subscribe("a.*", durable="c")  # the same filter resumes

    # Validation

    @pytest.mark.parametrize("subject", ["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "é"])
    async def test_invalid_subject_is_refused(self, bus: Bus, subject: str) -> None:
        with pytest.raises(TransportError, match="invalid subject"):
            await bus.publish(subject, b"x", msg_id="x")

    @pytest.mark.parametrize("subject_filter", ["", "a..b", "a.>.b", "a*", "a.b>", "a b"])
    async def test_invalid_filter_is_refused(self, bus: Bus, subject_filter: str) -> None:
        with pytest.raises(TransportError, match="invalid subject filter"):
            await bus.subscribe(subject_filter, durable="c")

    @pytest.mark.parametrize("durable", ["", "a.b", "a*", "a b"])
    async def test_invalid_durable_name_is_refused(self, bus: Bus, durable: str) -> None:
        with pytest.raises(TransportError, match="invalid durable"):
            await bus.subscribe("a.b", durable=durable)

    async def test_empty_msg_id_is_refused(self, bus: Bus) -> None:
        with pytest.raises(TransportError, match="msg_id"):
            await bus.publish("a.b", b"x", msg_id="")

    # Closing

    async def test_use_after_close_raises_bus_closed(self, bus: Bus) -> None:
        await bus.publish("a.b", b"x", msg_id="x")
        sub = await bus.subscribe("a.b", durable="c")
        (delivery,) = await take(sub, 1)
        await bus.close()
        await bus.close()  # closing twice is harmless
        with pytest.raises(BusClosed):
            await bus.publish("a.b", b"y", msg_id="y")
        with pytest.raises(BusClosed):
            await bus.subscribe("a.b", durable="d")
        with pytest.raises(BusClosed):
            await sub.next(timeout_s=QUIET_S)
        with pytest.raises(BusClosed):
            await sub.ack(delivery)
        await sub.close()  # harmless too

    async def test_closed_subscription_raises_bus_closed(self, bus: Bus) -> None:
        sub = await bus.subscribe("a.b", durable="c")
        await sub.close()
        with pytest.raises(BusClosed):
            await sub.next(timeout_s=QUIET_S)
        assert [d async for d in sub] == []

    async def test_closing_the_bus_ends_a_waiting_iteration(self, bus: Bus) -> None:
        sub = await bus.subscribe("a.b", durable="c")

        async def consume() -> list[Delivery]:
            return [delivery async for delivery in sub]

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0)  # let it start waiting
        await bus.close()
        async with asyncio.timeout(PATIENCE_S):
            assert await consumer == []
