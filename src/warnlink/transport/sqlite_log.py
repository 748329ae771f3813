"""The durable log under `MemoryBus`: messages and consumer positions in SQLite.

Synchronous and single-threaded on purpose: each call is one short statement or
transaction on a local file, cheaper than handing it to a thread. The async shell
(`warnlink.transport.memory`) decides when to call it.

Schema (``PRAGMA user_version = 1``)::

    messages  (seq INTEGER PRIMARY KEY, subject TEXT, msg_id TEXT UNIQUE,
               data BLOB, published_ns INTEGER)
    consumers (durable TEXT PRIMARY KEY, filter TEXT, ack_floor INTEGER, delivered_seq INTEGER)
    acks      (durable TEXT, seq INTEGER, PRIMARY KEY (durable, seq))

Acks are stored as an ack floor plus a set. Every message that matches a consumer's
filter with ``seq <= ack_floor`` is acked; ``acks`` holds only acks above the floor,
made out of order. In-order acking, the usual case, moves the floor and leaves
``acks`` empty, so its size does not grow with the log. ``delivered_seq`` is the
highest seq ever handed to the consumer: an unacked message at or below it is a
redelivery. It is written at each first delivery, so the flag survives a crash.

Durability: WAL journal with ``synchronous=FULL``, so a committed publish or ack is
on disk; a deferred append (a pipelined publish) is on disk at the next
`SqliteLog.sync`. The file is locked exclusively while open: a second log on the same file
(whose writes would not wake this process's subscribers) fails with `StoreError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from warnlink.errors import StoreError
from warnlink.transport.private import private_folder, private_sqlite

FILE_NAME: Final = "bus.sqlite3"
SCHEMA_VERSION: Final = 1

_SCHEMA: Final = f"""
BEGIN;
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    msg_id TEXT NOT NULL UNIQUE,
    data BLOB NOT NULL,
    published_ns INTEGER NOT NULL
);
CREATE TABLE consumers (
    durable TEXT PRIMARY KEY,
    filter TEXT NOT NULL,
    ack_floor INTEGER NOT NULL,
    delivered_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE acks (
    durable TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (durable, seq)
) WITHOUT ROWID;
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""


def open_store(
    location: str,
    *,
    what: str,
    schema: str,
    version: int,
    synchronous: str,
    folder: Path | None,
    upgrades: Mapping[int, str] | None = None,
) -> sqlite3.Connection:
    """Open (or create) a SQLite file as one of warnlink's durable stores.

    The file, its folder and its WAL are its owner's alone (`transport.private`).
    Autocommit (each statement its own transaction), no waiting on a lock (a locked
    file is an error to report), locked exclusively while open, WAL journal (except
    ``:memory:``), `synchronous` as given, and the schema created at user_version
    `version` or checked against it. A file at an older version is brought up to
    `version` by `upgrades` (version -> the script that takes it to the next one),
    when each step is there.

    Raises:
        StoreError: it cannot be opened, is locked, is not such a store, or has
            another schema version; the message names `what` and `location`.
    """
    try:
        if folder is not None:
            private_folder(folder)
        private_sqlite(location)
        conn = sqlite3.connect(location, isolation_level=None, timeout=0)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the {what} {location}: {exc}") from exc
    try:
        with translated(conn, location, "open"):
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            (journal_mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if location != ":memory:" and journal_mode != "wal":
                raise StoreError(f"{location}: could not switch to WAL (got {journal_mode!r})")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            (found,) = conn.execute("PRAGMA user_version").fetchone()
            if found == 0:
                conn.executescript(schema)
            steps = upgrades or {}
            while 0 < found < version and found in steps:
                conn.executescript(steps[found])
                (found,) = conn.execute("PRAGMA user_version").fetchone()
            if found not in (0, version):
                raise StoreError(f"{location}: schema version {found}, this code reads {version}")
    except StoreError:
        conn.close()
        raise
    return conn


def sync_commits(conn: sqlite3.Connection, *, version: int, synchronous: str) -> None:
    """Make every transaction committed on `conn` durable across a power cut.

    Commits the schema version again (SQLite rewrites its header page even when the value
    is the same, where an UPDATE that changes nothing writes nothing) with
    ``synchronous=FULL``: its sync of the WAL covers every commit written before it,
    the WAL being one file written in order. Then `synchronous` is restored.
    """
    conn.execute("PRAGMA synchronous = FULL")
    try:
        conn.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        conn.execute(f"PRAGMA synchronous = {synchronous}")


@contextmanager
def translated(conn: sqlite3.Connection, location: str, doing: str) -> Iterator[sqlite3.Connection]:
    """Turn sqlite3's errors into `StoreError` naming the file and the operation."""
    try:
        yield conn
    except sqlite3.Error as exc:
        raise StoreError(f"{location}: {doing} failed: {exc}") from exc


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the log holds it."""

    seq: int
    subject: str
    msg_id: str
    data: bytes
    published_ns: int


@dataclass(frozen=True, slots=True)
class ConsumerState:
    """A durable consumer's stored position (see the module docstring)."""

    subject_filter: str
    ack_floor: int
    delivered_seq: int
    acked_above_floor: frozenset[int]


class SqliteLog:
    """Messages and consumer positions in one SQLite database.

    Args:
        data_dir: the folder holding ``bus.sqlite3`` (created if missing); None for a
            private in-memory database that vanishes on close.

    Raises:
        StoreError: the file cannot be opened, is not a database, is locked by another
            bus, or has an unknown schema. The message names the path.
    """

    def __init__(self, data_dir: Path | None) -> None:
        self.location = str(data_dir / FILE_NAME) if data_dir is not None else ":memory:"
        # Multi-statement writes use `_transaction`.
        self._conn = open_store(
            self.location,
            what="bus log",
            schema=_SCHEMA,
            version=SCHEMA_VERSION,
            synchronous="FULL",
            folder=data_dir,
        )

    def _translated(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        return translated(self._conn, self.location, doing)

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._translated(doing) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the database; committed data stays on disk."""
        with self._translated("close"):
            self._conn.close()

    def last_seq(self) -> int:
        """The highest seq in the log, 0 if it is empty."""
        with self._translated("read the last seq") as conn:
            (seq,) = conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()
        return int(seq)

    def append(
        self, subject: str, data: bytes, msg_id: str, published_ns: int, *, deferred: bool = False
    ) -> tuple[int, bool]:
        """Append a message unless its msg_id is already in the log; `deferred`: committed
        without waiting for the disk (durable at the next `sync`).

        Returns:
            (seq, duplicate): the new seq, or the original's seq and True.
        """
        with self._translated("append") as conn:
            if deferred:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                cursor = conn.execute(
                    "INSERT INTO messages (subject, msg_id, data, published_ns)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (msg_id) DO NOTHING",
                    (subject, msg_id, data, published_ns),
                )
            finally:
                if deferred:
                    conn.execute("PRAGMA synchronous = FULL")
            if cursor.rowcount == 1 and cursor.lastrowid is not None:
                return cursor.lastrowid, False
            (seq,) = conn.execute("SELECT seq FROM messages WHERE msg_id = ?", (msg_id,)).fetchone()
        return int(seq), True

    def sync(self) -> None:
        """Make every deferred append so far durable (`sync_commits`)."""
        with self._translated("sync") as conn:
            sync_commits(conn, version=SCHEMA_VERSION, synchronous="FULL")

    def subjects_after(self, seq: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` (seq, subject) pairs after `seq`, in order; no payloads, so cheap."""
        with self._translated("scan") as conn:
            rows = conn.execute(
                "SELECT seq, subject FROM messages WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [(int(row_seq), str(subject)) for row_seq, subject in rows]

    def read(self, seq: int) -> StoredMessage:
        """The message at `seq` (which must exist)."""
        with self._translated("read") as conn:
            row = conn.execute(
                "SELECT subject, msg_id, data, published_ns FROM messages WHERE seq = ?", (seq,)
            ).fetchone()
        if row is None:
            raise StoreError(f"{self.location}: message {seq} is missing from the log")
        subject, msg_id, data, published_ns = row
        return StoredMessage(seq, subject, msg_id, bytes(data), published_ns)

    def consumer(self, durable: str) -> ConsumerState | None:
        """The stored state of `durable`, None if it was never created."""
        with self._translated("read consumer") as conn:
            row = conn.execute(
                "SELECT filter, ack_floor, delivered_seq FROM consumers WHERE durable = ?",
                (durable,),
            ).fetchone()
            if row is None:
                return None
            acked = conn.execute("SELECT seq FROM acks WHERE durable = ?", (durable,)).fetchall()
        subject_filter, ack_floor, delivered_seq = row
        return ConsumerState(
            subject_filter, ack_floor, delivered_seq, frozenset(s for (s,) in acked)
        )

    def create_consumer(self, durable: str, subject_filter: str) -> ConsumerState:
        """Create `durable` at the beginning of the log."""
        with self._translated("create consumer") as conn:
            conn.execute(
                "INSERT INTO consumers (durable, filter, ack_floor, delivered_seq)"
                " VALUES (?, ?, 0, 0)",
                (durable, subject_filter),
            )
        return ConsumerState(subject_filter, 0, 0, frozenset())

    def mark_delivered(self, durable: str, seq: int) -> None:
        """Record that `durable` has been given every matching message up to `seq`."""
        with self._translated("mark delivered") as conn:
            conn.execute(
                "UPDATE consumers SET delivered_seq = ? WHERE durable = ? AND delivered_seq < ?",
                (seq, durable, seq),
            )

    def record_acks(self, durable: str, seqs: Iterable[int], ack_floor: int) -> None:
        """Record the acks of `seqs` and the consumer's (possibly moved) floor, in one
        transaction.

        A seq goes into the acks set only if it lies above `ack_floor`; acks at or
        below the floor are dropped, the floor now says it.
        """
        with self._transaction("ack") as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO acks (durable, seq) VALUES (?, ?)",
                [(durable, seq) for seq in seqs if seq > ack_floor],
            )
            conn.execute(
                "UPDATE consumers SET ack_floor = ? WHERE durable = ? AND ack_floor < ?",
                (ack_floor, durable, ack_floor),
            )
            conn.execute("DELETE FROM acks WHERE durable = ? AND seq <= ?", (durable, ack_floor))
