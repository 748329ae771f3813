"""Ed25519 signatures over envelopes, and the keys that make them.

Every envelope is signed by the party that issued it (its originator, or the relay
for a relay's own redacted product) over its *signed bytes*: a domain tag and the
MessagePack encoding of the envelope with both signature fields empty. The label,
the payload and every header field are in those bytes, so changing any of them
breaks the signature. A relay adds a countersignature over the same bytes followed
by the signature, so a receiver knows the relay vouched for exactly this signed
message.

Where keys are kept (files, memory) is the key store's business
(`warnlink.security.keystore`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from warnlink.errors import ConfigError, SignatureError, UnknownSigner
from warnlink.model.envelope import Envelope

_SIG_TAG: Final = b"warnlink-sig-v1\x00"
_COUNTERSIG_TAG: Final = b"warnlink-countersig-v1\x00"
_encoder: Final = msgspec.msgpack.Encoder()


def signed_bytes(envelope: Envelope) -> bytes:
    """What the issuer signs: the domain tag and the envelope without its signatures.

    Deterministic: msgspec encodes a struct's fields in declaration order, and the
    empty signature fields are omitted (``omit_defaults``).
    """
    bare = msgspec.structs.replace(envelope, sig=b"", countersig=b"")
    return _SIG_TAG + _encoder.encode(bare)


def countersigned_bytes(envelope: Envelope) -> bytes:
    """What a relay countersigns: the signed bytes followed by the signature."""
    return _COUNTERSIG_TAG + signed_bytes(envelope)[len(_SIG_TAG) :] + envelope.sig


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


class KeySet:
    """The public keys every party trusts: party -> Ed25519 public key."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._raw = dict(keys)
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
    """`envelope` signed by `key` (which must be its issuer's); any countersignature dropped."""
    if key.party != envelope.issued_by:
        raise ConfigError(f"{key.party} cannot sign a message issued by {envelope.issued_by}")
    sig = key.private.sign(signed_bytes(envelope))
    return msgspec.structs.replace(envelope, sig=sig, countersig=b"")


def countersign(envelope: Envelope, key: PartyKey) -> Envelope:
    """`envelope` with the relay `key`'s countersignature over its signed bytes and sig."""
    return msgspec.structs.replace(
        envelope, countersig=key.private.sign(countersigned_bytes(envelope))
    )


def verify(envelope: Envelope, keyset: KeySet) -> None:
    """The signature is its issuer's over exactly this envelope.

    Raises:
        UnknownSigner: the issuer has no key in the key set.
        SignatureError: the signature is missing or does not verify.
    """
    _check(
        keyset.public_key(envelope.issued_by, msg_id=envelope.msg_id),
        envelope.sig,
        signed_bytes(envelope),
        msg_id=envelope.msg_id,
        missing=("unsigned", "message is not signed"),
        bad=("bad_sig", f"signature of {envelope.issued_by} does not verify"),
    )


def verify_countersig(envelope: Envelope, relay: str, keyset: KeySet) -> None:
    """The countersignature is `relay`'s over this signed envelope.

    Raises:
        UnknownSigner: the relay has no key in the key set.
        SignatureError: the countersignature is missing or does not verify.
    """
    _check(
        keyset.public_key(relay, msg_id=envelope.msg_id),
        envelope.countersig,
        countersigned_bytes(envelope),
        msg_id=envelope.msg_id,
        missing=("no_countersig", f"relayed message lacks {relay}'s countersignature"),
        bad=("bad_countersig", f"countersignature of {relay} does not verify"),
    )


def _check(
    public: Ed25519PublicKey,
    signature: bytes | None,
    data: bytes,
    *,
    msg_id: str,
    missing: tuple[str, str],
    bad: tuple[str, str],
) -> None:
    """Verify `signature` over `data`; (rule, message) of the SignatureError for each failure."""
    if not signature:
        raise SignatureError(missing[1], rule=missing[0], msg_id=msg_id)
    try:
        public.verify(signature, data)
    except InvalidSignature as exc:
        raise SignatureError(bad[1], rule=bad[0], msg_id=msg_id) from exc


def ephemeral_keys(parties: Iterable[str]) -> dict[str, PartyKeys]:
    """Fresh in-memory keys for `parties` (tests, benchmarks, embedded runs)."""
    keys = [PartyKey.generate(p) for p in parties]
    keyset = KeySet.of(keys)
    return {k.party: PartyKeys(k, keyset) for k in keys}
