"""Ed25519 signatures over envelopes, alone or in batches, and the keys that make them.

The issuer of an envelope (its originator, or a relay for the relay's own link
messages) signs a digest of it that leaves out the values of the payload fields
the message may be released without: those are replaced by salted commitments
(`warnlink.security.commitments`), so that a relay can withhold a field from a
recipient and pass on the rest under the originator's own signature, and can
change nothing else. The scheme::

    signed_bytes(m) = "warnlink-msg-v2\0" || msgpack(m with the committed values,
                      the salts, the batch path and both signatures left out)
    leaf(m)         = SHA-256(0x00 || signed_bytes(m))             (RFC 9162 leaf)
    root            = RFC 9162 Merkle tree hash of leaf(m_1) .. leaf(m_n)
    sig             = Ed25519(issuer, "warnlink-sig-v2\0" || n as 4 bytes || root)

A message signed alone is a batch of one (its root is its leaf, it carries no
path); a message of a batch carries the batch's one signature and its RFC 9162
inclusion path (`SigPath`), so one Ed25519 signature covers a short batch
(`sign_batch`). The commitments and the header, the label, the values that can
never be withheld, ``producer`` and ``derived_from`` are all in `signed_bytes`:
changing any of them breaks the signature.

A relay adds a countersignature over the envelope exactly as it sends it on (every
field but the countersignature and its path: withheld values and salts absent), so a
receiver knows the relay vouched for exactly what arrived. It countersigns a batch of
products at once in the same way (`countersign_batch`)::

    leaf'(m)  = SHA-256(0x00 || "warnlink-countersig-v2\0" || msgpack(m as sent,
                countersig and countersig_path left out))
    countersig = Ed25519(relay, "warnlink-countersig-root-v2\0" || n as 4 bytes || root')

Every signature found good is remembered (`VerifyCache`, keyed by key, signed root and
signature), so the messages of one batch cost one Ed25519 check between them.

Where keys are kept (files, memory) is the key store's business
(`warnlink.security.keystore`).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from warnlink.errors import ConfigError, SignatureError, UnknownSigner
from warnlink.model.envelope import MAX_BATCH, Envelope, SigPath
from warnlink.security.commitments import check_commitments, masked, salt_key, seal
from warnlink.security.merkle import leaf_hash, root_from_inclusion, tree_proofs

_MSG_TAG: Final = b"warnlink-msg-v2\x00"
_SIG_TAG: Final = b"warnlink-sig-v2\x00"
_COUNTERSIG_TAG: Final = b"warnlink-countersig-v2\x00"
_COUNTERSIG_ROOT_TAG: Final = b"warnlink-countersig-root-v2\x00"
#: Signatures a key set remembers as good (`VerifyCache`): a few seconds of traffic.
VERIFY_CACHE_SIZE: Final = 4096
_encoder: Final = msgspec.msgpack.Encoder()


def signed_bytes(envelope: Envelope) -> bytes:
    """What the issuer commits to: the domain tag and the envelope without its committed
    values, salts, batch path and signatures.

    The same for the original and any redaction of it. Deterministic: msgspec encodes
    a struct's fields in declaration order, and empty fields are omitted
    (``omit_defaults``).
    """
    bare = msgspec.structs.replace(
        envelope,
        payload=masked(envelope.payload),
        salts={},
        sig_path=None,
        sig=b"",
        countersig=b"",
        countersig_path=None,
    )
    return _MSG_TAG + _encoder.encode(bare)


def root_message(root: bytes, size: int, tag: bytes = _SIG_TAG) -> bytes:
    """What Ed25519 signs: the domain tag, the batch size and the batch's Merkle root."""
    return tag + size.to_bytes(4, "big") + root


def countersigned_bytes(envelope: Envelope) -> bytes:
    """What a relay countersigns: the envelope as sent on, all but the countersignature
    and its batch path."""
    return _COUNTERSIG_TAG + _encoder.encode(_without_countersig(envelope))


def _without_countersig(envelope: Envelope) -> Envelope:
    """`envelope` without a countersignature and its path (itself when it has none: what
    a relay countersigns, a redaction or an originator's message, mostly has none)."""
    if not envelope.countersig and envelope.countersig_path is None:
        return envelope
    return msgspec.structs.replace(envelope, countersig=b"", countersig_path=None)


class VerifyCache:
    """Signatures found good, (public key, signed message, signature), the last `size`.

    Only successes are kept, so a hostile peer cannot make a good signature look bad;
    a lock makes it safe to share with verifying threads (`security.verify_pool`).
    """

    def __init__(self, size: int = VERIFY_CACHE_SIZE) -> None:
        self.size = size
        self.hits = 0
        self._good: OrderedDict[tuple[bytes, bytes, bytes], None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, entry: tuple[bytes, bytes, bytes]) -> bool:
        with self._lock:
            if entry not in self._good:
                return False
            self._good.move_to_end(entry)
            self.hits += 1
            return True

    def add(self, entry: tuple[bytes, bytes, bytes]) -> None:
        with self._lock:
            self._good[entry] = None
            if len(self._good) > self.size:
                self._good.popitem(last=False)


@dataclass(frozen=True, slots=True)
class PartyKey:
    """One party's signing key."""

    party: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, party: str) -> PartyKey:
        return cls(party, Ed25519PrivateKey.generate())

    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def salt_key(self) -> bytes:
        """The secret key this party's commitment salts are derived from."""
        raw = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return salt_key(raw)


class KeySet:
    """The public keys every party trusts: party -> Ed25519 public key."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._raw = dict(keys)
        self.verified = VerifyCache()
        try:
            self._keys = {p: Ed25519PublicKey.from_public_bytes(k) for p, k in keys.items()}
        except ValueError as exc:
            raise ConfigError(f"invalid Ed25519 public key in key set: {exc}") from exc

    @classmethod
    def of(cls, keys: Iterable[PartyKey]) -> KeySet:
        return cls({k.party: k.public_raw() for k in keys})

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def public_key(self, party: str, *, msg_id: str | None = None) -> Ed25519PublicKey:
        key = self._keys.get(party)
        if key is None:
            raise UnknownSigner(party, msg_id=msg_id)
        return key

    def public_raw(self, party: str) -> bytes:
        """`party`'s raw 32-byte public key."""
        self.public_key(party)
        return self._raw[party]

    def to_json(self) -> str:
        entries = {p: base64.b64encode(k).decode("ascii") for p, k in sorted(self._raw.items())}
        return json.dumps({"ed25519": entries}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, path: str | None = None) -> KeySet:
        try:
            entries = json.loads(text)["ed25519"]
            raw = {str(p): base64.b64decode(k, validate=True) for p, k in entries.items()}
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            binascii.Error,
            RecursionError,  # json.loads of deeply nested arrays
        ) as exc:
            raise ConfigError(f"invalid key set: {exc}", path=path) from exc
        return cls(raw)


@dataclass(frozen=True, slots=True)
class PartyKeys:
    """What one party signs and verifies with: its own key and the trusted key set."""

    own: PartyKey
    keyset: KeySet

    @property
    def party(self) -> str:
        return self.own.party


def sign(envelope: Envelope, key: PartyKey) -> Envelope:
    """`envelope` sealed (salts and commitments) and signed alone by `key`, which must be
    its issuer's; any batch path and countersignature dropped. Deterministic."""
    (signed,) = sign_batch([envelope], key)
    return signed


def sign_batch(envelopes: Sequence[Envelope], key: PartyKey) -> list[Envelope]:
    """`envelopes` sealed and signed by `key` with one signature over their Merkle root,
    each with its inclusion path (none for a batch of one).

    Raises:
        ConfigError: no envelopes, more than `MAX_BATCH`, or one not issued by `key`'s
            party.
    """
    _check_size(envelopes)
    for envelope in envelopes:
        if key.party != envelope.issued_by:
            raise ConfigError(f"{key.party} cannot sign a message issued by {envelope.issued_by}")
    salts = key.salt_key()
    sealed = [
        msgspec.structs.replace(
            seal(e, salts), sig_path=None, sig=b"", countersig=b"", countersig_path=None
        )
        for e in envelopes
    ]
    sig, paths = _sign_leaves([leaf_hash(signed_bytes(e)) for e in sealed], key, _SIG_TAG)
    return [
        msgspec.structs.replace(e, sig=sig, sig_path=path)
        for e, path in zip(sealed, paths, strict=True)
    ]


def countersign(envelope: Envelope, key: PartyKey) -> Envelope:
    """`envelope` with the relay `key`'s countersignature over it as it is."""
    (countersigned,) = countersign_batch([envelope], key)
    return countersigned


def countersign_batch(envelopes: Sequence[Envelope], key: PartyKey) -> list[Envelope]:
    """`envelopes` as they are, each with the relay `key`'s one countersignature over
    their Merkle root and its inclusion path (none for a batch of one).

    Raises:
        ConfigError: no envelopes, or more than `MAX_BATCH`.
    """
    _check_size(envelopes)
    bare = [_without_countersig(e) for e in envelopes]
    leaves = [leaf_hash(_COUNTERSIG_TAG + _encoder.encode(e)) for e in bare]
    sig, paths = _sign_leaves(leaves, key, _COUNTERSIG_ROOT_TAG)
    return [
        msgspec.structs.replace(e, countersig=sig, countersig_path=path)
        for e, path in zip(bare, paths, strict=True)
    ]


def _check_size(envelopes: Sequence[Envelope]) -> None:
    if not 0 < len(envelopes) <= MAX_BATCH:
        raise ConfigError(f"a signed batch holds 1 to {MAX_BATCH} messages, not {len(envelopes)}")


def _sign_leaves(
    leaves: list[bytes], key: PartyKey, tag: bytes
) -> tuple[bytes, list[SigPath | None]]:
    """One signature over the root of `leaves` and each leaf's path (None for one leaf)."""
    root, proofs = tree_proofs(leaves)
    size = len(leaves)
    sig = key.private.sign(root_message(root, size, tag))
    if size == 1:
        return sig, [None]
    return sig, [SigPath(i, size, tuple(proof)) for i, proof in enumerate(proofs)]


def verify(envelope: Envelope, keyset: KeySet) -> None:
    """What the envelope holds is exactly what its issuer signed, up to withheld fields:
    present committed values match their commitments, a field without its salt is
    absent, and the issuer's signature covers the batch root its path leads to.

    Raises:
        UnknownSigner: the issuer has no key in the key set.
        SignatureError: unsigned, a commitment or the path does not hold (rules
            ``bad_commitment``, ``bad_sig_path``), or the signature does not verify.
    """
    keyset.public_key(envelope.issued_by, msg_id=envelope.msg_id)
    if not envelope.sig:
        raise SignatureError("message is not signed", rule="unsigned", msg_id=envelope.msg_id)
    check_commitments(envelope)
    _check(
        keyset,
        envelope.issued_by,
        envelope.sig,
        signature_input(envelope),
        msg_id=envelope.msg_id,
        missing=("unsigned", "message is not signed"),
        bad=("bad_sig", f"signature of {envelope.issued_by} does not verify"),
    )


def verify_batch(envelopes: Iterable[Envelope], keyset: KeySet) -> None:
    """`verify` each envelope: commitments and paths per message, Ed25519 once per
    batch root (the key set's `VerifyCache` remembers it).

    Raises:
        UnknownSigner, SignatureError: as `verify`, for the first envelope that fails.
    """
    for envelope in envelopes:
        verify(envelope, keyset)


def signature_input(envelope: Envelope) -> bytes:
    """What the issuer's Ed25519 signature of `envelope` covers: the root message of the
    batch its leaf and path lead to.

    Raises:
        SignatureError: the path does not fit its index and size (``bad_sig_path``).
    """
    leaf = leaf_hash(signed_bytes(envelope))
    return _root_of(leaf, envelope.sig_path, envelope.msg_id, _SIG_TAG, "bad_sig_path")


def countersignature_input(envelope: Envelope) -> bytes:
    """What a relay's countersignature of `envelope` covers: the root message of the
    batch its leaf and countersignature path lead to.

    Raises:
        SignatureError: the path does not fit its index and size
            (``bad_countersig_path``).
    """
    leaf = leaf_hash(countersigned_bytes(envelope))
    return _root_of(
        leaf, envelope.countersig_path, envelope.msg_id, _COUNTERSIG_ROOT_TAG, "bad_countersig_path"
    )


def _root_of(leaf: bytes, path: SigPath | None, msg_id: str, tag: bytes, rule: str) -> bytes:
    if path is None:
        return root_message(leaf, 1, tag)
    root = root_from_inclusion(leaf, path.index, path.size, path.path)
    if root is None:
        raise SignatureError(
            f"the batch path of {msg_id} does not fit a batch of {path.size}",
            rule=rule,
            msg_id=msg_id,
        )
    return root_message(root, path.size, tag)


def verify_countersig(envelope: Envelope, relay: str, keyset: KeySet) -> None:
    """The countersignature is `relay`'s over this signed envelope (alone or in a batch).

    Raises:
        UnknownSigner: the relay has no key in the key set.
        SignatureError: the countersignature is missing, its path does not fit
            (``bad_countersig_path``) or it does not verify.
    """
    keyset.public_key(relay, msg_id=envelope.msg_id)
    missing = ("no_countersig", f"relayed message lacks {relay}'s countersignature")
    if not envelope.countersig:
        raise SignatureError(missing[1], rule=missing[0], msg_id=envelope.msg_id)
    _check(
        keyset,
        relay,
        envelope.countersig,
        countersignature_input(envelope),
        msg_id=envelope.msg_id,
        missing=missing,
        bad=("bad_countersig", f"countersignature of {relay} does not verify"),
    )


def _check(
    keyset: KeySet,
    party: str,
    signature: bytes | None,
    data: bytes,
    *,
    msg_id: str,
    missing: tuple[str, str],
    bad: tuple[str, str],
) -> None:
    """Verify `party`'s `signature` over `data`, unless the key set's cache knows it
    good; (rule, message) of the SignatureError for each failure."""
    if not signature:
        raise SignatureError(missing[1], rule=missing[0], msg_id=msg_id)
    entry = (keyset.public_raw(party), data, signature)
    if entry in keyset.verified:
        return
    try:
        keyset.public_key(party).verify(signature, data)
    except InvalidSignature as exc:
        raise SignatureError(bad[1], rule=bad[0], msg_id=msg_id) from exc
    keyset.verified.add(entry)


def ephemeral_keys(parties: Iterable[str]) -> dict[str, PartyKeys]:
    """Fresh in-memory keys for `parties` (tests, benchmarks, embedded runs)."""
    keys = [PartyKey.generate(p) for p in parties]
    keyset = KeySet.of(keys)
    return {k.party: PartyKeys(k, keyset) for k in keys}
