"""The consumer loop in batches: one poison message costs only itself, and a crash
between handling a batch and committing it makes the batch come again, applied once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.factories import KEYS, T0, PassThrough, impact, trilateral
from warnlink.counters import Counters
from warnlink.errors import DecodeError, StoreError
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.node import Node, Rejects, consume
from warnlink.node.stores import GroupCommit
from warnlink.transport import Delivery, MemoryBus, Subscription
from warnlink.transport.queue_store import SqliteQueueStore

PATIENCE_S = 5.0


class _Batches(PassThrough):
    """A subscription that notes the size of every batch it hands out."""

    def __init__(self, inner: Subscription) -> None:
        super().__init__(inner)
        self.sizes: list[int] = []

    async def next_batch(self, max_count: int, timeout_s: float | None = None) -> list[Delivery]:
        batch = await self.inner.next_batch(max_count, timeout_s)
        self.sizes.append(len(batch))
        return batch


async def test_a_poison_message_in_a_batch_costs_only_itself(tmp_path: Path) -> None:
    bus = MemoryBus(tmp_path / "bus", clock=ManualClock(T0))
    for n in range(1, 6):
        await bus.publish("wl.x", f"m{n}".encode(), msg_id=f"m{n}")
    inbox = _Batches(await bus.subscribe("wl.>", durable="d"))
    counters = Counters()
    rejects = Rejects(counters, ManualClock(T0))
    applied: list[bytes] = []
    log = SqliteQueueStore(tmp_path / "applied.sqlite", what="applied-log")

    async def handle(delivery: Delivery) -> None:
        if delivery.data == b"m2":
            raise DecodeError("not a message")
        if delivery.data == b"m4":
            raise RuntimeError("a fault in a core")
        log.append("", delivery.msg_id, delivery.data, 0, deferred=True)
        applied.append(delivery.data)

    task = asyncio.create_task(
        consume(inbox, handle, counters, rejects=rejects, group=GroupCommit(logs=(log,)))
    )
    await asyncio.wait_for(bus.wait_idle(), PATIENCE_S)  # every delivery acked
    await inbox.close()
    await task
    assert inbox.sizes[0] == 5  # one batch for all five
    assert applied == [b"m1", b"m3", b"m5"]
    assert [e.msg_id for e in log.entries()] == ["m1", "m3", "m5"]
    assert counters.get("rejected.malformed") == 1
    assert counters.get("consume.failed") == 1
    assert sorted(letter.data for letter in rejects.letters.letters()) == [b"m2", b"m4"]
    again = await bus.subscribe("wl.>", durable="d")
    assert await again.next_batch(10, timeout_s=0.05) == []  # nothing left unacked
    log.close()
    await bus.close()


def _three_nodes(tmp_path: Path, bus: MemoryBus, clock: ManualClock) -> dict[str, Node]:
    """The trilateral federation's nodes on one bus, not started."""
    return {
        p: Node(p, trilateral(), bus, clock, keys=KEYS[p], audit_dir=tmp_path)
        for p in ("ROK", "JPN", "USA")
    }


async def test_a_crash_before_the_commit_brings_the_batch_again_applied_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    nodes = _three_nodes(tmp_path, bus, clock)
    jpn_log = nodes["JPN"].applied_log
    commit = GroupCommit.commit

    async def crash_once(group: GroupCommit) -> None:
        if jpn_log in group.logs:
            monkeypatch.setattr(GroupCommit, "commit", commit)
            raise asyncio.CancelledError  # killed between handling and committing
        await commit(group)

    monkeypatch.setattr(GroupCommit, "commit", crash_once)
    for node in nodes.values():
        await node.start()
    sent = [
        await nodes["ROK"].gateway.send(impact(trk_id=n), data_mode=DataMode.REAL)
        for n in (1, 2, 3)
    ]
    consumer = nodes["JPN"].consumers[0]
    await asyncio.wait({consumer}, timeout=PATIENCE_S)
    assert consumer.cancelled()
    await nodes["JPN"].stop()  # its seen entries were only held: lost, as in a crash

    restarted = Node("JPN", trilateral(), bus, clock, keys=KEYS["JPN"], audit_dir=tmp_path)
    inbox = await restarted.gateway.open_inbox()
    again = await inbox.next_batch(100, timeout_s=PATIENCE_S)
    assert again  # nothing of the batch was acked: it all comes again
    assert all(d.redelivered for d in again)
    await inbox.close()
    await restarted.start()
    await asyncio.wait_for(bus.wait_idle(), PATIENCE_S)
    logged = [e.msg_id for e in restarted.applied_log.entries()]
    assert len(logged) == len(set(logged))  # applied once
    assert {e.msg_id for e in sent} <= set(logged)
    assert restarted.picture.received_from["ROK"] == 3
    for node in (nodes["ROK"], nodes["USA"], restarted):
        await node.stop()
    await bus.close()


async def test_a_failed_commit_handles_the_batch_again_and_applies_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    nodes = _three_nodes(tmp_path, bus, clock)
    relay = nodes["USA"].relay
    assert relay is not None
    commit = GroupCommit.commit

    async def fail_once(group: GroupCommit) -> None:
        if relay.outbox in group.outboxes:
            monkeypatch.setattr(GroupCommit, "commit", commit)
            raise StoreError("disk full")
        await commit(group)

    monkeypatch.setattr(GroupCommit, "commit", fail_once)
    for node in nodes.values():
        await node.start()
    sent = [
        await nodes["ROK"].gateway.send(impact(trk_id=n), data_mode=DataMode.REAL)
        for n in (1, 2, 3)
    ]
    await asyncio.wait_for(bus.wait_idle(), PATIENCE_S)
    assert nodes["USA"].counters.get("transport.failed") == 1
    logged = [e.msg_id for e in nodes["JPN"].applied_log.entries()]
    assert len(logged) == len(set(logged))  # the relay's products applied once
    assert nodes["JPN"].picture.received_from["ROK"] == 3
    assert {e.msg_id for e in sent} <= {e.msg_id for e in nodes["USA"].applied_log.entries()}
    for node in nodes.values():
        await node.stop()
    await bus.close()


async def test_a_whole_batch_handler_that_fails_falls_back_to_each_delivery(
    tmp_path: Path,
) -> None:
    bus = MemoryBus(tmp_path / "bus", clock=ManualClock(T0))
    for n in range(1, 6):
        await bus.publish("wl.x", f"m{n}".encode(), msg_id=f"m{n}")
    inbox = _Batches(await bus.subscribe("wl.>", durable="d"))
    counters = Counters()
    rejects = Rejects(counters, ManualClock(T0))
    applied: list[bytes] = []
    whole: list[int] = []

    async def handle(delivery: Delivery) -> None:
        if delivery.data == b"m3":
            raise RuntimeError("a fault in a core")
        applied.append(delivery.data)

    async def handle_many(batch: Sequence[Delivery]) -> None:
        whole.append(len(batch))
        for delivery in batch:
            await handle(delivery)

    task = asyncio.create_task(
        consume(inbox, handle, counters, rejects=rejects, handle_many=handle_many)
    )
    await asyncio.wait_for(bus.wait_idle(), PATIENCE_S)
    await inbox.close()
    await asyncio.wait_for(task, PATIENCE_S)
    await bus.close()
    assert whole == inbox.sizes  # every batch went to the whole-batch handler first
    assert counters.get("consume.batch_failed") == 1
    assert counters.get("consume.failed") == 1
    # m1 and m2 were handled by the failed attempt and again one by one: applied by
    # message id downstream, as after a crash.
    assert applied.count(b"m4") == 1
    assert applied.count(b"m5") == 1
    assert [letter.data for letter in rejects.letters.letters()] == [b"m3"]
