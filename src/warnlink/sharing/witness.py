"""Witnessed audit: link peers countersign a relay's signed tree heads.

A relay's audit log (`sharing.audit`) is signed by its owner alone, so on its own it
cannot show that the owner did not later cut it back to an earlier head (a rollback)
or show different parties different logs (a fork). As in Certificate Transparency
(RFC 9162: signed tree heads, section 4.10; consistency proofs, section 2.1.4; the
gossip between monitors it leaves open), every link peer of the relay's host is a
witness: the relay sends it its latest signed head (`model.payloads.TreeHead`) with a
consistency proof from the head that peer last witnessed; the peer checks the proof
against the head it kept, countersigns the new head, keeps the countersigned head
(`WitnessedHead`) in an append-only file of its own, and sends the countersignature
back (`model.payloads.HeadCosignature`), which the relay keeps beside its log.

A head smaller than one witnessed, of the same size with another root, or not
consistent with it, is a `WitnessError`: counted, logged loudly, never countersigned.
`warnlink audit verify --witness FILE` then checks a log against every head its
witnesses kept (`sharing.audit_vouch`). The relay's side: `sharing.head_rounds`.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import msgspec

from warnlink.errors import DecodeError, StoreError, WitnessError
from warnlink.model.payloads import TreeHead
from warnlink.model.time import Clock
from warnlink.security.merkle import verify_consistency
from warnlink.security.signing import KeySet, PartyKey
from warnlink.sharing.audit import SignedHead
from warnlink.sharing.audit_proof import head_problem, signature_problem

log = logging.getLogger(__name__)

COSIGN_TAG: Final = b"warnlink-audit-cosign-v1\x00"


class WitnessedHead(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A relay's signed tree head as a witness countersigned it.

    Attributes:
        head: the relay owner's signed head.
        log: the relay instance whose log it is ("" when its host runs one).
        witness: the party that checked and countersigned it.
        time: when it did, UTC ns (the witness's clock).
        cosig: the witness's Ed25519 signature over `cosigned_bytes`, base64.
    """

    head: SignedHead
    log: str
    witness: str
    time: int
    cosig: str = ""


_decoder: Final = msgspec.json.Decoder(WitnessedHead)


def cosigned_bytes(record: WitnessedHead) -> bytes:
    """What a witness signs: a domain tag (never an owner's head tag) and the record's
    canonical JSON without `cosig`, the owner's signature included."""
    bare = msgspec.structs.replace(record, cosig="")
    return COSIGN_TAG + msgspec.json.encode(bare, order="sorted")


def encode_record(record: WitnessedHead) -> bytes:
    """A record's canonical JSON (one line of a witness file)."""
    return msgspec.json.encode(record, order="sorted")


def decode_record(data: bytes) -> WitnessedHead:
    """A record from its JSON.

    Raises:
        DecodeError: not a witnessed head.
    """
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not a witnessed tree head: {exc}") from exc


def decode_head(data: bytes) -> SignedHead:
    """A signed tree head from its canonical JSON (`TreeHead.head`).

    Raises:
        DecodeError: not a signed head, or its root is not a SHA-256 hash in hex.
    """
    try:
        head = msgspec.json.decode(data, type=SignedHead)
        if len(bytes.fromhex(head.root)) != 32:
            raise ValueError("root is not 32 bytes")
    except (msgspec.DecodeError, UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(f"not a signed tree head: {exc}") from exc
    return head


def cosign(head: SignedHead, key: PartyKey, time: int, log: str = "") -> WitnessedHead:
    """`head` of relay instance `log`'s log countersigned by `key`'s party at `time`."""
    bare = WitnessedHead(head=head, log=log, witness=key.party, time=time)
    sig = key.private.sign(cosigned_bytes(bare))
    return msgspec.structs.replace(bare, cosig=base64.b64encode(sig).decode("ascii"))


def cosignature_problem(record: WitnessedHead, keyset: KeySet) -> str | None:
    """Why `record` does not hold under `keyset` (the owner's signature of the head, or
    the witness's of the record), or None when both verify."""
    problem = head_problem(record.head, keyset)
    if problem is not None:
        return f"the head: {problem}"
    if record.witness == record.head.signer:
        return f"{record.witness} cannot witness its own head"
    return signature_problem(
        keyset, record.witness, record.cosig, cosigned_bytes(record), what="cosignature"
    )


def witness_path(folder: Path, witness: str, relay: str, log: str = "") -> Path:
    """Where `witness` keeps the heads of `relay`'s log (of instance `log`) it
    countersigned; the witness is in the name: the demo keeps every party's files in
    one folder."""
    instance = f"-{log}" if log else ""
    return folder / f"witness-{witness}-relay-{relay}{instance}.jsonl"


def cosigned_path(folder: Path, relay: str) -> Path:
    """Where `relay` keeps the countersignatures its witnesses sent back."""
    return folder / f"cosigned-relay-{relay}.jsonl"


def read_records(path: Path) -> list[WitnessedHead]:
    """Every record of a witness file (or a relay's cosigned file), in order.

    Raises:
        StoreError: the file cannot be read, or a line is not a witnessed head.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read witness file {path}: {exc}") from exc
    records = []
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            records.append(decode_record(line))
        except DecodeError as exc:
            raise StoreError(f"{path}:{number}: {exc}") from exc
    return records


class RecordFile:
    """An append-only file of witnessed heads (owner-only, mode 0600), or memory.

    Args:
        path: the JSON Lines file (appended to, read back at start); None: memory.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: list[WitnessedHead] = (
            read_records(path) if path is not None and path.exists() else []
        )

    def append(self, record: WitnessedHead) -> None:
        """Add one record, durably before it returns.

        Raises:
            StoreError: the file cannot be written.
        """
        if self.path is not None:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, encode_record(record) + b"\n")
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise StoreError(f"cannot append to witness file {self.path}: {exc}") from exc
        self.records.append(record)


class Witness:
    """One party's witness of the relays hosted by its link peers.

    Args:
        key: the party's signing key (it countersigns with it).
        keyset: the trusted public keys (the relays' owners' among them).
        relays: the parties that host a relay (whose heads it witnesses).
        clock: the time its countersignatures carry.
        folder: where its witness files go (`witness_path`); None keeps them in memory.
    """

    def __init__(
        self,
        key: PartyKey,
        keyset: KeySet,
        relays: Iterable[str],
        clock: Clock,
        folder: Path | None,
    ) -> None:
        self.party = key.party
        self.relays = frozenset(relays)
        self.key = key
        self.keyset = keyset
        self.clock = clock
        self.folder = folder
        self._files: dict[tuple[str, str], RecordFile] = {}

    def records(self, relay: str, log: str = "") -> RecordFile:
        """The heads of `relay`'s log (of instance `log`) this party witnessed (read
        from its file once)."""
        kept = self._files.get((relay, log))
        if kept is None:
            folder = self.folder
            path = None if folder is None else witness_path(folder, self.party, relay, log)
            kept = self._files[relay, log] = RecordFile(path)
        return kept

    def latest(self, relay: str, log: str = "") -> WitnessedHead | None:
        """The last head of `relay`'s log (of instance `log`) this party countersigned."""
        records = self.records(relay, log).records
        return records[-1] if records else None

    def take(self, relay: str, message: TreeHead, *, msg_id: str | None = None) -> WitnessedHead:
        """Check a tree head `relay` sent against the last one witnessed; countersign
        and keep it when it extends that one.

        Returns:
            The countersigned head to send back: the new one, or the last one kept when
            the proof starts from another head (the relay then learns which head this
            party holds, and proves from it next time).

        Raises:
            WitnessError: the head is unreadable or not `relay`'s, or it rolls back or
                forks the log witnessed so far.
            StoreError: the witness file cannot be written.
        """

        def refuse(rule: str, what: str) -> WitnessError:
            return WitnessError(
                f"relay {relay}: {what}", rule=rule, relay=relay, msg_id=msg_id, party=self.party
            )

        if relay not in self.relays:
            raise refuse("wrong_signer", "hosts no relay")
        try:
            head = decode_head(message.head)
        except DecodeError as exc:
            raise refuse("bad_head", str(exc)) from exc
        if head.signer != relay:
            raise refuse("wrong_signer", f"head signed by {head.signer}")
        problem = head_problem(head, self.keyset)
        if problem is not None:
            raise refuse("bad_head", problem)
        last = self.latest(relay, message.log)
        if last is not None:
            kept = last.head
            if head.tree_size < kept.tree_size:
                raise refuse(
                    "rolled_back",
                    f"head of {head.tree_size} entries after one of {kept.tree_size} witnessed",
                )
            if head.tree_size == kept.tree_size:
                if head.root != kept.root:
                    raise refuse("forked", f"two roots for {head.tree_size} entries")
                return last
            if message.since != kept.tree_size:
                return last
            if not verify_consistency(
                kept.tree_size,
                head.tree_size,
                bytes.fromhex(kept.root),
                bytes.fromhex(head.root),
                message.consistency,
            ):
                raise refuse(
                    "inconsistent",
                    f"head of {head.tree_size} entries does not extend the witnessed "
                    f"head of {kept.tree_size}",
                )
        record = cosign(head, self.key, self.clock.now_ns(), message.log)
        self.records(relay, message.log).append(record)
        return record
