"""The conformance suite every ingest `Journal` runs (memory and SQLite alike).

Subclass it in a test module with a `journal_factory` fixture: `journal_factory(path)`
opens a journal whose durable state lives at `path` (opening it again after closing is a
restart; a memory journal forgets, and says so with `durable = False`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode, SourceRecord
from warnlink.sources.journal import Journal, record_key

JournalFactory = Callable[[Path], Journal]
T0 = 1_800_000_000 * 10**9


def record(
    track_id: str = "T1", epoch_s: float = 0.0, *, source: str = "src-a", **kw: object
) -> SourceRecord:
    base = SourceRecord(
        source=source,
        party="ROK",
        track_id=track_id,
        epoch_ns=T0 + round(epoch_s * 1e9),
        data_mode=DataMode.REAL,
        pos_ecef_m=(-3_100_000.0, 4_100_000.0, 3_900_000.0),
        vel_ecef_mps=(1_000.0, 500.0, 1_500.0),
        phase=Phase.MIDCOURSE,
        quality=9,
    )
    return msgspec.structs.replace(base, **kw) if kw else base


class JournalConformance:
    """What every journal promises (`warnlink.sources.journal.Journal`)."""

    durable = True

    @pytest.fixture
    def journal(self, journal_factory: JournalFactory, tmp_path: Path) -> Iterator[Journal]:
        opened = journal_factory(tmp_path / "ingest.sqlite")
        yield opened
        opened.close()

    def test_append_keeps_order_and_numbers_tracks(self, journal: Journal) -> None:
        records = [record("T1", 0), record("T2", 0), record("T1", 1)]
        entries = journal.append(records, T0)
        assert [e.record for e in entries] == records
        assert [e.seq for e in entries] == sorted(e.seq for e in entries)
        assert entries[0].number == entries[2].number != entries[1].number
        assert [e.record for e in journal.pending()] == records

    def test_a_repeat_is_not_taken_again_but_other_content_at_the_same_epoch_is(
        self, journal: Journal
    ) -> None:
        first = record("T1", 0)
        journal.append([first], T0)
        assert journal.held([record_key(first)]) == {record_key(first)}
        assert journal.append([first], T0 + 1) == []
        other = record("T1", 0, sensor="radar-2")
        assert journal.held([record_key(other)]) == set()
        (taken,) = journal.append([other], T0 + 1)
        assert taken.record == other

    def test_a_decimal_track_id_keeps_its_number_unless_taken(self, journal: Journal) -> None:
        numbered = journal.append([record("7"), record("T-x", source="src-b")], T0)
        assert [e.number for e in numbered] == [7, 8]
        clash = journal.append([record("7", source="src-b"), record("0"), record("2")], T0)
        assert [e.number for e in clash] == [9, 10, 2]
        tracks = journal.tracks([("src-a", "7"), ("src-b", "7"), ("src-c", "7")])
        assert {k: t.number for k, t in tracks.items()} == {("src-a", "7"): 7, ("src-b", "7"): 9}

    def test_a_large_batch_is_taken_whole_and_a_repeat_in_it_once(self, journal: Journal) -> None:
        journal.append([record("3")], T0)
        names = [str(k) if k % 2 else f"T{k}" for k in range(1, 451)]  # "3" known already
        batch = [record(name, 1) for name in names]
        entries = journal.append([*batch, batch[0]], T0 + 1)
        assert [e.record for e in entries] == batch
        assert [e.seq for e in entries] == sorted(e.seq for e in entries)
        numbers = [e.number for e in entries]
        assert len(set(numbers)) == len(numbers)
        assert numbers[:3] == [1, 4, 3]  # "1" free, "T2" above the highest, "3" its own
        keys = [record_key(r) for r in batch]
        assert journal.held([*keys, record_key(record("T0", 9))]) == set(keys)
        tracks = journal.tracks([("src-a", n) for n in names])
        assert {k[1]: t.number for k, t in tracks.items()} == dict(zip(names, numbers, strict=True))

    def test_a_track_keeps_its_data_mode(self, journal: Journal) -> None:
        journal.append([record("T1", data_mode=DataMode.EXERCISE)], T0)
        (track,) = journal.tracks([("src-a", "T1")]).values()
        assert track.data_mode is DataMode.EXERCISE

    def test_done_entries_leave_pending_and_are_pruned_by_age(self, journal: Journal) -> None:
        entries = journal.append([record("T1", 0), record("T1", 1)], T0)
        journal.append([record("T1", 2)], T0 + 10)
        journal.mark_done([entries[0].seq, entries[1].seq])
        assert [e.record.epoch_ns for e in journal.pending()] == [T0 + 2 * 10**9]
        assert len(journal.done_since(T0)) == 2
        assert journal.prune(T0 + 5) == 2
        assert journal.done_since(0) == []
        assert journal.held([record_key(record("T1", 0))]) == set()  # forgotten: old
        (again,) = journal.append([record("T1", 0)], T0 + 20)
        assert again.number == entries[0].number  # the track is remembered

    def test_a_restart_hands_over_what_was_not_done(
        self, journal_factory: JournalFactory, tmp_path: Path
    ) -> None:
        if not self.durable:
            pytest.skip("a memory journal does not outlive itself")
        path = tmp_path / "restart.sqlite"
        first = journal_factory(path)
        entries = first.append([record("T1", 0), record("X", 1)], T0)
        first.mark_done([entries[0].seq])
        first.close()
        again = journal_factory(path)
        try:
            (pending,) = again.pending()
            assert pending.record == record("X", 1)
            assert pending.number == entries[1].number
            assert again.append([record("T1", 0)], T0) == []  # still a repeat
            assert [e.record for e in again.done_since(0)] == [record("T1", 0)]
        finally:
            again.close()
