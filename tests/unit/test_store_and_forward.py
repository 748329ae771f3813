"""Store and forward: the gateway's outbox, a node's restart from its durable state,
and a backlog older than the freshness window after a long outage."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.factories import KEYS, T0, FailingOnceStore, PassThrough, impact, track, trilateral
from warnlink.counters import Counters
from warnlink.errors import StoreError, TransportError
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.node import Node, consume
from warnlink.sharing.outbox import Outbox
from warnlink.sharing.subjects import node_inbox
from warnlink.transport import Delivery, MemoryBus, PublishAck, Subscription
from warnlink.transport.queue_store import MemoryQueueStore, QueueStore, SqliteQueueStore


class FlakyBus:
    """A MemoryBus whose publishes fail while `down` (a link outage seen by one party),
    to every subject or to those starting with `only`."""

    def __init__(self, bus: MemoryBus, only: str = "") -> None:
        self.bus = bus
        self.down = False
        self.only = only

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        if self.down and subject.startswith(self.only):
            raise TransportError(f"no JetStream stream answers on {subject!r}")
        return await self.bus.publish(subject, data, msg_id=msg_id)

    async def publish_pipelined(
        self, subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        if self.down and subject.startswith(self.only):
            failed: asyncio.Future[PublishAck] = asyncio.get_running_loop().create_future()
            failed.set_exception(TransportError(f"no JetStream stream answers on {subject!r}"))
            return failed
        return await self.bus.publish_pipelined(subject, data, msg_id=msg_id)

    async def subscribe(self, subject_filter: str, *, durable: str) -> Subscription:
        return await self.bus.subscribe(subject_filter, durable=durable)

    async def close(self) -> None:
        """The shared bus is closed by its owner."""


@pytest.fixture(params=["memory", "sqlite"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> QueueStore:
    if request.param == "memory":
        return MemoryQueueStore()
    return SqliteQueueStore(tmp_path / "q.sqlite", what="outbox")


def test_queue_store_conformance(queue: QueueStore) -> None:
    first = queue.append("a", "m1", b"1", 10)
    second = queue.append("b", "m2", b"2", 20)
    assert second > first
    assert [(e.subject, e.msg_id, e.data, e.time_ns) for e in queue.entries()] == [
        ("a", "m1", b"1", 10),
        ("b", "m2", b"2", 20),
    ]
    queue.remove(first)
    queue.remove(first)  # harmless
    assert len(queue) == 1
    queue.remove(second)
    assert queue.append("c", "m3", b"3", 30) > second  # ids never go back
    queue.close()


def test_deferred_appends_are_read_back_and_synced_once(queue: QueueStore) -> None:
    queue.append("a", "m1", b"1", 10, deferred=True)
    queue.append("a", "m2", b"2", 20, deferred=True)
    queue.sync()
    queue.sync()  # nothing new: harmless
    assert [e.msg_id for e in queue.entries()] == ["m1", "m2"]
    queue.close()


def test_a_sync_commits_with_a_disk_sync(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    queue = SqliteQueueStore(path, what="applied-log")
    queue.append("", "m1", b"1", 10, deferred=True)
    wal = path.with_name(path.name + "-wal")
    before = wal.stat().st_size
    queue.sync()  # a commit that changes nothing would write nothing, and sync nothing
    assert wal.stat().st_size > before
    queue.close()


def test_a_deferred_append_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    first = SqliteQueueStore(path, what="applied-log")
    first.append("", "m1", b"1", 10, deferred=True)
    first.close()
    again = SqliteQueueStore(path, what="applied-log")
    assert [e.msg_id for e in again.entries()] == ["m1"]
    again.close()


def test_queue_store_reads_a_time_range_and_forgets_what_is_older(queue: QueueStore) -> None:
    for i in range(5):
        queue.append("s", f"m{i}", bytes([i]), 10 * i)
    assert [e.msg_id for e in queue.between(10, 30)] == ["m1", "m2", "m3"]
    assert queue.pruned_before() == 0
    assert queue.remove_before(0) == 0
    assert queue.pruned_before() == 0  # nothing was lost
    assert queue.remove_before(20) == 2
    assert queue.pruned_before() == 20
    assert [e.msg_id for e in queue.entries()] == ["m2", "m3", "m4"]
    assert all(e.intact for e in queue.entries())
    queue.close()


async def test_outbox_keeps_what_fails_holds_what_follows_and_resends_in_order(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    memory = MemoryBus(None, clock=clock)
    flaky = FlakyBus(memory)
    counters = Counters()
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(flaky, SqliteQueueStore(path, what="outbox"), clock, counters)
    assert await outbox.publish("wl.x", b"before", msg_id="0") is not None
    flaky.down = True
    assert await outbox.publish("wl.x", b"first", msg_id="1") is None
    assert await outbox.publish("wl.x", b"second", msg_id="2") is None  # held behind
    assert (counters.get("outbox.failed"), counters.get("outbox.held")) == (1, 1)
    assert await outbox.flush() == 0
    outbox.store.close()
    # A restart: the new outbox finds both and sends them, in order, once the link is up.
    flaky.down = False
    reopened = Outbox(flaky, SqliteQueueStore(path, what="outbox"), clock, counters)
    assert reopened.pending == 2
    assert await reopened.flush() == 2
    assert reopened.pending == 0
    assert len(reopened.store) == 0
    subscription = await memory.subscribe("wl.>", durable="check")
    got = [await subscription.next(0) for _ in range(4)]
    assert [d.data for d in got if d is not None] == [b"before", b"first", b"second"]
    reopened.store.close()
    await memory.close()


class _CountingStore(MemoryQueueStore):
    """A memory queue that counts its disk syncs and its appends not waited for."""

    def __init__(self) -> None:
        super().__init__()
        self.syncs = 0
        self.deferred = 0

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        self.deferred += deferred
        return super().append(subject, msg_id, data, time_ns, deferred=deferred)

    def sync(self) -> None:
        self.syncs += 1


async def _published(subscription: Subscription) -> list[bytes]:
    got = []
    while (delivery := await subscription.next(0)) is not None:
        got.append(delivery.data)
    return got


async def test_a_batch_is_kept_with_one_sync_sent_in_order_and_what_fails_stays() -> None:
    """The gateway's signed batches: kept at once, answers taken as they come."""
    clock = ManualClock(T0)
    memory = MemoryBus(None, clock=clock)
    flaky = FlakyBus(memory, only="wl.x")
    store, archive = _CountingStore(), MemoryQueueStore()
    counters = Counters()
    outbox = Outbox(flaky, store, clock, counters, archive=archive)
    published = await memory.subscribe("wl.>", durable="check")
    async with outbox.batch():
        for n in range(3):
            await outbox.publish("wl.x", f"x{n}".encode(), msg_id=f"x{n}")
            await outbox.publish("wl.y", f"y{n}".encode(), msg_id=f"y{n}")
        assert await _published(published) == []  # kept, not sent before the batch ends
    assert (store.deferred, store.syncs) == (6, 1)
    assert outbox.pending == 6  # sent, answers not taken yet: still kept
    await outbox.settle()
    assert await _published(published) == [b"x0", b"y0", b"x1", b"y1", b"x2", b"y2"]
    assert (outbox.pending, len(store), len(archive)) == (0, 0, 6)
    # wl.x is down: its messages stay, counted; wl.y's go; wl.x's follow once it is up.
    flaky.down = True
    async with outbox.batch():
        await outbox.publish("wl.x", b"x3", msg_id="x3")
        await outbox.publish("wl.y", b"y3", msg_id="y3")
        await outbox.publish("wl.x", b"x4", msg_id="x4")
    await outbox.settle()
    assert (outbox.pending, counters.get("outbox.failed")) == (2, 2)
    async with outbox.batch():  # held behind the two waiting, not sent ahead of them
        await outbox.publish("wl.x", b"x5", msg_id="x5")
    await outbox.settle()
    assert (outbox.pending, counters.get("outbox.held")) == (3, 1)
    flaky.down = False
    assert await outbox.flush() == 3
    subscription = await memory.subscribe("wl.x", durable="x-only")
    got = [await subscription.next(0) for _ in range(7)]
    assert [d.data for d in got if d is not None] == [b"x0", b"x1", b"x2", b"x3", b"x4", b"x5"]
    await memory.close()


class _LateAnswers(FlakyBus):
    """A MemoryBus whose pipelined publishes are in the log at once, answered only when
    the test says (`answer`): a slow server's acknowledgements."""

    def __init__(self, bus: MemoryBus) -> None:
        super().__init__(bus)
        self.unanswered: list[tuple[asyncio.Future[PublishAck], PublishAck]] = []

    async def publish_pipelined(
        self, subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        ack = await self.bus.publish(subject, data, msg_id=msg_id)
        late: asyncio.Future[PublishAck] = asyncio.get_running_loop().create_future()
        self.unanswered.append((late, ack))
        return late

    def answer(self) -> None:
        for late, ack in self.unanswered:
            late.set_result(ack)
        self.unanswered.clear()


async def test_a_batch_follows_the_one_before_on_the_wire_without_waiting_for_its_answers() -> None:
    clock = ManualClock(T0)
    memory = MemoryBus(None, clock=clock)
    late = _LateAnswers(memory)
    counters = Counters()
    outbox = Outbox(late, MemoryQueueStore(), clock, counters)
    published = await memory.subscribe("wl.>", durable="check")
    for n in range(2):
        async with outbox.batch():
            await outbox.publish("wl.z", f"z{n}".encode(), msg_id=f"z{n}")
    assert await _published(published) == [b"z0", b"z1"]  # the second not held
    assert (counters.get("outbox.held"), outbox.pending, await outbox.flush()) == (0, 2, 0)
    late.answer()
    await outbox.settle()
    assert (outbox.pending, len(outbox.store)) == (0, 0)
    await memory.close()


async def _trilateral(
    tmp_path: Path,
    clock: ManualClock,
    bus: MemoryBus,
    flaky: FlakyBus | None = None,
    flaky_party: str = "ROK",
) -> dict[str, Node]:
    nodes = {
        p: Node(
            p,
            trilateral(),
            flaky if (flaky is not None and p == flaky_party) else bus,
            clock,
            keys=KEYS[p],
            audit_dir=tmp_path,
        )
        for p in ("ROK", "JPN", "USA")
    }
    for node in nodes.values():
        await node.start()
    return nodes


async def test_a_ten_minute_outage_delays_the_backlog_and_loses_none_of_it(
    tmp_path: Path,
) -> None:
    """ROK's link is down for 600 s (twice the window): its outbox holds 20 reports;
    healed, the next tick sends them and JPN and USA apply every one, in order."""
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    flaky = FlakyBus(bus)
    nodes = await _trilateral(tmp_path, clock, bus, flaky)
    await nodes["ROK"].gateway.send(
        impact(trk_id=1), data_mode=DataMode.REAL
    )  # the path is known before the cut
    await bus.wait_idle()
    flaky.down = True
    for _ in range(20):
        clock.advance_s(30)
        await nodes["ROK"].tick()  # heartbeats fail and are counted; the node goes on
        await nodes["ROK"].gateway.send(track(trk_id=1), data_mode=DataMode.REAL)
    assert nodes["ROK"].gateway.outbox.pending == 40  # each to USA, and to the relay for JPN
    assert nodes["ROK"].counters.get("heartbeat.failed") > 0
    flaky.down = False
    await nodes["ROK"].tick()
    await bus.wait_idle()
    assert nodes["ROK"].gateway.outbox.pending == 0
    for party in ("JPN", "USA"):
        assert nodes[party].picture.received_from["ROK"] == 21
        assert nodes[party].counters.get("rejected.replay") == 0
    assert nodes["USA"].counters.get("relay.rejected.replay") == 0
    for node in nodes.values():
        await node.stop()
    await bus.close()


async def test_the_relay_keeps_products_for_a_recipient_it_cannot_reach_and_serves_the_others(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    flaky = FlakyBus(bus, only=node_inbox("JPN", "USA"))  # the USA-JPN link, from USA
    nodes = await _trilateral(tmp_path, clock, bus, flaky, flaky_party="USA")
    flaky.down = True
    for trk_id in range(1, 6):
        await nodes["ROK"].gateway.send(impact(trk_id=trk_id), data_mode=DataMode.REAL)
    await bus.wait_idle()
    usa = nodes["USA"]
    assert usa.picture.received_from["ROK"] == 5  # not held up by JPN's link
    assert nodes["JPN"].picture.received_from["ROK"] == 0
    assert usa.relay is not None
    assert usa.relay.outbox.pending == 5
    flaky.down = False
    await usa.tick()
    await bus.wait_idle()
    assert nodes["JPN"].picture.received_from["ROK"] == 5
    assert usa.relay.outbox.pending == 0
    for node in nodes.values():
        await node.stop()
    await bus.close()


def _snapshot(node: Node) -> dict[str, list[str]]:
    return {
        event_id: sorted(m for c in event.contributions.values() for m in c.msg_ids)
        for event_id, event in node.picture.events.items()
    }


async def _play(tmp_path: Path, *, restart_at: int | None) -> dict[str, list[str]]:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    nodes = await _trilateral(tmp_path, clock, bus)
    for step in range(12):
        if step == restart_at:
            await nodes["JPN"].stop()
            nodes["JPN"] = Node(
                "JPN",
                trilateral(),
                bus,
                clock,
                keys=KEYS["JPN"],
                audit_dir=tmp_path,
            )
        clock.advance_s(1)
        await nodes["ROK"].gateway.send(impact(trk_id=1 + step % 3), data_mode=DataMode.REAL)
        await nodes["USA"].gateway.send(impact(trk_id=10 + step % 2), data_mode=DataMode.REAL)
        await nodes["JPN"].gateway.send(impact(trk_id=20), data_mode=DataMode.REAL)
        if step == restart_at:
            await nodes["JPN"].start()  # after the others sent: its inbox has a backlog
        await bus.wait_idle()
    snapshot = _snapshot(nodes["JPN"])
    for node in nodes.values():
        await node.stop()
    await bus.close()
    return snapshot


async def test_a_node_restarted_mid_scenario_ends_with_the_same_picture(tmp_path: Path) -> None:
    undisturbed = await _play(tmp_path / "a", restart_at=None)
    restarted = await _play(tmp_path / "b", restart_at=6)
    assert undisturbed
    assert restarted == undisturbed


class _FlakyAcks(PassThrough):
    """A subscription whose first ack fails, as a dropped connection would."""

    def __init__(self, inner: Subscription) -> None:
        super().__init__(inner)
        self.failed = False

    async def ack(self, delivery: Delivery) -> None:
        await self.ack_many((delivery,))

    async def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        if not self.failed:
            self.failed = True
            raise TransportError("ack lost")
        await self.inner.ack_many(deliveries)


async def test_a_failed_ack_is_counted_and_the_consumer_goes_on(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(None, clock=clock)
    for i in range(3):
        await bus.publish("wl.x", str(i).encode(), msg_id=str(i))
    inbox = _FlakyAcks(await bus.subscribe("wl.>", durable="d"))
    counters = Counters()
    seen: list[bytes] = []

    async def handle(delivery: Delivery) -> None:
        seen.append(delivery.data)
        if len(seen) == 3:
            await inbox.close()

    await consume(inbox, handle, counters, retry_s=0)
    assert counters.get("transport.failed") == 1
    assert seen == [b"0", b"1", b"2"]  # the loop went on past the failed ack
    await bus.close()


async def test_a_damaged_applied_log_entry_is_reported_and_the_node_starts(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    nodes = await _trilateral(tmp_path, clock, bus)
    for trk_id in (1, 2):
        await nodes["ROK"].gateway.send(impact(trk_id=trk_id), data_mode=DataMode.REAL)
    await bus.wait_idle()
    for node in nodes.values():
        await node.stop()
    path = tmp_path / "applied-JPN.sqlite"
    conn = sqlite3.connect(path)
    (first,) = conn.execute("SELECT min(id) FROM queue").fetchone()
    conn.execute("UPDATE queue SET data = X'00ff' WHERE id = ?", (first,))
    conn.commit()
    conn.close()
    jpn = Node("JPN", trilateral(), bus, clock, keys=KEYS["JPN"], audit_dir=tmp_path)
    assert jpn.counters.get("applied_log.damaged") == 1
    assert jpn.counters.get("applied_log.replayed") == 1
    await jpn.stop()
    await bus.close()


class _HangingBus:
    """A bus whose publishes to `stuck` wait until `release` is set (a link that hangs)."""

    def __init__(self, stuck: str) -> None:
        self.stuck = stuck
        self.release = asyncio.Event()
        self.published: list[bytes] = []

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        if subject == self.stuck:
            await self.release.wait()
        self.published.append(data)
        return PublishAck(seq=len(self.published), duplicate=False)

    async def subscribe(self, subject_filter: str, *, durable: str) -> Subscription:
        raise NotImplementedError

    async def close(self) -> None:
        """Nothing to close."""


async def test_a_send_never_waits_behind_a_publish_that_hangs() -> None:
    bus = _HangingBus("wl.stuck")
    outbox = Outbox(bus, MemoryQueueStore(), ManualClock(T0), Counters())
    first = asyncio.create_task(outbox.publish("wl.stuck", b"1", msg_id="1"))
    await asyncio.sleep(0)  # let it reach the bus
    assert await outbox.publish("wl.stuck", b"2", msg_id="2") is None  # held, at once
    assert await outbox.publish("wl.other", b"x", msg_id="x") is not None  # not held up
    assert await outbox.flush() == 0  # the stuck subject is busy: skipped
    bus.release.set()
    assert await first is not None
    assert await outbox.flush() == 1
    assert bus.published == [b"x", b"1", b"2"]
    assert outbox.pending == 0


async def test_a_message_whose_logging_failed_is_applied_and_logged_on_redelivery() -> None:
    """The applied-log is written before the picture changes: a failed write leaves the
    message unapplied and unacked, and its redelivery is applied and logged once."""
    clock = ManualClock(T0)
    bus = MemoryBus(None, clock=clock)
    nodes = {p: Node(p, trilateral(), bus, clock, keys=KEYS[p]) for p in ("ROK", "USA")}
    rok = nodes["ROK"]
    rok.applied_log = FailingOnceStore()
    sent = await nodes["USA"].gateway.send(
        impact(trk_id=1), data_mode=DataMode.REAL
    )  # straight to ROK
    inbox = await bus.subscribe("wl.node.ROK.from.*", durable="node-ROK")
    delivery = await inbox.next(0)
    assert delivery is not None
    with pytest.raises(StoreError):
        await rok._handle(delivery)
    assert not rok.picture.events  # nothing applied
    await rok._handle(delivery)  # the redelivery
    assert [e.msg_id for e in rok.applied_log.entries()] == [sent.msg_id]
    assert rok.picture.has_applied(sent.msg_id)
    await bus.close()


async def test_a_heartbeat_that_overtakes_a_backlog_does_not_make_it_a_replay(
    tmp_path: Path,
) -> None:
    """USA's reports go straight to ROK, like its heartbeats; after a 600 s outage the
    first heartbeat (never kept in the outbox) arrives before the backlog, which is
    still taken though older than the window."""
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    flaky = FlakyBus(bus)
    nodes = await _trilateral(tmp_path, clock, bus, flaky, flaky_party="USA")
    await nodes["USA"].gateway.send(
        impact(trk_id=1), data_mode=DataMode.REAL
    )  # the path is known before the cut
    await bus.wait_idle()
    flaky.down = True
    for _ in range(20):
        clock.advance_s(30)
        await nodes["USA"].gateway.send(track(trk_id=1), data_mode=DataMode.REAL)
    flaky.down = False
    await nodes["USA"].gateway.send_heartbeats()  # first, straight to the bus
    await bus.wait_idle()
    await nodes["USA"].tick()
    await bus.wait_idle()
    assert nodes["ROK"].picture.received_from["USA"] == 21
    assert nodes["ROK"].counters.get("rejected.replay") == 0
    for node in nodes.values():
        await node.stop()
    await bus.close()
