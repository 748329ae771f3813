"""Checking an audit log, and proving one entry is in it.

`verify_log` reads a log line by line and stops trusting it at the first broken
link: a line that is neither an entry nor a head, an entry whose index, previous
hash or own hash is wrong, an entry decided by another party than the log's owner,
or a signed head whose size, chain head or RFC 9162 Merkle root differs from what
the entries before it give, whose signer is not the owner, or whose Ed25519
signature does not verify against the key set.

`prove` makes a self-contained inclusion proof (RFC 9162 section 2.1.3): the
entry as logged, its audit path and the signed head it is proven against.
`check_proof` checks one with the public key set alone. Formats: docs/formats.md.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec
from cryptography.exceptions import InvalidSignature

from warnlink.errors import DecodeError, StoreError, UnknownSigner
from warnlink.model.nesting import check_json_depth
from warnlink.security.keystore import KEYS_DIR, KEYSET_FILE
from warnlink.security.merkle import MerkleAccumulator, inclusion_proof, verify_inclusion
from warnlink.security.signing import KeySet
from warnlink.sharing.audit import (
    GENESIS,
    AuditEntry,
    AuditLine,
    SignedHead,
    chain_problem,
    decode_line,
    entry_leaf,
    head_signed_bytes,
)

PROOF_FORMAT: Final = "warnlink-audit-proof-v1"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line of a log file that is neither an entry nor a head."""

    error: str


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """Where a log first stops holding.

    Attributes:
        line: the line number in the file, from 1.
        kind: ``entry``, ``head`` or ``line`` (unreadable).
        index: the entry index at fault; for a head or an unreadable line, the
            number of entries before it.
        what: what is wrong.
    """

    line: int
    kind: str
    index: int
    what: str

    def __str__(self) -> str:
        at = f"entry {self.index}" if self.kind != "head" else f"head after {self.index} entries"
        return f"line {self.line} ({at}): {self.what}"


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking a whole log.

    Attributes:
        entries: entry lines read.
        heads: head lines read.
        heads_verified: heads whose root, chain head and signature were checked and hold.
        last_head: the last head that holds, if any.
        chain_head: the hash of the last entry that holds.
        broken: the first broken link, None when the log is intact.
        owner: whose log it says it is (the first entry's decider, else the first
            head's signer); None when it holds neither.
    """

    entries: int
    heads: int
    heads_verified: int
    last_head: SignedHead | None
    chain_head: str
    broken: BrokenLink | None
    owner: str | None = None

    @property
    def intact(self) -> bool:
        """No link is broken."""
        return self.broken is None

    @property
    def unsigned_tail(self) -> int:
        """Entries after the last head that holds: nothing vouches for them yet."""
        return self.entries - (self.last_head.tree_size if self.last_head else 0)

    @property
    def vouched(self) -> bool:
        """Intact, and a signed head covers every entry: a log its writer closed.

        Without this, a log rewritten whole, with its heads dropped, would pass as a
        bare hash chain, which anyone can recompute.
        """
        return self.intact and self.heads_verified > 0 and self.unsigned_tail == 0

    def as_dict(self) -> dict[str, Any]:
        head = self.last_head
        return {
            "intact": self.intact,
            "vouched": self.vouched,
            "unsigned_tail": self.unsigned_tail,
            "owner": self.owner,
            "entries": self.entries,
            "heads": self.heads,
            "heads_verified": self.heads_verified,
            "chain_head": self.chain_head,
            "last_signed_head": None
            if head is None
            else {"tree_size": head.tree_size, "root": head.root, "signer": head.signer},
            "first_broken": None
            if self.broken is None
            else {
                "line": self.broken.line,
                "kind": self.broken.kind,
                "index": self.broken.index,
                "what": self.broken.what,
            },
        }


def head_problem(head: SignedHead, keyset: KeySet) -> str | None:
    """Why `head`'s signature does not hold under `keyset`, or None if it does."""
    return signature_problem(keyset, head.signer, head.sig, head_signed_bytes(head))


def signature_problem(
    keyset: KeySet, signer: str, sig_b64: str, data: bytes, *, what: str = "signature"
) -> str | None:
    """Why `sig_b64` (base64 Ed25519) is not `signer`'s over `data` under `keyset`, or
    None if it is; `what` names the signature in the answer."""
    try:
        public = keyset.public_key(signer)
        public.verify(base64.b64decode(sig_b64, validate=True), data)
    except UnknownSigner:
        return f"signer {signer} is not in the key set"
    except (binascii.Error, ValueError):
        return f"{what} is not base64"
    except InvalidSignature:
        return f"{what} of {signer} does not verify"
    return None


def verify_lines(
    lines: Iterable[AuditLine | Unreadable], keyset: KeySet | None, *, owner: str | None = None
) -> Verification:
    """Check a log's lines in order; without a key set, signatures are not checked.

    Every head must cover exactly the entries before it; every entry and head must be
    the log owner's: `owner` when given, else the first entry's decider (or the first
    head's signer).
    """
    entries = heads = verified = 0
    chain = GENESIS
    tree = MerkleAccumulator()
    last_head: SignedHead | None = None
    broken: BrokenLink | None = None
    for number, line in enumerate(lines, start=1):
        if broken is not None:
            entries += isinstance(line, AuditEntry)
            heads += isinstance(line, SignedHead)
            continue
        if isinstance(line, Unreadable):
            broken = BrokenLink(number, "line", entries, f"not an audit line: {line.error}")
        elif isinstance(line, AuditEntry):
            owner = owner or line.decider
            problem = chain_problem(line, entries, chain) or (
                None if line.decider == owner else f"decided by {line.decider}, in {owner}'s log"
            )
            if problem is not None:
                broken = BrokenLink(number, "entry", entries, problem)
            else:
                chain = line.hash
                tree.append(entry_leaf(line))
            entries += 1
        else:
            owner = owner or line.signer
            problem = _head_against_tree(line, entries, chain, tree, owner)
            if problem is None and keyset is not None:
                problem = head_problem(line, keyset)
            if problem is not None:
                broken = BrokenLink(number, "head", entries, problem)
            else:
                verified += 1 if keyset is not None else 0
                last_head = line
            heads += 1
    return Verification(entries, heads, verified, last_head, chain, broken, owner)


def _head_against_tree(
    head: SignedHead, entries: int, chain: str, tree: MerkleAccumulator, owner: str
) -> str | None:
    if head.tree_size != entries:
        return f"head covers {head.tree_size} entries, but {entries} precede it"
    if head.chain_head != chain:
        return "chain head is not the last entry's hash"
    if head.root != tree.root().hex():
        return "Merkle root differs from the entries' tree"
    if head.signer != owner:
        return f"signed by {head.signer}, in {owner}'s log"
    return None


def read_lines(path: Path) -> list[AuditLine | Unreadable]:
    """A log file's lines, each decoded or marked unreadable.

    Raises:
        StoreError: the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read audit log {path}: {exc}") from exc
    lines: list[AuditLine | Unreadable] = []
    for raw in data.splitlines():
        try:
            lines.append(decode_line(raw))
        except msgspec.DecodeError as exc:
            lines.append(Unreadable(str(exc)))
    return lines


def verify_log(path: Path, keyset: KeySet | None) -> Verification:
    """Check the log file at `path` (see `verify_lines`).

    Raises:
        StoreError: the file cannot be read.
    """
    return verify_lines(read_lines(path), keyset)


def default_keyset_path(log: Path) -> Path | None:
    """The key set beside a log as the demo and `warnlink up` lay it out, if there is one.

    ``keys/keyset.json`` in the log's folder, else in its parent folder.
    """
    for folder in (log.parent, log.parent.parent):
        candidate = folder / KEYS_DIR / KEYSET_FILE
        if candidate.is_file():
            return candidate
    return None


class InclusionProof(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """That one entry is in a log, checkable with the public key set alone.

    Attributes:
        format: `PROOF_FORMAT`.
        entry: the entry as logged (ids and hashes only).
        leaf_index: its position among the leaves (its index).
        audit_path: the RFC 9162 audit path from its leaf to `head.root`, hex.
        head: the signed head it is proven against.
    """

    format: str
    entry: AuditEntry
    leaf_index: int
    audit_path: tuple[str, ...]
    head: SignedHead


def find_entry(lines: Iterable[AuditLine], key: str) -> AuditEntry | None:
    """The first entry that `key` names: an index (decimal digits, shorter than a
    message id), else a message id or product id."""
    entries = (line for line in lines if isinstance(line, AuditEntry))
    if key.isdigit() and len(key) < 32:
        return next((e for e in entries if e.index == int(key)), None)
    return next((e for e in entries if key in (e.msg_id, e.product_id)), None)


def prove(lines: Sequence[AuditLine], index: int) -> InclusionProof | None:
    """An inclusion proof of entry `index` against the latest head that covers it.

    Returns:
        The proof, or None when the log has no such entry or no head covers it yet.
    """
    entries = [line for line in lines if isinstance(line, AuditEntry)]
    heads = [line for line in lines if isinstance(line, SignedHead) and line.tree_size > index]
    if not heads or not 0 <= index < len(entries):
        return None
    head = heads[-1]
    leaves = [entry_leaf(e) for e in entries[: head.tree_size]]
    return InclusionProof(
        format=PROOF_FORMAT,
        entry=entries[index],
        leaf_index=index,
        audit_path=tuple(h.hex() for h in inclusion_proof(leaves, index)),
        head=head,
    )


def check_proof(proof: InclusionProof, keyset: KeySet) -> str | None:
    """Why `proof` does not hold, or None when it does.

    It holds when the entry's own hash is sound, it sits at `leaf_index`, its leaf
    reaches the head's root along the audit path (RFC 9162 section 2.1.3.2), the
    head is signed by the entry's decider, and the signature verifies.
    """
    entry, head = proof.entry, proof.head
    if proof.format != PROOF_FORMAT:
        return f"unknown proof format {proof.format!r}"
    problem = chain_problem(entry, proof.leaf_index, entry.prev)
    if problem is not None:
        return problem
    if head.signer != entry.decider:
        return f"head signed by {head.signer}, but {entry.decider} decided the entry"
    try:
        path = [bytes.fromhex(h) for h in proof.audit_path]
        root = bytes.fromhex(head.root)
    except ValueError:
        return "audit path or root is not hex"
    if not verify_inclusion(entry_leaf(entry), proof.leaf_index, head.tree_size, path, root):
        return "audit path does not lead from the entry to the head's root"
    return head_problem(head, keyset)


def encode_proof(proof: InclusionProof) -> bytes:
    """A proof as indented JSON."""
    return msgspec.json.format(msgspec.json.encode(proof), indent=2) + b"\n"


def decode_proof(data: bytes) -> InclusionProof:
    """A proof from its JSON.

    Raises:
        DecodeError: not an inclusion proof (`NestingTooDeep`: nested too deeply to parse).
    """
    check_json_depth(data)
    try:
        return msgspec.json.decode(data, type=InclusionProof)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"not an audit inclusion proof: {exc}") from exc
