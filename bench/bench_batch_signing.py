"""Signing cost per message: schema 1's whole-envelope signature, and schema 2's
redactable signature alone and over batches of 16 and 64, with a relay's
countersignature over the same batches.

The message is one track report (state, covariance, sensor, a field-level label).
The reference is schema 1's scheme, rebuilt here in a few lines since the code no
longer uses it: Ed25519 over a domain tag and the MessagePack encoding of the whole
envelope. Schema 2 (`warnlink.security.signing`) adds, per message, derived salts and a
SHA-256 commitment per withholdable field, a second encoding (the masked envelope)
and a Merkle leaf hash; per batch, the Merkle tree and one Ed25519 signature. Verify
at batch n is `verify_batch` over the batch (one Ed25519 verification per batch, the
commitments and path of every message), each round with an empty verify cache.
Countersign at batch n is `countersign_batch` (what a relay adds per product);
countersig verify is `verify_countersig` of each message of the batch; ``relayed`` is
the size of a message with both paths, bytes. Figures are the best of several rounds,
microseconds per message; ratios are against schema 1 in the same run.

Run: ``.venv/bin/python bench/bench_batch_signing.py [--messages N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Callable

import msgspec
from bench_signing import T0, track_message
from cryptography import __version__ as cryptography_version

from warnlink.benchmarks.figure import best_seconds
from warnlink.model import Envelope, encode
from warnlink.security.signing import (
    KeySet,
    PartyKey,
    countersign_batch,
    ephemeral_keys,
    sign_batch,
    verify_batch,
    verify_countersig,
)

_V1_TAG = b"warnlink-sig-v1\x00"
_encoder = msgspec.msgpack.Encoder()


def _v1_bytes(envelope: Envelope) -> bytes:
    return _V1_TAG + _encoder.encode(msgspec.structs.replace(envelope, sig=b""))


def _v1_sign(envelopes: list[Envelope], key: PartyKey) -> list[Envelope]:
    return [msgspec.structs.replace(e, sig=key.private.sign(_v1_bytes(e))) for e in envelopes]


def _v1_verify(envelopes: list[Envelope], keyset: KeySet) -> None:
    public = keyset.public_key("ROK")
    for e in envelopes:
        public.verify(e.sig, _v1_bytes(e))


def per_message_us(operation: Callable[[], object], messages: int, rounds: int) -> float:
    return best_seconds(operation, rounds) / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_024, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best is kept")
    args = parser.parse_args()
    keys = ephemeral_keys(["ROK"])
    key, keyset = keys["ROK"].own, keys["ROK"].keyset
    bare = [track_message(seq, epoch=T0 + seq) for seq in range(1, args.messages + 1)]
    n, r = args.messages, args.rounds

    def batches(size: int) -> list[list[Envelope]]:
        return [bare[i : i + size] for i in range(0, n, size)]

    v1 = _v1_sign(bare, key)
    ref_sign = per_message_us(lambda: _v1_sign(bare, key), n, r)
    ref_verify = per_message_us(lambda: _v1_verify(v1, keyset), n, r)
    print(
        f"python {platform.python_version()}, cryptography {cryptography_version}, "
        f"{platform.machine()}; track report {len(encode(v1[0]))} bytes (schema 1); "
        f"{n} messages a round, best of {r}; us per message"
    )
    print(
        f"{'scheme':28} {'sign':>8} {'ratio':>6} {'verify':>8} {'ratio':>6} {'bytes':>6}"
        f" {'csign':>8} {'cverify':>8} {'relayed':>7}"
    )
    print(
        f"{'schema 1 (whole envelope)':28} {ref_sign:8.1f} {1.0:6.2f} {ref_verify:8.1f} {1.0:6.2f}"
    )
    raw = {p: keyset.public_raw(p) for p in keyset.parties}
    for size in (1, 16, 64):
        groups = batches(size)
        signed = [sign_batch(g, key) for g in groups]
        countersigned = [countersign_batch(g, key) for g in signed]

        def sign_all(groups: list[list[Envelope]] = groups) -> None:
            for g in groups:
                sign_batch(g, key)

        def verify_all(signed: list[list[Envelope]] = signed) -> None:
            cold = KeySet(raw)
            for g in signed:
                verify_batch(g, cold)

        def countersign_all(signed: list[list[Envelope]] = signed) -> None:
            for g in signed:
                countersign_batch(g, key)

        def verify_countersigs(done: list[list[Envelope]] = countersigned) -> None:
            cold = KeySet(raw)
            for g in done:
                for m in g:
                    verify_countersig(m, "ROK", cold)

        s = per_message_us(sign_all, n, r)
        v = per_message_us(verify_all, n, r)
        cs = per_message_us(countersign_all, n, r)
        cv = per_message_us(verify_countersigs, n, r)
        size_b = len(encode(signed[0][0]))
        relayed_b = len(encode(countersigned[0][0]))
        print(
            f"{f'schema 2, batch {size}':28} {s:8.1f} {s / ref_sign:6.2f} "
            f"{v:8.1f} {v / ref_verify:6.2f} {size_b:6d} {cs:8.1f} {cv:8.1f} {relayed_b:7d}"
        )


if __name__ == "__main__":
    main()
