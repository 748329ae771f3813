"""A durable FIFO of messages: what a sender still owes, or what a receiver has applied.

Three users: the gateway's outbox (`warnlink.sharing.outbox`: a message stays until
the bus acknowledges it, then is removed), its sent-archive (what the bus acknowledged,
kept for a retention time so a receiver whose store was damaged can ask for it again)
and the node's applied-log (every message the picture applied, replayed at start).
All need the same thing: append in order, read back in order, survive a crash, and
tell a damaged entry from a good one.

Schema (``PRAGMA user_version = 2``)::

    queue (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT, msg_id TEXT,
           data BLOB, time_ns INTEGER, digest BLOB)
    index queue_time (time_ns)
    v1_rows (last_id INTEGER)      -- the last row written at version 1
    pruned (before_ns INTEGER)     -- entries appended before it were pruned (0: none)

``AUTOINCREMENT`` keeps ids increasing even after the last entry is removed, so the
order survives an empty outbox.

Group commit: a consumer appends a batch `deferred` (committed, not waited onto the
disk) and calls `QueueStore.sync` once before it acks the batch: one disk sync per
batch instead of one per entry, and nothing acked that a power cut can take.

Integrity: SQLite checks its pages' structure, not their contents, so a flipped byte
inside a stored message reads back without complaint. Each row therefore carries
``digest`` = BLAKE2b-128 over its subject, msg_id, data and time (`entry_digest`); a
row whose digest does not match is returned with ``intact`` False, for its user to
report and recover, never silently used or dropped. Rows written at version 1 have no
digest (NULL) and are taken as they are; the upgrade adds the column and the index,
and notes the last version-1 row (``v1_rows``): a later row without a digest is
damaged (a changed record header can make the digest read as NULL).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from warnlink.errors import ConfigError
from warnlink.transport.sqlite_log import open_store, sync_commits, translated

SCHEMA_VERSION: Final = 2

Message = tuple[str, str, bytes]
"""(subject, msg_id, data) of a message to append."""

_SCHEMA: Final = f"""
BEGIN;
CREATE TABLE queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    data BLOB NOT NULL,
    time_ns INTEGER NOT NULL,
    digest BLOB
);
CREATE INDEX queue_time ON queue (time_ns);
CREATE TABLE v1_rows (last_id INTEGER NOT NULL);
INSERT INTO v1_rows VALUES (0);
CREATE TABLE pruned (before_ns INTEGER NOT NULL);
INSERT INTO pruned VALUES (0);
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""

_UPGRADES: Final = {
    1: """
BEGIN;
ALTER TABLE queue ADD COLUMN digest BLOB;
CREATE INDEX queue_time ON queue (time_ns);
CREATE TABLE v1_rows (last_id INTEGER NOT NULL);
INSERT INTO v1_rows SELECT coalesce(max(id), 0) FROM queue;
CREATE TABLE pruned (before_ns INTEGER NOT NULL);
INSERT INTO pruned VALUES (0);
PRAGMA user_version = 2;
COMMIT;
""",
}


def entry_digest(subject: str, msg_id: str, data: bytes, time_ns: int) -> bytes:
    """BLAKE2b-128 over one entry's fields, each length-prefixed (no two entries share
    an encoding)."""
    h = hashlib.blake2b(digest_size=16)
    for part in (subject.encode(), msg_id.encode(), data, str(time_ns).encode()):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One entry of a `QueueStore`.

    Attributes:
        entry_id: its position, increasing in append order.
        subject: where it goes (or came from).
        msg_id: the bus dedupe id it is (or was) published under.
        data: the encoded message.
        time_ns: when it was appended, UTC ns (the appender's clock).
        intact: False when the stored digest does not match the fields read back (the
            file was damaged); its fields are then not to be trusted.
    """

    entry_id: int
    subject: str
    msg_id: str
    data: bytes
    time_ns: int
    intact: bool = True


class QueueStore(Protocol):
    """Append, read back in order, remove: durable before each call returns, but for
    a `deferred` append, which is durable at the next `sync` (group commit)."""

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        """Add one message at the end; its entry id. `deferred`: kept across a crash of
        the process at once, across a power cut only once `sync` returns."""
        ...

    def append_many(self, messages: Sequence[Message], time_ns: int) -> None:
        """Add (subject, msg_id, data) messages at the end, in order, all or none, as
        `deferred` appends (durable at the next `sync`)."""
        ...

    def sync(self) -> None:
        """Make every entry appended so far durable (one disk sync for a whole batch of
        `deferred` appends; nothing to do when there were none)."""
        ...

    def entries(self) -> list[QueuedMessage]:
        """Every entry, oldest first, damaged ones included (``intact`` False)."""
        ...

    def between(
        self,
        first_ns: int,
        last_ns: int,
        *,
        subjects: Sequence[str] = (),
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[QueuedMessage]:
        """The entries appended at `first_ns` <= time_ns <= `last_ns`, oldest first: only
        to `subjects` (when given), only after entry `after_id`, at most `limit`."""
        ...

    def remove_before(self, time_ns: int) -> int:
        """Forget the entries appended before `time_ns`; how many. When it forgot any,
        `pruned_before` is at least `time_ns` from then on."""
        ...

    def pruned_before(self) -> int:
        """Entries appended before this time (UTC ns) may have been pruned; 0 if none
        ever was."""
        ...

    def mark_pruned(self, time_ns: int) -> None:
        """Say that entries appended before `time_ns` may be missing (a store made anew
        for a sender that sent before it existed)."""
        ...

    def remove(self, entry_id: int) -> None:
        """Forget one entry (harmless if already gone); a durable store may lose a
        removal to a power cut, never an append."""
        ...

    def __len__(self) -> int:
        """How many entries it holds."""
        ...

    def close(self) -> None:
        """Release the store; a durable one keeps what it holds."""
        ...


class MemoryQueueStore:
    """A `QueueStore` in memory: for tests and the embedded demo without a data folder."""

    def __init__(self) -> None:
        self._entries: dict[int, QueuedMessage] = {}
        self._next = 1
        self._pruned_before = 0

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        entry_id = self._next
        self._next += 1
        self._entries[entry_id] = QueuedMessage(entry_id, subject, msg_id, data, time_ns)
        return entry_id

    def append_many(self, messages: Sequence[Message], time_ns: int) -> None:
        for subject, msg_id, data in messages:
            self.append(subject, msg_id, data, time_ns)

    def sync(self) -> None:
        """Nothing to sync."""

    def entries(self) -> list[QueuedMessage]:
        return list(self._entries.values())

    def between(
        self,
        first_ns: int,
        last_ns: int,
        *,
        subjects: Sequence[str] = (),
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[QueuedMessage]:
        found = [
            e
            for e in self._entries.values()
            if first_ns <= e.time_ns <= last_ns
            and e.entry_id > after_id
            and (not subjects or e.subject in subjects)
        ]
        return found if limit is None else found[:limit]

    def remove_before(self, time_ns: int) -> int:
        old = [k for k, e in self._entries.items() if e.time_ns < time_ns]
        for key in old:
            del self._entries[key]
        if old:
            self._pruned_before = max(self._pruned_before, time_ns)
        return len(old)

    def pruned_before(self) -> int:
        return self._pruned_before

    def mark_pruned(self, time_ns: int) -> None:
        self._pruned_before = max(self._pruned_before, time_ns)

    def remove(self, entry_id: int) -> None:
        self._entries.pop(entry_id, None)

    def __len__(self) -> int:
        return len(self._entries)

    def close(self) -> None:
        """Nothing to release."""


class SqliteQueueStore:
    """A `QueueStore` in a SQLite file (WAL), locked exclusively while open.

    Args:
        path: the file (its folder is created).
        what: what it is, for error messages (``outbox``, ``applied-log``).
        synchronous: SQLite's ``synchronous`` mode: ``FULL`` (on disk when a call
            returns, also across a power cut) or ``NORMAL`` (across a process crash).

    Raises:
        StoreError: the file cannot be opened, is not such a store or is locked.
        ConfigError: `synchronous` is not one of those modes.
    """

    def __init__(self, path: Path, *, what: str, synchronous: str = "FULL") -> None:
        if synchronous not in ("NORMAL", "FULL", "EXTRA"):
            raise ConfigError(f"synchronous must be NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = path
        self.synchronous = synchronous
        self._conn = open_store(
            str(path),
            what=what,
            schema=_SCHEMA,
            version=SCHEMA_VERSION,
            synchronous=synchronous,
            folder=path.parent,
            upgrades=_UPGRADES,
        )
        with self._translated("open") as conn:
            (self._last_v1_id,) = conn.execute("SELECT last_id FROM v1_rows").fetchone()
        self._unsynced = False  # a deferred append not yet synced

    def _translated(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        return translated(self._conn, str(self.path), doing)

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        """Add one message; a `deferred` one is committed without waiting for the disk
        (``synchronous=NORMAL``: in the WAL, safe from a crash of the process)."""
        with self._translated("append") as conn:
            if deferred:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                cursor = conn.execute(
                    "INSERT INTO queue (subject, msg_id, data, time_ns, digest)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (subject, msg_id, data, time_ns, entry_digest(subject, msg_id, data, time_ns)),
                )
            finally:
                if deferred:
                    conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        self._unsynced = self._unsynced or deferred
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def append_many(self, messages: Sequence[Message], time_ns: int) -> None:
        """Add the messages in one transaction, committed without waiting for the disk
        (as a `deferred` `append`): one write for a consumer's batch, not one each."""
        if not messages:
            return
        rows = [
            (subject, msg_id, data, time_ns, entry_digest(subject, msg_id, data, time_ns))
            for subject, msg_id, data in messages
        ]
        with self._translated("append") as conn:
            conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute("BEGIN")
                try:
                    conn.executemany(
                        "INSERT INTO queue (subject, msg_id, data, time_ns, digest)"
                        " VALUES (?, ?, ?, ?, ?)",
                        rows,
                    )
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        self._unsynced = True

    def sync(self) -> None:
        """One disk sync for every deferred append so far (`sync_commits`)."""
        if not self._unsynced:
            return
        with self._translated("sync") as conn:
            sync_commits(conn, version=SCHEMA_VERSION, synchronous=self.synchronous)
        self._unsynced = False

    def entries(self) -> list[QueuedMessage]:
        return self._select("", ())

    def between(
        self,
        first_ns: int,
        last_ns: int,
        *,
        subjects: Sequence[str] = (),
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[QueuedMessage]:
        where = "WHERE time_ns BETWEEN ? AND ? AND id > ?"
        args: tuple[int | str, ...] = (first_ns, last_ns, after_id)
        if subjects:
            where += f" AND subject IN ({', '.join('?' * len(subjects))})"
            args += tuple(subjects)
        if limit is not None:
            return self._select(where, args, f" LIMIT {int(limit)}")
        return self._select(where, args)

    def _select(
        self, where: str, args: tuple[int | str, ...], tail: str = ""
    ) -> list[QueuedMessage]:
        with self._translated("read") as conn:
            rows = conn.execute(
                "SELECT id, subject, msg_id, data, time_ns, digest FROM queue "
                f"{where} ORDER BY id{tail}",
                args,
            ).fetchall()
        return [_message(row, self._last_v1_id) for row in rows]

    def remove_before(self, time_ns: int) -> int:
        """Forget the entries appended before `time_ns`; not waited onto disk."""
        with self._translated("remove") as conn:
            conn.execute("PRAGMA synchronous = NORMAL")
            # The mark first: a crash between the two leaves it too high (an answer
            # says less is kept than is), never too low.
            conn.execute(
                "UPDATE pruned SET before_ns = max(before_ns, ?)"
                " WHERE EXISTS (SELECT 1 FROM queue WHERE time_ns < ?)",
                (time_ns, time_ns),
            )
            cursor = conn.execute("DELETE FROM queue WHERE time_ns < ?", (time_ns,))
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        return cursor.rowcount

    def pruned_before(self) -> int:
        with self._translated("read") as conn:
            (before,) = conn.execute("SELECT before_ns FROM pruned").fetchone()
        return int(before)

    def mark_pruned(self, time_ns: int) -> None:
        with self._translated("mark") as conn:
            conn.execute("UPDATE pruned SET before_ns = max(before_ns, ?)", (time_ns,))

    def remove(self, entry_id: int) -> None:
        """Forget one entry; not waited onto disk (the next append's commit takes it)."""
        with self._translated("remove") as conn:
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("DELETE FROM queue WHERE id = ?", (entry_id,))
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")

    def __len__(self) -> int:
        with self._translated("count") as conn:
            (count,) = conn.execute("SELECT count(*) FROM queue").fetchone()
        return int(count)

    def close(self) -> None:
        self.sync()
        with self._translated("close"):
            self._conn.close()


def _message(row: tuple[Any, ...], last_v1_id: int = 0) -> QueuedMessage:
    """One row read back, checked against its digest (a row without one is taken as it
    is if written at version 1, up to `last_v1_id`; a row whose fields are not even of
    their types is damaged too)."""
    entry_id, subject, msg_id, data, time_ns, digest = row
    try:
        fields = (str(subject), str(msg_id), bytes(data), int(time_ns))
    except (TypeError, ValueError):
        return QueuedMessage(int(entry_id), "", "", b"", 0, intact=False)
    if digest is None:
        return QueuedMessage(int(entry_id), *fields, intact=int(entry_id) <= last_v1_id)
    intact = digest == entry_digest(*fields)
    return QueuedMessage(int(entry_id), *fields, intact=intact)
