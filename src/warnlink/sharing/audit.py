"""The release audit log: append-only, hash-chained, verifiable by any party.

Every decision a relay or gateway makes (forwarded, redacted, refused, rejected,
and why) is one entry. An entry holds ids and hashes, never payloads. Each entry's
hash covers its canonical JSON and the previous entry's hash (SHA-256), so
changing, removing or reordering any entry breaks every hash after it.

The log is a JSON Lines file (one entry a line) or, without a path, a list in
memory. Signed heads and inclusion proofs come with the trust work (issue 5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec

from warnlink.errors import StoreError

GENESIS: Final = "0" * 64


class DecisionRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """What a decider records of one decision.

    Attributes:
        time: when it was decided, UTC ns.
        decider: the party whose relay or gateway decided.
        msg_id: the message decided on ("" when it could not be read).
        originator: whose data it was.
        kind: the message kind.
        recipient: who the decision is about.
        outcome: forwarded, redacted, refused or rejected (invalid input).
        reason: why.
        withheld: fields removed or at fault.
        product_id: the id of what was sent, if anything.
        content_sha256: SHA-256 of the message bytes as received.
    """

    time: int
    decider: str
    msg_id: str
    originator: str
    kind: str
    recipient: str
    outcome: str
    reason: str
    content_sha256: str
    withheld: tuple[str, ...] = ()
    product_id: str = ""


class AuditEntry(DecisionRecord, frozen=True, kw_only=True):
    """A decision as it stands in the log.

    Attributes:
        index: position in the log, from 0.
        prev: the previous entry's hash.
        hash: SHA-256 over this entry (with `hash` empty) in canonical JSON.
    """

    index: int
    prev: str
    hash: str = ""


_encoder: Final = msgspec.json.Encoder(order="sorted")
_decoder: Final = msgspec.json.Decoder(AuditEntry)


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry: over its canonical JSON with `hash` blank."""
    blank = msgspec.structs.replace(entry, hash="")
    return hashlib.sha256(_encoder.encode(blank)).hexdigest()


class AuditLog:
    """An append-only hash chain of decisions, in a JSONL file or in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._entries: list[AuditEntry] = []
        if path is not None and path.exists():
            self._entries = list(read_entries(path))
        self._file = path.open("ab") if path is not None else None

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[AuditEntry]:
        return iter(self._entries)

    @property
    def head(self) -> str:
        return self._entries[-1].hash if self._entries else GENESIS

    def append(self, record: DecisionRecord) -> AuditEntry:
        """Append one decision, chained to the current head."""
        draft = AuditEntry(
            index=len(self._entries),
            prev=self.head,
            **{f: getattr(record, f) for f in record.__struct_fields__},
        )
        entry = msgspec.structs.replace(draft, hash=entry_hash(draft))
        if self._file is not None:
            try:
                self._file.write(_encoder.encode(entry) + b"\n")
                self._file.flush()
            except OSError as exc:
                raise StoreError(f"cannot append to audit log {self.path}: {exc}") from exc
        self._entries.append(entry)
        return entry

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_entries(path: Path) -> Iterator[AuditEntry]:
    """The entries of a JSONL audit log, in order."""
    try:
        with path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                try:
                    yield _decoder.decode(line)
                except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # bad UTF-8 in a string
                    raise StoreError(f"{path}:{number}: not an audit entry: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot read audit log {path}: {exc}") from exc


def first_broken(entries: Iterator[AuditEntry] | list[AuditEntry]) -> int | None:
    """The index of the first entry whose chain does not hold, or None if all hold."""
    prev = GENESIS
    for position, entry in enumerate(entries):
        if entry.index != position or entry.prev != prev or entry.hash != entry_hash(entry):
            return position
        prev = entry.hash
    return None
