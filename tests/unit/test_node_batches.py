"""A node takes its inbox a batch at a time: the reports' applied-log entries written
together, the replay rules and exactly-once apply kept as for one message at a time."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conformance import source_suite
from tests.factories import KEYS, T0, FailingOnceStore, envelope, impact, trilateral
from warnlink.model import Envelope, encode, new_envelope
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.node import Node
from warnlink.security.signing import sign
from warnlink.sharing.subjects import node_inbox
from warnlink.transport import MemoryBus
from warnlink.transport.queue_store import MemoryQueueStore, Message

PATIENCE_S = 5.0


class _CountingStore(MemoryQueueStore):
    """An applied-log that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        self.writes += 1
        return super().append(subject, msg_id, data, time_ns, deferred=deferred)

    def append_many(self, messages: list[Message], time_ns: int) -> None:  # type: ignore[override]
        self.writes += 1
        for subject, msg_id, data in messages:
            super().append(subject, msg_id, data, time_ns)


def _usa(n: int) -> Envelope:
    return envelope(impact(trk_id=n), originator="USA", seq=n, rel_to=("JPN", "ROK"))


async def _jpn_takes(sent: list[Envelope], node: Node, bus: MemoryBus) -> list[str]:
    """Publish `sent` to JPN's inbox (each its own bus message), let JPN's node consume
    it in one batch; the msg ids of its applied-log."""
    for number, message in enumerate(sent):
        data = encode(message)
        await bus.publish(node_inbox("JPN", "USA"), data, msg_id=f"{message.msg_id}-{number}")
    await node.start()
    await asyncio.wait_for(bus.wait_idle(), PATIENCE_S)
    logged = [e.msg_id for e in node.applied_log.entries()]
    await node.stop()
    await bus.close()
    return logged


def _jpn(tmp_path: Path) -> tuple[Node, MemoryBus]:
    clock = ManualClock(T0 + 10**9)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    return Node("JPN", trilateral(), bus, clock, keys=KEYS["JPN"], audit_dir=tmp_path), bus


async def test_a_batch_of_reports_is_logged_in_one_write(tmp_path: Path) -> None:
    node, bus = _jpn(tmp_path)
    node.applied_log = store = _CountingStore()
    sent = [_usa(n) for n in range(1, 9)]
    assert await _jpn_takes(sent, node, bus) == [e.msg_id for e in sent]
    assert store.writes == 1
    assert node.picture.received_from["USA"] == 8


async def test_a_redelivery_inside_a_batch_is_applied_once(tmp_path: Path) -> None:
    node, bus = _jpn(tmp_path)
    first, second = _usa(1), _usa(2)
    logged = await _jpn_takes([first, second, first, second, first], node, bus)
    assert logged == [first.msg_id, second.msg_id]
    assert node.counters.get("duplicate") == 3
    assert node.picture.received_from["USA"] == 2


async def test_a_reused_seq_inside_a_batch_is_refused(tmp_path: Path) -> None:
    node, bus = _jpn(tmp_path)
    honest = _usa(1)
    reused = sign(
        new_envelope(
            originator="USA",
            seq=1,
            created=honest.created + 5,
            label=honest.label,
            payload=impact(trk_id=7),
            data_mode=DataMode.REAL,
        ),
        KEYS["USA"].own,
    )
    logged = await _jpn_takes([honest, _usa(2), reused], node, bus)
    assert logged == [honest.msg_id, _usa(2).msg_id]
    assert node.counters.get("rejected.replay") == 1


async def test_a_failed_log_write_applies_nothing_and_the_batch_comes_again(
    tmp_path: Path,
) -> None:
    node, bus = _jpn(tmp_path)
    node.applied_log = FailingOnceStore()
    sent = [_usa(n) for n in range(1, 5)]
    assert await _jpn_takes(sent, node, bus) == [e.msg_id for e in sent]
    assert node.counters.get("transport.failed") == 1
    assert node.picture.received_from["USA"] == 4


class _SyncCountingStore(MemoryQueueStore):
    """An applied-log that notes whether each append was deferred, and its syncs."""

    def __init__(self) -> None:
        super().__init__()
        self.deferred: list[bool] = []
        self.syncs_after: list[int] = []

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        self.deferred.append(deferred)
        return super().append(subject, msg_id, data, time_ns, deferred=deferred)

    def sync(self) -> None:
        self.syncs_after.append(len(self.deferred))


async def test_records_handed_over_are_logged_deferred_and_synced_once_at_settle(
    tmp_path: Path,
) -> None:
    clock = ManualClock(source_suite.T0 + 5 * 10**9)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    node = Node("ROK", trilateral(), bus, clock, keys=KEYS["ROK"], audit_dir=tmp_path)
    node.applied_log = store = _SyncCountingStore()
    for number, track_id in enumerate(("A", "B"), start=1):
        for record in source_suite.track(track_id, n=3):
            await node.ingest(record, number)
    assert store.deferred  # the own reports, applied as sent
    assert all(store.deferred)
    assert store.syncs_after == []
    await node.settle()
    assert store.syncs_after == [len(store.deferred)]  # one sync for them all
    await node.stop()
    await bus.close()
