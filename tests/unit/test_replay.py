"""Replay protection: both seen-stores, the guard's rules, outbound seqs across restarts."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from tests.factories import T0, envelope, impact
from warnlink.errors import ReplayError, StoreError
from warnlink.model import Envelope, make_msg_id
from warnlink.model.time import NS_PER_S, ManualClock
from warnlink.security.commitments import withhold
from warnlink.sharing.replay import (
    MemorySeenStore,
    PathMark,
    ReplayGuard,
    SeenEntry,
    SeenStore,
    SeqAllocator,
    SqliteSeenStore,
    Verdict,
    path_of,
)

WINDOW_S = 300


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeenStore]:
    made: SeenStore = (
        MemorySeenStore() if request.param == "memory" else SqliteSeenStore(tmp_path / "seen.db")
    )
    yield made
    made.close()


def test_store_conformance(store: SeenStore) -> None:
    assert store.lookup("ROK", 1) is None
    store.record("ROK", 1, SeenEntry("a" * 32, 100))
    store.record("ROK", 2, SeenEntry("b" * 32, 200))
    store.record("JPN", 1, SeenEntry("c" * 32, 300))
    store.record("ROK", 1, SeenEntry("a" * 32, 100))  # recording again is harmless
    assert store.lookup("ROK", 1) == SeenEntry("a" * 32, 100)
    assert store.lookup("JPN", 1) == SeenEntry("c" * 32, 300)
    assert store.lookup("JPN", 2) is None
    assert store.prune(200) == 1  # strictly older than the cutoff
    assert store.lookup("ROK", 1) is None
    assert store.lookup("ROK", 2) == SeenEntry("b" * 32, 200)
    assert store.reserved_seq() == 0
    store.reserve_seq(1000)
    store.reserve_seq(500)  # the mark never goes back
    assert store.reserved_seq() == 1000
    assert store.path_mark("ROK", "relayed") is None
    store.raise_path_mark("ROK", "relayed", PathMark(7, 70))
    store.raise_path_mark("ROK", "relayed", PathMark(5, 90))  # a lower seq never lowers it
    store.raise_path_mark("ROK", "direct", PathMark(2, 20))
    assert store.path_mark("ROK", "relayed") == PathMark(7, 70)
    assert store.path_mark("ROK", "direct") == PathMark(2, 20)
    assert store.prune(10**9) >= 0
    assert store.path_mark("ROK", "relayed") == PathMark(7, 70)  # marks are not pruned


def test_sqlite_store_keeps_entries_and_the_seq_mark_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    first = SqliteSeenStore(path)
    first.record("ROK", 7, SeenEntry("a" * 32, 100))
    first.reserve_seq(2000)
    first.close()
    reopened = SqliteSeenStore(path)
    assert reopened.lookup("ROK", 7) == SeenEntry("a" * 32, 100)
    assert reopened.reserved_seq() == 2000
    reopened.close()
    (mode,) = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_sqlite_store_answers_a_lookup_above_the_highest_seq_without_a_query(
    tmp_path: Path,
) -> None:
    path = tmp_path / "seen.db"
    first = SqliteSeenStore(path)
    first.record("ROK", 7, SeenEntry("a" * 32, 100))
    first.close()
    store = SqliteSeenStore(path)
    queries: list[str] = []
    store._conn.set_trace_callback(queries.append)
    assert store.lookup("ROK", 8) is None  # above ROK's highest, read at open
    assert store.lookup("JPN", 1) is None  # nothing of JPN's
    assert queries == []
    assert store.lookup("ROK", 7) == SeenEntry("a" * 32, 100)
    assert store.lookup("ROK", 6) is None
    assert len(queries) == 2
    store.defer()
    store.record("ROK", 9, SeenEntry("b" * 32, 200))
    store.commit()
    assert store.lookup("ROK", 9) == SeenEntry("b" * 32, 200)
    store.close()


def test_sqlite_store_refuses_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"seen\.db"):
        SqliteSeenStore(path)


def test_sqlite_store_is_locked_while_open(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    first = SqliteSeenStore(path)
    first.record("ROK", 1, SeenEntry("a" * 32, 100))
    with pytest.raises(StoreError, match=r"seen\.db"):
        SqliteSeenStore(path)
    first.close()


def _guard(clock: ManualClock, store: SeenStore | None = None) -> ReplayGuard:
    return ReplayGuard(store or MemorySeenStore(), clock, WINDOW_S, party="JPN")


def _at(created: int, seq: int = 1) -> Envelope:
    return msgspec.structs.replace(envelope(originator="ROK", seq=seq), created=created)


def _rule(guard: ReplayGuard, message: Envelope) -> str:
    with pytest.raises(ReplayError) as info:
        guard.check(message)
    assert info.value.counter_key == "replay"
    assert info.value.party == "JPN"
    assert info.value.msg_id == message.msg_id
    return info.value.rule


def test_window_edges_are_inclusive() -> None:
    clock = ManualClock(T0)
    guard = _guard(clock)
    window_ns = WINDOW_S * NS_PER_S
    assert guard.check(_at(T0 - window_ns, seq=1)) is Verdict.NEW
    assert guard.check(_at(T0 + window_ns, seq=2)) is Verdict.NEW
    assert _rule(guard, _at(T0 - window_ns - 1, seq=3)) == "stale"
    assert _rule(guard, _at(T0 + window_ns + 1, seq=4)) == "future"


def test_same_message_again_is_a_duplicate_and_another_under_its_seq_is_refused() -> None:
    clock = ManualClock(T0)
    guard = _guard(clock)
    original = envelope(originator="ROK", seq=5)
    assert guard.check(original) is Verdict.NEW
    assert guard.check(original) is Verdict.NEW  # not seen until recorded
    guard.record(original)
    assert guard.check(original) is Verdict.DUPLICATE
    altered = envelope(originator="ROK", seq=5, payload=impact())
    assert altered.msg_id == original.msg_id  # same (originator, seq, created)...
    forged = msgspec.structs.replace(altered, msg_id="f" * 32)  # ...so a replay changes the id
    assert _rule(guard, forged) == "seq_reused"
    assert guard.check(envelope(originator="JPN", seq=5)) is Verdict.NEW  # per originator


def test_a_redacted_product_is_the_same_message_as_its_original() -> None:
    guard = _guard(ManualClock(T0))
    original = envelope(originator="ROK", seq=3)
    guard.record(original)
    product = withhold(original, ("sensor",))
    assert product.msg_id == original.msg_id
    assert product.withheld == ("sensor",)
    assert guard.check(product) is Verdict.DUPLICATE


def test_a_seen_message_outside_the_window_is_stale_not_a_duplicate() -> None:
    clock = ManualClock(T0)
    guard = _guard(clock)
    original = envelope(originator="ROK", seq=1)
    guard.record(original)
    clock.advance_s(WINDOW_S + 1)
    assert _rule(guard, original) == "stale"


def test_recording_prunes_what_left_the_window() -> None:
    clock = ManualClock(T0)
    store = MemorySeenStore()
    guard = _guard(clock, store)
    old = envelope(originator="ROK", seq=1)
    guard.record(old)
    clock.advance_s(WINDOW_S + 1)
    guard.record(_at(clock.now_ns(), seq=2))
    assert store.lookup("ROK", 1) is None
    assert store.lookup("ROK", 2) is not None


def test_sqlite_store_refuses_a_replay_after_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    path = tmp_path / "seen.db"
    before = SqliteSeenStore(path)
    original = envelope(originator="ROK", seq=9)
    guard = _guard(clock, before)
    assert guard.check(original) is Verdict.NEW
    guard.record(original)
    before.close()
    after = _guard(clock, SqliteSeenStore(path))
    assert after.check(original) is Verdict.DUPLICATE
    assert _rule(after, msgspec.structs.replace(original, msg_id="e" * 32)) == "seq_reused"
    after.store.close()


def test_a_backlog_older_than_the_window_is_accepted_in_order_after_an_outage(
    tmp_path: Path,
) -> None:
    """A 10-minute outage: what was held is older than the window, and still taken."""
    clock = ManualClock(T0)
    store = SqliteSeenStore(tmp_path / "seen.db")
    guard = _guard(clock, store)
    before = _at(T0, seq=1)
    assert guard.check(before) is Verdict.NEW
    guard.record(before)
    held = [_at(T0 + i * NS_PER_S, seq=1 + i) for i in range(1, 11)]
    clock.advance_s(600)
    store.close()
    guard = _guard(clock, SqliteSeenStore(tmp_path / "seen.db"))  # a restart, too
    for message in held:
        assert guard.check(message) is Verdict.NEW
        guard.record(message)
    # Handled, and older than the window: a replay now is stale, seen or pruned.
    assert _rule(guard, held[3]) == "stale"
    guard.store.close()


def test_a_replay_older_than_the_window_is_refused_and_a_late_gap_too() -> None:
    clock = ManualClock(T0)
    guard = _guard(clock)
    for seq in (1, 2, 4):
        message = _at(T0 + seq, seq=seq)
        assert guard.check(message) is Verdict.NEW
        guard.record(message)
    clock.advance_s(WINDOW_S + 1)
    assert _rule(guard, _at(T0 + 2, seq=2)) == "stale"  # a replay, its entry pruned
    assert _rule(guard, _at(T0 + 3, seq=3)) == "stale"  # below the mark: not a backlog
    assert _rule(guard, _at(T0 - 1, seq=5)) == "stale"  # above it, but created earlier


def test_a_party_whose_clock_is_off_by_more_than_the_window_is_refused_from_the_start() -> None:
    clock = ManualClock(T0)
    guard = _guard(clock)
    skew_ns = (WINDOW_S + 1) * NS_PER_S
    for seq in range(1, 4):
        assert _rule(guard, _at(T0 - skew_ns + seq, seq=seq)) == "stale"
        assert _rule(guard, _at(T0 + skew_ns + seq, seq=10 + seq)) == "future"


def test_paths_keep_their_own_marks() -> None:
    """Direct heartbeats moving on do not make a relayed backlog look like a replay."""
    clock = ManualClock(T0)
    guard = _guard(clock)
    relayed = msgspec.structs.replace(_at(T0, seq=1), countersig=b"x" * 64)
    guard.record(relayed)
    for seq in range(2, 50):
        guard.record(_at(T0 + seq, seq=seq))
    clock.advance_s(600)
    held = msgspec.structs.replace(_at(T0 + 50, seq=50), countersig=b"x" * 64)
    assert guard.check(held) is Verdict.NEW
    assert path_of(held) == "relayed"


class _CountingStore(MemorySeenStore):
    def __init__(self) -> None:
        super().__init__()
        self.reservations = 0

    def reserve_seq(self, upto: int) -> None:
        self.reservations += 1
        super().reserve_seq(upto)


def test_seqs_are_reserved_in_blocks_and_continue_after_a_restart(tmp_path: Path) -> None:
    counting = _CountingStore()
    seqs = SeqAllocator(counting, block=1000)
    assert [seqs.next() for _ in range(1001)] == list(range(1, 1002))
    assert counting.reservations == 2
    path = tmp_path / "seen.db"
    store = SqliteSeenStore(path)
    used = [SeqAllocator(store, block=10).next() for _ in range(3)]  # three "restarts"
    store.close()
    assert used == [1, 11, 21]
    reopened = SqliteSeenStore(path)
    assert SeqAllocator(reopened, block=10).next() == 31
    reopened.close()


class ReplayMachine(RuleBasedStateMachine):
    """One receiver (guard on a SQLite store) and an originator, under a fake clock.

    The receiver handles what `check` calls new, then records it, like a node.
    Invariant: every valid message delivered within the window is handled exactly
    once, and nothing else ever is.
    """

    published = Bundle("published")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp())
        self.clock = ManualClock(T0)
        self.store = SqliteSeenStore(self.folder / "seen.db")
        self.guard = ReplayGuard(self.store, self.clock, WINDOW_S)
        self.seq = 0
        self.handled: list[str] = []
        self.valid: set[str] = set()
        self.mark: tuple[int, int] | None = None  # highest handled seq, its created

    def _continues(self, message: Envelope) -> bool:
        return self.mark is not None and (message.seq, message.created) > self.mark

    def _deliver(self, message: Envelope) -> None:
        old = message.created < self.clock.now_ns() - self.guard.window_ns
        if old and not self._continues(message):
            with pytest.raises(ReplayError) as info:
                self.guard.check(message)
            assert info.value.rule == "stale"
            return
        verdict = self.guard.check(message)
        if verdict is Verdict.DUPLICATE:
            assert message.msg_id in self.handled
            return
        assert message.msg_id not in self.handled
        self.handled.append(message.msg_id)
        self.guard.record(message)
        if self.mark is None or message.seq > self.mark[0]:
            self.mark = (message.seq, message.created)

    @rule(target=published)
    def publish(self) -> Envelope:
        self.seq += 1
        message = _at(self.clock.now_ns(), seq=self.seq)
        self.valid.add(message.msg_id)
        return message

    @rule(message=published)
    def deliver(self, message: Envelope) -> None:
        self._deliver(message)

    @rule(message=published)
    def redeliver(self, message: Envelope) -> None:
        self._deliver(message)
        self._deliver(message)

    @rule(message=published, earlier_ns=st.integers(0, 10**9))
    def replay_altered(self, message: Envelope, earlier_ns: int) -> None:
        """Another payload under a handled (originator, seq), dated no later (a later
        date would need the originator's key: the signature's job, not the guard's)."""
        if message.msg_id not in self.handled:
            return
        altered = msgspec.structs.replace(
            message,
            payload=impact(trk_id=99),
            created=message.created - earlier_ns,
            msg_id=make_msg_id(message.msg_id, "altered", earlier_ns),
        )
        with pytest.raises(ReplayError):
            self.guard.check(altered)

    @rule(seconds=st.integers(0, 2 * WINDOW_S))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance_s(seconds)

    @rule()
    def restart_store(self) -> None:
        self.store.close()
        self.store = SqliteSeenStore(self.folder / "seen.db")
        self.guard = ReplayGuard(self.store, self.clock, WINDOW_S)

    @invariant()
    def handled_once(self) -> None:
        assert len(self.handled) == len(set(self.handled))
        assert set(self.handled) <= self.valid

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder)


ReplayMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_replay_state_machine = ReplayMachine.TestCase


def test_a_version_1_seen_store_is_upgraded_and_keeps_what_it_held(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE seen (originator TEXT NOT NULL, seq INTEGER NOT NULL,
            msg_id TEXT NOT NULL, created_ns INTEGER NOT NULL,
            PRIMARY KEY (originator, seq)) WITHOUT ROWID;
        CREATE INDEX seen_by_created ON seen (created_ns);
        CREATE TABLE outbound (id INTEGER PRIMARY KEY CHECK (id = 0),
            reserved_seq INTEGER NOT NULL);
        INSERT INTO seen VALUES ('ROK', 3, 'abc', 5);
        INSERT INTO outbound VALUES (0, 2000);
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    store = SqliteSeenStore(path)
    assert store.lookup("ROK", 3) == SeenEntry("abc", 5)
    assert store.reserved_seq() == 2000
    assert store.path_mark("ROK", "direct") is None
    store.raise_path_mark("ROK", "direct", PathMark(3, 5))
    store.raise_path_mark("ROK", "direct", PathMark(2, 9))  # lower: kept as it was
    assert store.path_mark("ROK", "direct") == PathMark(3, 5)
    store.close()


def test_an_old_heartbeat_never_continues_a_path() -> None:
    """Heartbeats raise no path mark and are never kept through an outage: one older
    than the window is a replay, even with a seq above the mark."""
    from warnlink.model import Heartbeat

    clock = ManualClock(T0)
    guard = _guard(clock)
    report = _at(T0, seq=1)
    guard.check(report)
    guard.record(report)
    beat = msgspec.structs.replace(_at(T0 + 1, seq=2), payload=Heartbeat(trk_id=0, interval_s=5.0))
    clock.advance_s(WINDOW_S + 10)
    assert _rule(guard, beat) == "stale"
    later_report = _at(T0 + 2, seq=3)  # a backlog report still continues the path
    assert guard.check(later_report) is Verdict.NEW


def test_a_deferred_store_reads_back_what_it_holds_and_writes_it_at_commit(
    store: SeenStore,
) -> None:
    store.record("ROK", 1, SeenEntry("a" * 32, 100))
    store.raise_path_mark("ROK", "relayed", PathMark(5, 50))
    store.defer()
    store.record("ROK", 2, SeenEntry("b" * 32, 200))
    store.raise_path_mark("ROK", "relayed", PathMark(9, 90))
    store.raise_path_mark("ROK", "relayed", PathMark(8, 95))  # a lower seq never lowers it
    assert store.lookup("ROK", 1) == SeenEntry("a" * 32, 100)
    assert store.lookup("ROK", 2) == SeenEntry("b" * 32, 200)
    assert store.path_mark("ROK", "relayed") == PathMark(9, 90)
    store.commit()
    store.commit()  # nothing held: harmless
    assert store.lookup("ROK", 2) == SeenEntry("b" * 32, 200)
    assert store.path_mark("ROK", "relayed") == PathMark(9, 90)


def test_what_a_deferred_sqlite_store_holds_is_on_disk_only_after_commit(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    first = SqliteSeenStore(path)
    first.defer()
    first.record("ROK", 1, SeenEntry("a" * 32, 100))
    first.close()  # as a crash before the commit: dropped, its batch comes again
    second = SqliteSeenStore(path)
    assert second.lookup("ROK", 1) is None
    second.defer()
    second.record("ROK", 1, SeenEntry("a" * 32, 100))
    second.raise_path_mark("ROK", "direct", PathMark(1, 100))
    second.commit()
    second.close()
    third = SqliteSeenStore(path)
    assert third.lookup("ROK", 1) == SeenEntry("a" * 32, 100)
    assert third.path_mark("ROK", "direct") == PathMark(1, 100)
    third.close()
