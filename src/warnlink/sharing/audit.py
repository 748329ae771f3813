"""The release audit log: append-only, hash-chained, Merkle-committed, signed.

Every decision a relay or gateway makes (forwarded, redacted, refused, rejected,
and why) is one entry. An entry holds ids and hashes, never payloads. Two
structures cover the entries:

- a SHA-256 hash chain: each entry's hash covers its canonical JSON and the
  previous entry's hash, so the first changed, removed or reordered entry is the
  first broken link;
- an RFC 9162 Merkle tree (`warnlink.security.merkle`) whose leaves are the
  entries' canonical JSON, so one entry can be proven to be in the log with a
  logarithmic audit path, without the rest of the log.

Every `head_every` entries, and on `close`, the log's owner (the party whose
relay or gateway decides) signs a tree head: size, Merkle root, chain head and
time, Ed25519 over a domain-tagged canonical encoding. Entries and heads share one
JSON Lines file as a tagged union (``"type": "entry"`` or ``"head"``); see
docs/formats.md. Verification and proofs: `warnlink.sharing.audit_proof`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec

from warnlink.errors import ConfigError, NestingTooDeep, StoreError
from warnlink.model.nesting import check_json_depth
from warnlink.model.time import Clock
from warnlink.security.merkle import MerkleAccumulator, SubtreeCache, consistency_path, leaf_hash
from warnlink.security.signing import PartyKey
from warnlink.transport.private import private_file

log = logging.getLogger(__name__)

GENESIS: Final = "0" * 64
HEAD_TAG: Final = b"warnlink-audit-head-v1\x00"


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


class AuditEntry(DecisionRecord, frozen=True, kw_only=True, tag_field="type", tag="entry"):
    """A decision as it stands in the log.

    Attributes:
        index: position in the log, from 0.
        prev: the previous entry's hash.
        hash: SHA-256 over this entry (with `hash` empty) in canonical JSON.
    """

    index: int
    prev: str
    hash: str = ""


class SignedHead(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="head"
):
    """A signed tree head: the owner's statement of the log's first `tree_size` entries.

    Attributes:
        tree_size: how many entries it covers (the entries before it in the file).
        root: RFC 9162 Merkle tree hash of those entries, hex.
        chain_head: the hash of the last of them (`GENESIS` when none), hex.
        time: when it was signed, UTC ns (the log's clock, else the last entry's time).
        signer: the party that signed it, the log's owner.
        sig: Ed25519 signature over `head_signed_bytes`, base64.
    """

    tree_size: int
    root: str
    chain_head: str
    time: int
    signer: str
    sig: str = ""


AuditLine = AuditEntry | SignedHead

_encoder: Final = msgspec.json.Encoder(order="sorted")
_decoder: Final[msgspec.json.Decoder[AuditLine]] = msgspec.json.Decoder(AuditLine)


def canonical(line: AuditLine) -> bytes:
    """The canonical JSON of an entry or head (sorted keys, no spaces): what the file holds."""
    return _encoder.encode(line)


def decode_line(data: bytes) -> AuditLine:
    """One line of an audit log.

    Raises:
        msgspec.DecodeError: not an entry or a head (bad UTF-8 in a string, or nesting
            deeper than `model.nesting.MAX_DEPTH`, included).
    """
    try:
        check_json_depth(data)
        return _decoder.decode(data)
    except UnicodeDecodeError as exc:
        raise msgspec.DecodeError(f"invalid UTF-8: {exc}") from exc
    except NestingTooDeep as exc:
        raise msgspec.DecodeError(str(exc)) from exc


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry: over its canonical JSON with `hash` blank."""
    bare = msgspec.structs.replace(entry, hash="") if entry.hash else entry
    return hashlib.sha256(canonical(bare)).hexdigest()


def entry_leaf(entry: AuditEntry) -> bytes:
    """The entry's RFC 9162 leaf hash: SHA-256(0x00 || canonical JSON)."""
    return leaf_hash(canonical(entry))


def head_signed_bytes(head: SignedHead) -> bytes:
    """What the owner signs: a domain tag and the head's canonical JSON without `sig`."""
    return HEAD_TAG + canonical(msgspec.structs.replace(head, sig=""))


def chain_problem(entry: AuditEntry, position: int, prev: str) -> str | None:
    """Why `entry` is not a sound link at `position` after `prev`, or None if it is."""
    if entry.index != position:
        return f"entry says index {entry.index}, expected {position}"
    if entry.prev != prev:
        return "prev is not the previous entry's hash"
    if entry.hash != entry_hash(entry):
        return "hash does not match the entry's content"
    return None


class AuditLog:
    """An append-only, hash-chained, Merkle-committed log of decisions.

    Args:
        path: the JSON Lines file (appended to if it exists); None keeps it in memory.
        signer: the owner's key; signs a tree head every `head_every` entries and on
            `close`. None writes no heads (a bare hash chain).
        head_every: entries between signed heads.
        clock: the time a head carries; without one, the last entry's time.

    A log in a file keeps in memory only what appending and proving consistency need:
    the entry count, the chain head, the Merkle tree's peaks (O(log n)), the leaf
    hashes (32 bytes an entry) and the signed heads (one per `head_every` entries);
    reading its entries back reads the file. A log in memory
    holds its lines.

    Raises:
        StoreError: the existing file cannot be read or its chain does not hold.
    """

    def __init__(
        self,
        path: Path | None = None,
        signer: PartyKey | None = None,
        *,
        head_every: int = 100,
        clock: Clock | None = None,
    ) -> None:
        if head_every < 1:
            raise ConfigError(f"head_every must be at least 1, got {head_every}")
        self.path = path
        self.signer = signer
        self.head_every = head_every
        self.clock = clock
        self._count = 0
        self._head = GENESIS
        self._last_time = 0
        self.heads: list[SignedHead] = []
        self._lines: list[AuditLine] | None = [] if path is None else None
        self._tree = MerkleAccumulator()
        # Every leaf hash, packed (32 bytes an entry): what consistency proofs for the
        # log's witnesses are made of (`sharing.head_rounds`).
        self._leaves = bytearray()
        self._subtrees = SubtreeCache(self._leaf_range)
        if path is not None and path.exists():
            _drop_torn_tail(path)
            for line in read_log(path):
                # Extending a broken chain would sign heads over tampered entries.
                if isinstance(line, AuditEntry):
                    problem = chain_problem(line, len(self), self.head)
                    if problem is not None:
                        raise StoreError(f"audit log {path}: entry {len(self)}: {problem}")
                self._take(line)
        self._file = private_file(path).open("ab") if path is not None else None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[AuditEntry]:
        return (line for line in self.lines() if isinstance(line, AuditEntry))

    @property
    def head(self) -> str:
        """The chain head: the last entry's hash (`GENESIS` when empty)."""
        return self._head

    def lines(self) -> tuple[AuditLine, ...]:
        """Entries and heads in the order they were written (read from the file, for a
        log in one).

        Raises:
            StoreError: the file cannot be read.
        """
        if self._lines is not None:
            return tuple(self._lines)
        assert self.path is not None
        return tuple(read_log(self.path)) if self.path.exists() else ()

    def append(self, record: DecisionRecord, *, flush: bool = True) -> AuditEntry:
        """Append one decision, chained to the current head; sign a head when one is due.

        With `flush` False the line may wait in the file's buffer until the next
        `flush` (or an append that flushes): a relay appends the decisions of a batch
        so, then flushes once before sending their products.
        """
        draft = AuditEntry(*msgspec.structs.astuple(record), index=self._count, prev=self._head)
        entry = msgspec.structs.replace(draft, hash=entry_hash(draft))
        self._write(entry, flush=flush)
        if self.signer is not None and self._count % self.head_every == 0:
            self.sign_head()
        return entry

    def flush(self) -> None:
        """Hand every line appended so far to the operating system.

        Raises:
            StoreError: the file cannot be written.
        """
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as exc:
                raise StoreError(f"cannot append to audit log {self.path}: {exc}") from exc

    def sign_head(self) -> SignedHead | None:
        """Sign a head over every entry so far, unless the latest head already covers them.

        Returns:
            The new head, or None (no signer, or nothing new to sign).
        """
        if self.signer is None or (self.heads and self.heads[-1].tree_size == len(self)):
            return None
        time = self.clock.now_ns() if self.clock is not None else self._last_time
        bare = SignedHead(
            tree_size=len(self),
            root=self._tree.root().hex(),
            chain_head=self.head,
            time=time,
            signer=self.signer.party,
        )
        sig = self.signer.private.sign(head_signed_bytes(bare))
        head = msgspec.structs.replace(bare, sig=base64.b64encode(sig).decode("ascii"))
        self._write(head)
        return head

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 9162 consistency proof from the log's first `old_size` entries to
        its first `new_size` (section 2.1.4.1).

        Raises:
            IndexError: not 0 <= old_size <= new_size <= len(self).
        """
        if not 0 <= new_size <= self._count:
            raise IndexError(f"the log has {self._count} entries, not {new_size}")
        return consistency_path(new_size, old_size, self._subtrees.root)

    def _leaf_range(self, start: int, end: int) -> list[bytes]:
        return [bytes(self._leaves[i : i + 32]) for i in range(32 * start, 32 * end, 32)]

    def close(self) -> None:
        """Sign a head over any entries not yet covered, and close the file."""
        self.sign_head()
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, line: AuditLine, *, flush: bool = True) -> None:
        data = canonical(line)
        if self._file is not None:
            try:
                self._file.write(data + b"\n")
            except OSError as exc:
                raise StoreError(f"cannot append to audit log {self.path}: {exc}") from exc
            if flush:
                self.flush()
        self._take(line, data)

    def _take(self, line: AuditLine, data: bytes | None = None) -> None:
        """Hold `line` (its canonical JSON `data`, when already encoded, is its leaf)."""
        if isinstance(line, SignedHead):
            self.heads.append(line)
        else:
            self._count += 1
            self._head = line.hash
            self._last_time = line.time
            leaf = leaf_hash(data) if data is not None else entry_leaf(line)
            self._tree.append(leaf)
            self._leaves += leaf
        if self._lines is not None:
            self._lines.append(line)


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that a crash left half-written (no closing newline).

    Every line ends in a newline and is flushed before the decision's product is
    sent, so a line without its newline was never complete and nothing was sent on
    it. A complete line that does not parse is another matter: it is left for
    `read_log` to refuse.
    """
    try:
        with path.open("r+b") as f:
            size = f.seek(0, 2)
            if size == 0 or (f.seek(size - 1), f.read(1))[1] == b"\n":
                return
            f.seek(0)
            keep = f.read().rfind(b"\n") + 1
            f.truncate(keep)
    except OSError as exc:
        raise StoreError(f"cannot repair audit log {path}: {exc}") from exc
    log.warning("audit log %s: dropped a half-written last line (%d bytes)", path, size - keep)


def read_log(path: Path) -> Iterator[AuditLine]:
    """The entries and heads of a JSONL audit log, in order.

    Raises:
        StoreError: the file cannot be read, or a line is neither an entry nor a head.
    """
    try:
        with path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                try:
                    yield decode_line(line)
                except msgspec.DecodeError as exc:
                    raise StoreError(f"{path}:{number}: not an audit line: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot read audit log {path}: {exc}") from exc


def read_entries(path: Path) -> Iterator[AuditEntry]:
    """The entries of a JSONL audit log, in order, without its heads."""
    return (line for line in read_log(path) if isinstance(line, AuditEntry))


def first_broken(entries: Iterator[AuditEntry] | list[AuditEntry]) -> int | None:
    """The index of the first entry whose chain does not hold, or None if all hold."""
    prev = GENESIS
    for position, entry in enumerate(entries):
        if chain_problem(entry, position, prev) is not None:
            return position
        prev = entry.hash
    return None
