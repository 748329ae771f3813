"""The input port: checks common to every source, all-or-nothing batches, durability,
repeats, fairness between sources, and nothing stopping the port."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import msgspec
import pytest

from tests.conformance.journal_suite import T0, record
from warnlink.counters import Counters
from warnlink.errors import StoreError
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S, ManualClock
from warnlink.sources.intake import Intake
from warnlink.sources.journal import Journal, MemoryJournal, SqliteJournal

WINDOW_S = 300.0


class FakeNode:
    """Records what it is handed; fails as told."""

    def __init__(self) -> None:
        self.ingested: list[tuple[SourceRecord, int]] = []
        self.restored: list[tuple[SourceRecord, int]] = []
        self.fail_store = 0
        self.fail_core: set[str] = set()
        self.settled_after = -1

    async def ingest(self, record: SourceRecord, track_number: int) -> None:
        if self.fail_store:
            self.fail_store -= 1
            raise StoreError("disk gone")
        if record.track_id in self.fail_core:
            raise ValueError("a bug in a core")
        self.ingested.append((record, track_number))

    def restore(self, record: SourceRecord, track_number: int) -> None:
        self.restored.append((record, track_number))

    async def settle(self) -> None:
        self.settled_after = len(self.ingested)


def _intake(journal: Journal | None = None, **kw: object) -> tuple[Intake, FakeNode, ManualClock]:
    node, clock = FakeNode(), ManualClock(T0 + 10 * NS_PER_S)
    intake = Intake(
        "ROK",
        journal or MemoryJournal(),
        node,
        clock,
        window_s=WINDOW_S,
        counters=Counters(),
        **kw,  # type: ignore[arg-type]
    )
    return intake, node, clock


async def test_an_accepted_batch_reaches_the_node_in_order() -> None:
    intake, node, _ = _intake()
    batch = [record("T1", 0), record("T1", 1), record("T2", 1)]
    answer = await intake.take("src-a", batch)
    assert (answer.accepted, answer.duplicates, answer.refused) == (3, 0, ())
    await intake.drain()
    assert [r for r, _ in node.ingested] == batch
    assert intake.counters.get("ingest.applied") == 3
    # Marked done only once the node's reports of all three were signed and sent.
    assert node.settled_after == 3


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (record("T1", 0, party="JPN"), "party"),
        (record("T1", 0, source="src-b"), "party"),
        (record("T1", -WINDOW_S - 11), "stale"),
        (record("T1", WINDOW_S + 11), "future"),
    ],
)
async def test_one_bad_record_refuses_the_whole_batch(bad: SourceRecord, reason: str) -> None:
    intake, node, _ = _intake()
    answer = await intake.take("src-a", [record("T9", 0), bad])
    assert answer.accepted == 0
    (refusal,) = answer.refused
    assert (refusal.index, refusal.reason) == (1, reason)
    await intake.drain()
    assert node.ingested == []
    assert intake.counters.get(f"ingest_rejected.{reason}") == 1


async def test_a_track_cannot_change_its_data_mode() -> None:
    intake, _, _ = _intake()
    await intake.take("src-a", [record("T1", 0)])
    answer = await intake.take("src-a", [record("T1", 1, data_mode=DataMode.EXERCISE)])
    assert [r.reason for r in answer.refused] == ["mode_changed"]
    mixed = [record("T2", 0), record("T2", 1, data_mode=DataMode.TEST)]
    assert [r.reason for r in (await intake.take("src-a", mixed)).refused] == ["mode_changed"]


async def test_a_repeat_is_acknowledged_and_not_applied_twice() -> None:
    intake, node, _ = _intake()
    await intake.take("src-a", [record("T1", 0)])
    answer = await intake.take("src-a", [record("T1", 0), record("T1", 0), record("T1", 1)])
    assert (answer.accepted, answer.duplicates) == (1, 2)
    await intake.drain()
    assert [r.epoch_ns for r, _ in node.ingested] == [T0, T0 + NS_PER_S]


async def test_a_flooding_source_is_refused_and_another_keeps_flowing() -> None:
    intake, node, _ = _intake(source_backlog=50)
    flood = [record("F", i / 100, source="flood") for i in range(50)]
    assert (await intake.take("flood", flood)).accepted == 50
    answer = await intake.take("flood", [record("F", 0.9, source="flood")])
    assert [(r.index, r.reason) for r in answer.refused] == [(None, "flood")]
    assert (await intake.take("quiet", [record("Q", 0, source="quiet")])).accepted == 1
    await intake._hand_over()  # one batch: the quiet source is served in it
    assert ("quiet", "Q") in {(r.source, r.track_id) for r, _ in node.ingested}


async def test_what_else_the_node_does_runs_between_any_two_records_handed_over() -> None:
    """A source's answer (a request) waits for one record to be applied, not a batch."""
    intake, node, _ = _intake()
    assert (await intake.take("src-a", [record("T", i / 100) for i in range(250)])).accepted == 250
    stop = asyncio.Event()
    running = asyncio.create_task(intake.run(stop))
    seen: list[int] = []
    for _ in range(10_000):  # bounded: far more turns than records
        await asyncio.sleep(0)  # another coroutine of the node's loop, as a request is
        seen.append(len(node.ingested))
        if seen[-1] == 250:
            break
    stop.set()
    await running
    assert seen[-1] == 250
    assert max(b - a for a, b in itertools.pairwise(seen)) <= 1


async def test_a_failing_store_hands_the_record_over_again_and_a_failing_core_is_counted() -> None:
    intake, node, _ = _intake()
    node.fail_store = 1
    node.fail_core = {"BAD"}
    await intake.take("src-a", [record("T1", 0), record("BAD", 0), record("T1", 1)])
    await intake.drain()
    assert [r.track_id for r, _ in node.ingested] == ["T1", "T1"]
    assert intake.counters.get("transport.failed") == 1
    assert intake.counters.get("ingest.apply_failed") == 1


async def test_nothing_accepted_is_lost_across_a_crash(tmp_path: Path) -> None:
    """Accepted and answered, the node killed before it handled anything: the restarted
    node hands it all over, and replays what it had handled quietly."""
    path = tmp_path / "ingest-ROK.sqlite"
    intake, node, _ = _intake(SqliteJournal(path))
    await intake.take("src-a", [record("T1", 0)])
    await intake.drain()
    await intake.take("src-a", [record("T1", 1), record("T1", 2)])
    intake.journal.close()  # the crash: nothing more happens in this process
    again, node2, _ = _intake(SqliteJournal(path))
    again.start()
    await again.drain()
    assert [r.epoch_ns for r, _ in node2.restored] == [T0]
    assert [r.epoch_ns for r, _ in node2.ingested] == [T0 + NS_PER_S, T0 + 2 * NS_PER_S]
    assert node2.ingested[0][1] == node.ingested[0][1]  # the same track number
    answer = await again.take("src-a", [record("T1", 2)])
    assert (answer.accepted, answer.duplicates) == (0, 1)
    again.journal.close()


async def test_the_answer_hook_sees_every_batch() -> None:
    seen: list[tuple[str, int, int]] = []
    intake, _, _ = _intake(on_answer=lambda s, a, now: seen.append((s, a.accepted, len(a.refused))))
    await intake.take("src-a", [record("T1", 0)])
    await intake.take("src-a", [record("T1", 0, party="JPN")])
    assert seen == [("src-a", 1, 0), ("src-a", 0, 1)]


def test_records_are_plain_values() -> None:
    """A record survives the journal's encoding unchanged (msgpack round trip)."""
    original = record("T1", 0, cov=tuple(float(i) for i in range(21)), sensor="R-1")
    data = msgspec.msgpack.encode(original)
    assert msgspec.msgpack.decode(data, type=SourceRecord) == original
