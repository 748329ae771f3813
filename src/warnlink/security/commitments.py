"""Salted commitments to the payload fields a message may be sent without.

The scheme is a redactable signature by hash commitments (R. Steinfeld, L. Bull and
Y. Zheng, "Content Extraction Signatures", ICISC 2001; R. Johnson, D. Molnar,
D. Song and D. Wagner, "Homomorphic Signature Schemes", CT-RSA 2002, section 3).
For every field ``f`` a payload may be released without (its kind's
``releasable_fields``), the issuer takes a fresh salt ``s_f`` of `SALT_BYTES` bytes
per field per message and commits to the field's value ``v_f``::

    s_f = BLAKE2b-128( key = the issuer's salt key, msg_id || 0x00 || f )
    c_f = SHA-256( msgpack([ "warnlink-commit-v2", f, s_f, v_f ]) )

The salt is pseudorandom rather than drawn from the OS: keyed BLAKE2b (RFC 7693) is a
PRF, and the salt key is secret (derived from the issuer's private key, as Ed25519
derives its nonce from it, RFC 8032 section 5.1.6), so to anyone else each salt is as
good as 128 random bits, while signing one message again gives the same bytes (a
re-issued message is the same message, and a seeded demo repeats exactly). Message ids
are unique (`make_msg_id`), so no salt serves twice.

with ``v_f`` in its MessagePack wire form (nil when the issuer has no value).
MessagePack frames every item with its type and length, so no two inputs encode
alike. The issuer signs the commitments instead of the values
(`warnlink.security.signing`). Whoever passes the message on may withhold ``f`` by
dropping ``v_f`` and ``s_f`` and keeping ``c_f``, and can change nothing else: a
changed value no longer matches its commitment (SHA-256 is collision resistant), and
a withheld value cannot be guessed from ``c_f`` (the 128-bit salt defeats a
dictionary of, say, sensor names).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Final

import msgspec

from warnlink.errors import SignatureError
from warnlink.model import Envelope, Payload

COMMIT_TAG: Final = "warnlink-commit-v2"
SALT_BYTES: Final = 16
_encoder: Final = msgspec.msgpack.Encoder()


def commitment(field: str, salt: bytes, value: object) -> bytes:
    """``c_f``: the SHA-256 commitment to `value` of `field` under `salt`."""
    return hashlib.sha256(_encoder.encode((COMMIT_TAG, field, salt, value))).digest()


def salt_key(private_raw: bytes) -> bytes:
    """The secret key an issuer derives its salts from, given its raw private key."""
    return hashlib.blake2b(private_raw, digest_size=32, person=b"warnlink-salt-v2").digest()


def salt(key: bytes, msg_id: str, field: str) -> bytes:
    """``s_f`` of `field` in message `msg_id` under the issuer's salt `key`."""
    data = msg_id.encode() + b"\x00" + field.encode()
    return hashlib.blake2b(data, key=key, digest_size=SALT_BYTES).digest()


def seal(envelope: Envelope, key: bytes) -> Envelope:
    """`envelope` with a salt and a commitment for each of its committed fields, the
    salts derived with the issuer's salt `key`."""
    payload = envelope.payload
    salts = {f: salt(key, envelope.msg_id, f) for f in payload.releasable_fields}
    commitments = {f: commitment(f, s, getattr(payload, f)) for f, s in salts.items()}
    return msgspec.structs.replace(envelope, commitments=commitments, salts=salts)


def masked(payload: Payload) -> Payload:
    """`payload` without the values of its committed fields (what the signature covers)."""
    if not payload.releasable_fields:
        return payload
    return cleared(payload, payload.releasable_fields)


def cleared(payload: Payload, fields: tuple[str, ...]) -> Payload:
    """`payload` with `fields`, committed fields only, set to None.

    Not validated again (`msgspec.structs.replace` would run the payload's
    ``__post_init__``): every check there reads only the values present, so a valid
    payload without some of its optional fields is valid, and a track report's checks
    cost more than the rest of masking it (the relay masks every message it verifies).

    Raises:
        ValueError: a field its kind may not be sent without.
    """
    if not set(fields) <= set(payload.releasable_fields):
        raise ValueError(f"a {type(payload).__name__} cannot be sent without {fields}")
    without = copy.copy(payload)
    for field in fields:
        msgspec.structs.force_setattr(without, field, None)
    return without


def withhold(envelope: Envelope, fields: tuple[str, ...]) -> Envelope:
    """`envelope` without the values and salts of `fields` (committed fields only);
    its commitments, signature and everything else stay the issuer's."""
    return msgspec.structs.replace(
        envelope,
        payload=cleared(envelope.payload, fields),
        salts={f: s for f, s in envelope.salts.items() if f not in fields},
        countersig=b"",
        countersig_path=None,
    )


def check_commitments(envelope: Envelope) -> None:
    """What the envelope holds of its committed fields is exactly what was committed:
    one commitment per field its kind may withhold, a value only with its salt, and
    every salted value matching its commitment.

    Raises:
        SignatureError: rule ``bad_commitment``.
    """
    payload = envelope.payload
    expected = set(payload.releasable_fields)
    wrong = (set(envelope.commitments) ^ expected) | (set(envelope.salts) - expected)
    if wrong:
        _refuse(envelope, f"commitments or salts for {sorted(wrong)} do not fit a {envelope.kind}")
    for field, committed in envelope.commitments.items():
        value = getattr(payload, field)
        salt = envelope.salts.get(field)
        if salt is None:
            if value is not None:
                _refuse(envelope, f"`{field}` is present without its salt")
        elif commitment(field, salt, value) != committed:
            _refuse(envelope, f"`{field}` does not match its issuer's commitment")


def _refuse(envelope: Envelope, why: str) -> None:
    raise SignatureError(
        f"{envelope.msg_id} from {envelope.issued_by}: {why}",
        rule="bad_commitment",
        msg_id=envelope.msg_id,
    )
