"""Dead letters: the deliveries a consumer could not handle, kept for a person to look at.

A consumer loop that refuses a delivery (a typed `MessageError`) or fails on it (any
other exception) acknowledges it, so that one poison message costs one counter and not
a link, and keeps its raw bytes here with the subject, the time and the error. The
store is bounded (`MAX_LETTERS`, the oldest dropped first; each message cut to
`MAX_LETTER_BYTES`), one per consumer in its party's data folder
(``dead-letters-<party>.sqlite``, a relay process's ``dead-letters-<party>-relay.sqlite``;
mode 0600: it holds what peers sent, released or not), or in memory.

Schema (``PRAGMA user_version = 1``)::

    letter (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ns INTEGER, subject TEXT,
            error TEXT, rule TEXT, size INTEGER, data BLOB)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from warnlink.transport.sqlite_log import open_store, translated

#: Letters kept per store; the oldest go first.
MAX_LETTERS: Final = 500
#: Bytes of a message kept (the wire limit, `model.codec.MAX_MESSAGE_BYTES`).
MAX_LETTER_BYTES: Final = 64 * 1024

_SCHEMA: Final = """
BEGIN;
CREATE TABLE letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns INTEGER NOT NULL,
    subject TEXT NOT NULL,
    error TEXT NOT NULL,
    rule TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
PRAGMA user_version = 1;
COMMIT;
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One delivery a consumer could not handle.

    Attributes:
        time_ns: when it was set aside, UTC ns.
        subject: the subject it arrived on.
        error: what went wrong, in words.
        rule: the error's rule or counter key (``too_deep``, ``bad_sig``...), or
            ``failed`` for an unexpected exception.
        size: the message's length in bytes (`data` may be cut).
        data: its first `MAX_LETTER_BYTES` bytes.
    """

    time_ns: int
    subject: str
    error: str
    rule: str
    size: int
    data: bytes


class DeadLetters(Protocol):
    """A bounded store of dead letters."""

    def add(self, time_ns: int, subject: str, data: bytes, error: str, rule: str) -> None:
        """Keep one letter, dropping the oldest beyond `MAX_LETTERS`."""
        ...

    def letters(self) -> list[DeadLetter]:
        """What the store holds, oldest first."""
        ...

    def close(self) -> None: ...


def _letter(time_ns: int, subject: str, data: bytes, error: str, rule: str) -> DeadLetter:
    return DeadLetter(time_ns, subject, error, rule, len(data), bytes(data[:MAX_LETTER_BYTES]))


class MemoryDeadLetters:
    """Dead letters in memory (tests, and nodes without a data folder)."""

    def __init__(self, limit: int = MAX_LETTERS) -> None:
        self._letters: deque[DeadLetter] = deque(maxlen=limit)

    def add(self, time_ns: int, subject: str, data: bytes, error: str, rule: str) -> None:
        self._letters.append(_letter(time_ns, subject, data, error, rule))

    def letters(self) -> list[DeadLetter]:
        return list(self._letters)

    def close(self) -> None:
        """Nothing to release."""


class SqliteDeadLetters:
    """Dead letters in a SQLite file created with mode 0600.

    Raises:
        StoreError: the file cannot be opened or written.
    """

    def __init__(self, path: Path, limit: int = MAX_LETTERS) -> None:
        self._location = str(path)
        self._limit = limit
        self._conn = open_store(
            self._location,
            what="dead letters",
            schema=_SCHEMA,
            version=1,
            synchronous="NORMAL",
            folder=path.parent,
        )

    def add(self, time_ns: int, subject: str, data: bytes, error: str, rule: str) -> None:
        letter = _letter(time_ns, subject, data, error, rule)
        with translated(self._conn, self._location, "add") as conn:
            conn.execute(
                "INSERT INTO letter (time_ns, subject, error, rule, size, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (letter.time_ns, subject, error, rule, letter.size, letter.data),
            )
            conn.execute(
                "DELETE FROM letter WHERE id <= (SELECT max(id) FROM letter) - ?", (self._limit,)
            )

    def letters(self) -> list[DeadLetter]:
        with translated(self._conn, self._location, "read") as conn:
            rows = conn.execute(
                "SELECT time_ns, subject, error, rule, size, data FROM letter ORDER BY id"
            ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def close(self) -> None:
        with translated(self._conn, self._location, "close"):
            self._conn.close()


def dead_letters(folder: Path | None, name: str) -> DeadLetters:
    """The dead-letter store ``dead-letters-<name>.sqlite`` in `folder`, or memory when None."""
    if folder is None:
        return MemoryDeadLetters()
    return SqliteDeadLetters(folder / f"dead-letters-{name}.sqlite")
