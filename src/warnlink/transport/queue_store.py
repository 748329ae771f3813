"""A durable FIFO of messages: what a sender still owes, or what a receiver has applied.

Two users: the gateway's outbox (`warnlink.sharing.outbox`: a message stays until the
bus acknowledges it, then is removed) and the node's applied-log (every message the
picture applied, never removed, replayed at start). Both need the same thing: append
in order, read back in order, survive a crash.

Schema (``PRAGMA user_version = 1``)::

    queue (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT, msg_id TEXT,
           data BLOB, time_ns INTEGER)

``AUTOINCREMENT`` keeps ids increasing even after the last entry is removed, so the
order survives an empty outbox.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from warnlink.errors import ConfigError
from warnlink.transport.sqlite_log import open_store, translated

SCHEMA_VERSION: Final = 1

_SCHEMA: Final = f"""
BEGIN;
CREATE TABLE queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    data BLOB NOT NULL,
    time_ns INTEGER NOT NULL
);
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One entry of a `QueueStore`.

    Attributes:
        entry_id: its position, increasing in append order.
        subject: where it goes (or came from).
        msg_id: the bus dedupe id it is (or was) published under.
        data: the encoded message.
        time_ns: when it was appended, UTC ns (the appender's clock).
    """

    entry_id: int
    subject: str
    msg_id: str
    data: bytes
    time_ns: int


class QueueStore(Protocol):
    """Append, read back in order, remove: durable before each call returns."""

    def append(self, subject: str, msg_id: str, data: bytes, time_ns: int) -> int:
        """Add one message at the end; its entry id."""
        ...

    def entries(self) -> list[QueuedMessage]:
        """Every entry, oldest first."""
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

    def append(self, subject: str, msg_id: str, data: bytes, time_ns: int) -> int:
        entry_id = self._next
        self._next += 1
        self._entries[entry_id] = QueuedMessage(entry_id, subject, msg_id, data, time_ns)
        return entry_id

    def entries(self) -> list[QueuedMessage]:
        return list(self._entries.values())

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
        )

    def _translated(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        return translated(self._conn, str(self.path), doing)

    def append(self, subject: str, msg_id: str, data: bytes, time_ns: int) -> int:
        with self._translated("append") as conn:
            cursor = conn.execute(
                "INSERT INTO queue (subject, msg_id, data, time_ns) VALUES (?, ?, ?, ?)",
                (subject, msg_id, data, time_ns),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def entries(self) -> list[QueuedMessage]:
        with self._translated("read") as conn:
            rows = conn.execute(
                "SELECT id, subject, msg_id, data, time_ns FROM queue ORDER BY id"
            ).fetchall()
        return [
            QueuedMessage(int(r[0]), str(r[1]), str(r[2]), bytes(r[3]), int(r[4])) for r in rows
        ]

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
        with self._translated("close"):
            self._conn.close()
