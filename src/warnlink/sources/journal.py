"""The intake's durable journal: every accepted record, kept before the source is answered.

What the input port promises a source (`sources.intake`): a batch it acknowledged is not
lost, even by a kill -9 right after the answer, and a record sent again (same source,
track id and epoch, and the same content) is acknowledged and not applied twice. The
journal is how: an accepted batch is written in one transaction (SQLite, WAL,
``synchronous = FULL``: on disk when `append` returns) with its records' keys unique
(`record_key`); a record handed to the node is marked done; a restarted node hands over
what is not done, in order. A record with the key of an earlier one but other content
(a state at the same epoch from another sensor, or corrected) is a new record: it is
taken.

It also keeps each source track's number: the party's track number (`TrackNumber`)
given to a (source, track id), with the track's data mode, for as long as the file
lives, so a restart gives a track the number it had.

Schema (``PRAGMA user_version = 1``)::

    records (seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT, track_id TEXT,
             epoch_ns INTEGER, digest BLOB, received_ns INTEGER, data BLOB, done INTEGER,
             UNIQUE (source, track_id, epoch_ns, digest))
    tracks  (source TEXT, track_id TEXT, number INTEGER UNIQUE, data_mode TEXT,
             PRIMARY KEY (source, track_id))

`MemoryJournal` is the same in memory (tests, the benchmark's reference); both pass
``tests/conformance/journal_suite.py``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import msgspec

from warnlink.errors import StoreError
from warnlink.model.record import DataMode, SourceRecord
from warnlink.transport.sqlite_log import open_store, translated

SCHEMA_VERSION: Final = 1
#: The largest party track number (`model.payloads.TrackNumber`).
MAX_TRACK_NUMBER: Final = 2**31 - 1

_SCHEMA: Final = f"""
BEGIN;
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    track_id TEXT NOT NULL,
    epoch_ns INTEGER NOT NULL,
    digest BLOB NOT NULL,
    received_ns INTEGER NOT NULL,
    data BLOB NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source, track_id, epoch_ns, digest)
);
CREATE INDEX records_pending ON records (done, seq);
CREATE TABLE tracks (
    source TEXT NOT NULL,
    track_id TEXT NOT NULL,
    number INTEGER NOT NULL UNIQUE,
    data_mode TEXT NOT NULL,
    PRIMARY KEY (source, track_id)
);
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(SourceRecord)

TrackKey = tuple[str, str]
RecordKey = tuple[str, str, int, bytes]


def record_key(record: SourceRecord) -> RecordKey:
    """What makes a record a repeat: (source, track id, epoch, BLAKE2b-128 of its content)."""
    digest = hashlib.blake2b(_encoder.encode(record), digest_size=16).digest()
    return (record.source, record.track_id, record.epoch_ns, digest)


@dataclass(frozen=True, slots=True)
class Track:
    """A source's track as this party numbers it."""

    number: int
    data_mode: DataMode


@dataclass(frozen=True, slots=True)
class Entry:
    """One journalled record: its place (`seq`), when it was accepted, its track number."""

    seq: int
    received_ns: int
    record: SourceRecord
    number: int


def next_number(track_id: str, taken: Iterable[int], highest: int) -> int:
    """The number for a new track: its own id when that is a free decimal track number
    (a source that numbers its tracks keeps its numbers), else one above the highest."""
    if track_id.isdecimal() and 0 < int(track_id) <= MAX_TRACK_NUMBER:
        wanted = int(track_id)
        if wanted not in set(taken):
            return wanted
    if highest >= MAX_TRACK_NUMBER:
        raise StoreError("every track number is taken")
    return highest + 1


class Journal(Protocol):
    """Accepted records and track numbers, durable (see the module docstring)."""

    def tracks(self, keys: Iterable[TrackKey]) -> dict[TrackKey, Track]:
        """The tracks known among `keys`."""
        ...

    def held(self, keys: Iterable[RecordKey]) -> set[RecordKey]:
        """Which of the record keys (source, track id, epoch) are journalled."""
        ...

    def append(self, records: Sequence[SourceRecord], received_ns: int) -> list[Entry]:
        """Journal records not held yet, numbering new tracks, all in one transaction;
        the entries in order. On disk when it returns (a durable journal)."""
        ...

    def pending(self) -> list[Entry]:
        """Every entry not marked done, in order."""
        ...

    def done_since(self, received_ns: int) -> list[Entry]:
        """The entries marked done and accepted from `received_ns` on, in order."""
        ...

    def mark_done(self, seqs: Sequence[int]) -> None:
        """Mark entries handed to the node (one write for them all)."""
        ...

    def prune(self, before_ns: int) -> int:
        """Forget done entries accepted before `before_ns` (tracks are kept); how many."""
        ...

    def close(self) -> None: ...


class MemoryJournal:
    """A `Journal` in memory."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Entry, bool]] = {}
        self._keys: dict[RecordKey, int] = {}
        self._tracks: dict[TrackKey, Track] = {}
        self._seq = 0

    def tracks(self, keys: Iterable[TrackKey]) -> dict[TrackKey, Track]:
        return {k: self._tracks[k] for k in keys if k in self._tracks}

    def held(self, keys: Iterable[RecordKey]) -> set[RecordKey]:
        return {k for k in keys if k in self._keys}

    def append(self, records: Sequence[SourceRecord], received_ns: int) -> list[Entry]:
        out: list[Entry] = []
        for record in records:
            key = record_key(record)
            if key in self._keys:
                continue
            track = self._track(record)
            self._seq += 1
            entry = Entry(self._seq, received_ns, record, track.number)
            self._entries[self._seq] = (entry, False)
            self._keys[key] = self._seq
            out.append(entry)
        return out

    def _track(self, record: SourceRecord) -> Track:
        key = (record.source, record.track_id)
        if key not in self._tracks:
            numbers = [t.number for t in self._tracks.values()]
            number = next_number(record.track_id, numbers, max(numbers, default=0))
            self._tracks[key] = Track(number, record.data_mode)
        return self._tracks[key]

    def pending(self) -> list[Entry]:
        return [e for e, done in self._entries.values() if not done]

    def done_since(self, received_ns: int) -> list[Entry]:
        return [e for e, done in self._entries.values() if done and e.received_ns >= received_ns]

    def mark_done(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            entry, _ = self._entries[seq]
            self._entries[seq] = (entry, True)

    def prune(self, before_ns: int) -> int:
        gone = [s for s, (e, done) in self._entries.items() if done and e.received_ns < before_ns]
        for seq in gone:
            entry, _ = self._entries.pop(seq)
            del self._keys[record_key(entry.record)]
        return len(gone)

    def close(self) -> None:
        pass


class SqliteJournal:
    """A `Journal` in a SQLite file (WAL, ``synchronous = FULL``), locked while open.

    Raises:
        StoreError: the file cannot be opened, is not a journal, or is locked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_store(
            str(path),
            what="ingest journal",
            schema=_SCHEMA,
            version=SCHEMA_VERSION,
            synchronous="FULL",
            folder=path.parent,
        )

    def _translated(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        return translated(self._conn, str(self.path), doing)

    def tracks(self, keys: Iterable[TrackKey]) -> dict[TrackKey, Track]:
        found: dict[TrackKey, Track] = {}
        with self._translated("read tracks") as conn:
            for source, track_id in set(keys):
                row = conn.execute(
                    "SELECT number, data_mode FROM tracks WHERE source = ? AND track_id = ?",
                    (source, track_id),
                ).fetchone()
                if row is not None:
                    found[(source, track_id)] = Track(row[0], DataMode(row[1]))
        return found

    def held(self, keys: Iterable[RecordKey]) -> set[RecordKey]:
        with self._translated("read records") as conn:
            return {
                key
                for key in set(keys)
                if conn.execute(
                    "SELECT 1 FROM records WHERE source = ? AND track_id = ? AND epoch_ns = ? "
                    "AND digest = ?",
                    key,
                ).fetchone()
            }

    def append(self, records: Sequence[SourceRecord], received_ns: int) -> list[Entry]:
        out: list[Entry] = []
        with self._translated("append") as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for record in records:
                    number = self._number(conn, record)
                    cursor = conn.execute(
                        "INSERT OR IGNORE INTO records (source, track_id, epoch_ns, digest, "
                        "received_ns, data) VALUES (?, ?, ?, ?, ?, ?)",
                        (*record_key(record), received_ns, _encoder.encode(record)),
                    )
                    if cursor.rowcount and cursor.lastrowid is not None:
                        out.append(Entry(cursor.lastrowid, received_ns, record, number))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return out

    def _number(self, conn: sqlite3.Connection, record: SourceRecord) -> int:
        key = (record.source, record.track_id)
        row = conn.execute(
            "SELECT number FROM tracks WHERE source = ? AND track_id = ?", key
        ).fetchone()
        if row is not None:
            return int(row[0])
        wanted = record.track_id
        taken: list[int] = []
        if wanted.isdecimal() and 0 < int(wanted) <= MAX_TRACK_NUMBER:
            taken = [
                int(r[0])
                for r in conn.execute("SELECT number FROM tracks WHERE number = ?", (int(wanted),))
            ]
        (highest,) = conn.execute("SELECT coalesce(max(number), 0) FROM tracks").fetchone()
        number = next_number(wanted, taken, int(highest))
        conn.execute(
            "INSERT INTO tracks (source, track_id, number, data_mode) VALUES (?, ?, ?, ?)",
            (*key, number, record.data_mode.value),
        )
        return number

    def _entries(self, where: str, args: tuple[int, ...]) -> list[Entry]:
        with self._translated("read records") as conn:
            rows = conn.execute(
                "SELECT r.seq, r.received_ns, r.data, t.number FROM records r JOIN tracks t "
                f"ON r.source = t.source AND r.track_id = t.track_id WHERE {where} ORDER BY r.seq",
                args,
            ).fetchall()
        out: list[Entry] = []
        for seq, received_ns, data, number in rows:
            try:
                record = _decoder.decode(data)
            except msgspec.DecodeError as exc:
                raise StoreError(
                    f"{self.path}: journal entry {seq} does not decode: {exc}"
                ) from exc
            out.append(Entry(seq, received_ns, record, number))
        return out

    def pending(self) -> list[Entry]:
        return self._entries("r.done = 0", ())

    def done_since(self, received_ns: int) -> list[Entry]:
        return self._entries("r.done = 1 AND r.received_ns >= ?", (received_ns,))

    def mark_done(self, seqs: Sequence[int]) -> None:
        with self._translated("mark done") as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("UPDATE records SET done = 1 WHERE seq = ?", [(q,) for q in seqs])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def prune(self, before_ns: int) -> int:
        with self._translated("prune") as conn:
            cursor = conn.execute(
                "DELETE FROM records WHERE done = 1 AND received_ns < ?", (before_ns,)
            )
        return cursor.rowcount

    def close(self) -> None:
        self._conn.close()
