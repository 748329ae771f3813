"""Replay protection: a freshness window and a seen-set per originator's sequence numbers.

Every originator numbers its messages from 1 (`Envelope.seq`) and stamps their
creation time (`Envelope.created`). A receiver refuses a message created outside
``now ± window`` and remembers, for every (originator, seq) it handled, which
message that was. The same message again is a harmless redelivery
(`Verdict.DUPLICATE`: dropped and counted); another message under a seen
(originator, seq) is a replay with altered content or a forgery (`ReplayError`,
rule ``seq_reused``).

A redacted message keeps its originator's id and seq (the originator's signature
covers both), so a forwarded original and a redaction of it are one message. A
relay's own `Resend` answer keeps the seq of the originator's answer under a derived
id; the seen-set holds the id of the originator's message it carries (`origin_id`).

Backlog after an outage: a message held in an outbox or a stream through an outage
longer than the window arrives with an old ``created``. It is still accepted if it
continues its path: its seq is above the highest seq handled from that originator on
that path (`path_of`: direct from the originator, or relayed) and it was created no
earlier than that message. A replay of a handled message never qualifies (its seq is
at or below the mark), so it is refused as stale once its entry has left the
seen-set; a message from a party whose clock is off by more than the window is
refused from the start (nothing of its path was ever handled in the window).

The seen-set lives behind `SeenStore` (memory, or SQLite for a node that must
remember across restarts). It stays bounded: entries created before ``now -
window`` are pruned, since such a message is refused as stale anyway. The same
store keeps the party's own outbound sequence high-water mark (`SeqAllocator`),
so that a restarted gateway never reuses a seq its peers have seen.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from warnlink.errors import ConfigError, ReplayError
from warnlink.model import Envelope
from warnlink.model.payloads import LINK_LOCAL
from warnlink.model.time import NS_PER_S, Clock
from warnlink.transport.sqlite_log import open_store, translated

log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 2
SEQ_BLOCK: Final = 1000

_SCHEMA: Final = f"""
BEGIN;
CREATE TABLE seen (
    originator TEXT NOT NULL,
    seq INTEGER NOT NULL,
    msg_id TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (originator, seq)
) WITHOUT ROWID;
CREATE INDEX seen_by_created ON seen (created_ns);
CREATE TABLE paths (
    originator TEXT NOT NULL,
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (originator, path)
) WITHOUT ROWID;
CREATE TABLE outbound (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    reserved_seq INTEGER NOT NULL
);
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""

_RAISE_MARK: Final = (
    "INSERT INTO paths (originator, path, seq, created_ns) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (originator, path) DO UPDATE SET seq = excluded.seq,"
    " created_ns = excluded.created_ns WHERE excluded.seq > paths.seq"
)

_UPGRADES: Final = {
    1: """
BEGIN;
CREATE TABLE paths (
    originator TEXT NOT NULL,
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (originator, path)
) WITHOUT ROWID;
PRAGMA user_version = 2;
COMMIT;
""",
}


@dataclass(frozen=True, slots=True)
class SeenEntry:
    """What a store holds of one handled (originator, seq).

    Attributes:
        msg_id: the id of the originator's message (`origin_id`).
        created_ns: its creation time, UTC ns.
    """

    msg_id: str
    created_ns: int


@dataclass(frozen=True, slots=True)
class PathMark:
    """The highest seq handled from one originator on one path, and its creation time."""

    seq: int
    created_ns: int


class SeenStore(Protocol):
    """The durable edge of replay protection: seen (originator, seq) and own seq mark."""

    def lookup(self, originator: str, seq: int) -> SeenEntry | None:
        """What was handled under (originator, seq), None if nothing."""
        ...

    def record(self, originator: str, seq: int, entry: SeenEntry) -> None:
        """Remember that (originator, seq) was handled as `entry` (idempotent)."""
        ...

    def prune(self, before_ns: int) -> int:
        """Forget entries created strictly before `before_ns`; how many were forgotten."""
        ...

    def path_mark(self, originator: str, path: str) -> PathMark | None:
        """The highest seq handled from `originator` on `path`, None if none."""
        ...

    def raise_path_mark(self, originator: str, path: str, mark: PathMark) -> None:
        """Keep `mark` for (originator, path) if its seq is above the one kept."""
        ...

    def reserved_seq(self) -> int:
        """The highest own outbound seq reserved so far, 0 if none."""
        ...

    def reserve_seq(self, upto: int) -> None:
        """Reserve own outbound seqs up to `upto`; durable before it returns."""
        ...

    def defer(self) -> None:
        """Hold what `record` and `raise_path_mark` are told (read back at once) until
        `commit` writes it in one transaction (group commit, `node.consume`); what was
        held and not committed is dropped (its batch is handled again)."""
        ...

    def commit(self) -> None:
        """Write what was held since `defer` and stop holding (nothing if not deferred).

        Raises:
            StoreError: it could not be written; it is still held, for another commit.
        """
        ...

    def close(self) -> None:
        """Release the store; a durable one keeps what it committed."""
        ...


class MemorySeenStore:
    """A `SeenStore` in memory: for tests and the demo; forgets everything on exit."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], SeenEntry] = {}
        self._marks: dict[tuple[str, str], PathMark] = {}
        self._reserved = 0

    def lookup(self, originator: str, seq: int) -> SeenEntry | None:
        return self._seen.get((originator, seq))

    def record(self, originator: str, seq: int, entry: SeenEntry) -> None:
        self._seen[originator, seq] = entry

    def prune(self, before_ns: int) -> int:
        old = [key for key, entry in self._seen.items() if entry.created_ns < before_ns]
        for key in old:
            del self._seen[key]
        return len(old)

    def path_mark(self, originator: str, path: str) -> PathMark | None:
        return self._marks.get((originator, path))

    def raise_path_mark(self, originator: str, path: str, mark: PathMark) -> None:
        kept = self._marks.get((originator, path))
        if kept is None or mark.seq > kept.seq:
            self._marks[originator, path] = mark

    def reserved_seq(self) -> int:
        return self._reserved

    def reserve_seq(self, upto: int) -> None:
        self._reserved = max(self._reserved, upto)

    def defer(self) -> None:
        """Nothing to hold: memory is written at once."""

    def commit(self) -> None:
        """Nothing held."""

    def close(self) -> None:
        """Nothing to release."""


class SqliteSeenStore:
    """A `SeenStore` in a SQLite file (WAL): survives restarts.

    Seen entries are written with ``synchronous=NORMAL``: durable across a crash of
    the process, and a power cut can lose only the last few, which means handling
    those messages again (harmless: receivers apply by message id). A seq
    reservation is written with ``synchronous=FULL``: lost, it would make a restarted
    gateway reuse seqs its peers refuse.

    Deferred (`defer`, a consumer's batch): seen entries and path marks are held in
    memory, read back from there, and written in one transaction by `commit`, after
    the batch's applied entries are synced: a seen entry never reaches the disk before
    the message it marks as handled. A crash (or a close) before the commit loses them:
    the batch comes again and is handled once more, which the applied-log makes harmless.

    The file is locked exclusively while open, so two gateways of one party cannot
    share (and so reuse) its outbound seqs, and the store knows everything written to
    it: it keeps each originator's highest seq recorded (read at open, raised by
    `record`), and a lookup above it (a new message, in order) is answered without a
    query.

    Schema (``PRAGMA user_version = 2``; a version 1 file gets its ``paths`` table)::

        seen     (originator TEXT, seq INTEGER, msg_id TEXT, created_ns INTEGER,
                  PRIMARY KEY (originator, seq))
        paths    (originator TEXT, path TEXT, seq INTEGER, created_ns INTEGER,
                  PRIMARY KEY (originator, path))
        outbound (id INTEGER PRIMARY KEY CHECK (id = 0), reserved_seq INTEGER)

    Raises:
        StoreError: the file cannot be opened, is not a seen-store or is locked; the
            message names the path.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = open_store(
            str(path),
            what="seen-store",
            schema=_SCHEMA,
            version=SCHEMA_VERSION,
            synchronous="NORMAL",
            folder=path.parent,
            upgrades=_UPGRADES,
        )
        self._held: dict[tuple[str, int], SeenEntry] | None = None  # None: not deferred
        self._held_marks: dict[tuple[str, str], PathMark] = {}
        # At least the highest seq in the file per originator (held entries included,
        # even those a close then drops): no entry lies above it.
        with self._translated("read the highest seqs") as conn:
            rows = conn.execute("SELECT originator, max(seq) FROM seen GROUP BY originator")
            self._highest: dict[str, int] = {str(o): int(q) for o, q in rows}

    def _translated(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        return translated(self._conn, str(self.path), doing)

    def defer(self) -> None:
        self._held = {}
        self._held_marks = {}

    def commit(self) -> None:
        if self._held is None:
            return
        with self._translated("commit") as conn:
            conn.execute("BEGIN")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO seen (originator, seq, msg_id, created_ns)"
                    " VALUES (?, ?, ?, ?)",
                    [(o, q, e.msg_id, e.created_ns) for (o, q), e in self._held.items()],
                )
                conn.executemany(
                    _RAISE_MARK,
                    [(o, p, m.seq, m.created_ns) for (o, p), m in self._held_marks.items()],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self._held = None
        self._held_marks = {}

    def lookup(self, originator: str, seq: int) -> SeenEntry | None:
        if self._held is not None and (originator, seq) in self._held:
            return self._held[originator, seq]
        if seq > self._highest.get(originator, 0):
            return None
        with self._translated("lookup") as conn:
            row = conn.execute(
                "SELECT msg_id, created_ns FROM seen WHERE originator = ? AND seq = ?",
                (originator, seq),
            ).fetchone()
        return None if row is None else SeenEntry(str(row[0]), int(row[1]))

    def record(self, originator: str, seq: int, entry: SeenEntry) -> None:
        if seq > self._highest.get(originator, 0):
            self._highest[originator] = seq
        if self._held is not None:
            self._held[originator, seq] = entry
            return
        with self._translated("record") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO seen (originator, seq, msg_id, created_ns)"
                " VALUES (?, ?, ?, ?)",
                (originator, seq, entry.msg_id, entry.created_ns),
            )

    def prune(self, before_ns: int) -> int:
        with self._translated("prune") as conn:
            cursor = conn.execute("DELETE FROM seen WHERE created_ns < ?", (before_ns,))
        return cursor.rowcount

    def path_mark(self, originator: str, path: str) -> PathMark | None:
        with self._translated("read a path mark") as conn:
            row = conn.execute(
                "SELECT seq, created_ns FROM paths WHERE originator = ? AND path = ?",
                (originator, path),
            ).fetchone()
        stored = None if row is None else PathMark(int(row[0]), int(row[1]))
        held = self._held_marks.get((originator, path))
        return held if held is not None and (stored is None or held.seq > stored.seq) else stored

    def raise_path_mark(self, originator: str, path: str, mark: PathMark) -> None:
        if self._held is not None:
            held = self._held_marks.get((originator, path))
            if held is None or mark.seq > held.seq:
                self._held_marks[originator, path] = mark
            return
        with self._translated("raise a path mark") as conn:
            conn.execute(_RAISE_MARK, (originator, path, mark.seq, mark.created_ns))

    def reserved_seq(self) -> int:
        with self._translated("read the reserved seq") as conn:
            row = conn.execute("SELECT reserved_seq FROM outbound WHERE id = 0").fetchone()
        return 0 if row is None else int(row[0])

    def reserve_seq(self, upto: int) -> None:
        with self._translated("reserve seqs") as conn:
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(
                "INSERT INTO outbound (id, reserved_seq) VALUES (0, ?) ON CONFLICT (id)"
                " DO UPDATE SET reserved_seq = max(reserved_seq, excluded.reserved_seq)",
                (upto,),
            )
            conn.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        """Close the file; what is held uncommitted is dropped, as a crash would (its
        batch was not acked: it comes again)."""
        self._held = None
        self._held_marks = {}
        with self._translated("close"):
            self._conn.close()


class Verdict(enum.Enum):
    """What `ReplayGuard.check` found: a message to handle, or one already handled."""

    NEW = "new"
    DUPLICATE = "duplicate"


def path_of(envelope: Envelope) -> str:
    """The path `envelope` came by: ``relayed`` (a relay countersigned it) or ``direct``.

    Messages of one originator on one path arrive in seq order (one outbox, one
    stream, one relay consumer), up to redeliveries; heartbeats excepted (they skip the
    outbox), which is why they raise no path mark (`ReplayGuard.record`).
    """
    return "relayed" if envelope.countersig else "direct"


def origin_id(envelope: Envelope) -> str:
    """The id of the originator's message `envelope` carries (itself, or what it was
    derived from)."""
    return envelope.derived_from or envelope.msg_id


class ReplayGuard:
    """Refuses stale, future and replayed messages; knows redeliveries.

    The window is inclusive: a message created exactly ``window_s`` before or after
    now is accepted, one nanosecond further is not, unless it continues its path (see
    the module docstring: backlog after an outage). The time checks come first, so a
    message outside the window that does not continue its path is refused whether or
    not it was seen (its entry may already be pruned).

    Args:
        store: where seen messages are remembered.
        clock: the receiver's clock.
        window_s: the freshness window, seconds either side of now (> 0).
        party: the receiving party, named in errors.
    """

    def __init__(
        self, store: SeenStore, clock: Clock, window_s: float, *, party: str | None = None
    ) -> None:
        if not window_s > 0:
            raise ConfigError(f"freshness window must be positive, not {window_s}")
        self.store = store
        self.clock = clock
        self.window_ns = round(window_s * NS_PER_S)
        self.party = party
        self._next_prune_ns: int | None = None

    def check(self, envelope: Envelope) -> Verdict:
        """Whether `envelope` is new or a redelivery of a message handled before.

        Raises:
            ReplayError: rule ``stale``, ``future`` or ``seq_reused``.
        """
        now = self.clock.now_ns()
        msg_id = envelope.msg_id
        age_s = (now - envelope.created) / NS_PER_S
        if envelope.created < now - self.window_ns and not self._continues_path(envelope):
            raise ReplayError(
                f"{msg_id} from {envelope.originator} is stale: created {age_s:.3f} s ago",
                rule="stale",
                msg_id=msg_id,
                party=self.party,
            )
        if envelope.created > now + self.window_ns:
            raise ReplayError(
                f"{msg_id} from {envelope.originator} is created {-age_s:.3f} s in the future",
                rule="future",
                msg_id=msg_id,
                party=self.party,
            )
        seen = self.store.lookup(envelope.originator, envelope.seq)
        if seen is None:
            return Verdict.NEW
        if seen.msg_id == origin_id(envelope):
            return Verdict.DUPLICATE
        raise ReplayError(
            f"{envelope.originator} seq {envelope.seq} was {seen.msg_id}, now {msg_id}",
            rule="seq_reused",
            msg_id=msg_id,
            party=self.party,
        )

    def _continues_path(self, envelope: Envelope) -> bool:
        if isinstance(envelope.payload, LINK_LOCAL):
            return False  # never kept through an outage: an old one is a replay
        mark = self.store.path_mark(envelope.originator, path_of(envelope))
        return (
            mark is not None
            and envelope.seq > mark.seq
            and envelope.created >= mark.created_ns
            and self.store.lookup(envelope.originator, envelope.seq) is None
        )

    def record(self, envelope: Envelope) -> None:
        """Mark `envelope` seen; call once it is fully handled.

        A crash before this call leads to handling it again on redelivery, never to
        losing it. Prunes, at most once every tenth of the window, the entries that
        have left the window, so the store holds about one window of messages.
        """
        self.store.record(
            envelope.originator, envelope.seq, SeenEntry(origin_id(envelope), envelope.created)
        )
        if not isinstance(envelope.payload, LINK_LOCAL):
            # A heartbeat goes straight to the bus, never through the outbox, so after
            # an outage it overtakes the backlog kept there: it marks no path, or the
            # backlog behind it would look like a replay once older than the window.
            self.store.raise_path_mark(
                envelope.originator, path_of(envelope), PathMark(envelope.seq, envelope.created)
            )
        now = self.clock.now_ns()
        if self._next_prune_ns is None or now >= self._next_prune_ns:
            self.store.prune(now - self.window_ns)
            self._next_prune_ns = now + self.window_ns // 10


class SeqAllocator:
    """A party's own outbound sequence numbers, continued across restarts.

    Seqs are reserved in the store `block` at a time, so there is no write per
    message; a restart continues after the last reserved block (the unused rest of
    it is skipped, never reused).
    """

    def __init__(self, store: SeenStore, *, block: int = SEQ_BLOCK) -> None:
        if block < 1:
            raise ConfigError(f"seq block must be at least 1, not {block}")
        self.store = store
        self.block = block
        self._reserved = store.reserved_seq()
        self._last = self._reserved

    def next(self) -> int:
        """The next seq, reserving a new block first when the current one is used up."""
        if self._last >= self._reserved:
            self._reserved = self._last + self.block
            self.store.reserve_seq(self._reserved)
        self._last += 1
        return self._last
