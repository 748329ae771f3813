"""The nesting-depth scan's cost per message, against the decode it guards.

`model.nesting.check_msgpack_depth` runs before every envelope is decoded. It first
counts the bytes that could open a container (C speed); only a message with more of
them than the depth limit is walked token by token in Python. Measured here:

- a signed track report (~570 bytes): the check as it runs (the count alone), the full
  walk (what the count spares), and the strict decode of the same bytes (msgspec alone, no check);
- a 64 KiB `Resend` of signed track reports (the largest routine message: its inner
  messages are byte strings, skipped whole by the walk);
- the worst 64 KiB an attacker can send under the size limit: an array of 2-byte
  integers whose second byte looks like a container (every token walked), and the
  decode's refusal of it;
- the 2,000-deep map of issue 17 (refused after the limit plus one levels).

Figures are the best of several rounds (the least disturbed by the machine).

Run: ``.venv/bin/python bench/bench_nesting.py [--rounds R]``
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time
from collections.abc import Callable

import msgspec
from bench_signing import track_message

from warnlink.errors import MessageError
from warnlink.faults.poison import DEEP_MAP
from warnlink.model import Envelope, Resend, SecurityLabel, encode, new_envelope
from warnlink.model.codec import MAX_MESSAGE_BYTES
from warnlink.model.nesting import MAX_DEPTH, check_msgpack_depth, walk_msgpack
from warnlink.security.signing import ephemeral_keys, sign

T0 = 1_700_000_000 * 10**9
_DECODER = msgspec.msgpack.Decoder(Envelope)


def _track(seq: int) -> bytes:
    envelope = track_message(seq, trk_id=seq)
    return encode(sign(envelope, ephemeral_keys(("ROK",))["ROK"].own))


def _resend(limit: int) -> bytes:
    messages: list[bytes] = []
    while True:
        answer = Resend(
            trk_id=0,
            request="0" * 32,
            to="JPN",
            messages=tuple(messages),
            part=1,
            last=True,
            retained_since=T0,
        )
        envelope = new_envelope(
            originator="ROK",
            seq=1,
            created=T0,
            label=SecurityLabel("UNCLASSIFIED", ("JPN",)),
            payload=answer,
            data_mode=None,
        )
        data = encode(envelope)
        if len(data) + 600 > limit:
            return data
        messages.append(_track(len(messages) + 1))


def _us(run: Callable[[], object], n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            run()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def _parsed(data: bytes) -> Callable[[], object]:
    """The strict decode alone (msgspec, no depth check), refusals included."""

    def run() -> object:
        try:
            return _DECODER.decode(data)
        except msgspec.DecodeError as exc:
            return exc

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    small, big = _track(1), _resend(MAX_MESSAGE_BYTES)
    worst = msgspec.msgpack.encode([0x80] * ((MAX_MESSAGE_BYTES - 5) // 2))
    print(f"{platform.node()} {platform.processor() or platform.machine()}, ", end="")
    print(f"Python {platform.python_version()}, msgspec {msgspec.__version__}, limit {MAX_DEPTH}")
    rows = [
        (f"track report, {len(small)} B", small),
        (f"resend of signed reports, {len(big)} B", big),
        (f"worst case, {len(worst)} B of 2-byte ints", worst),
        (f"issue 17's 2,000-deep map, {len(DEEP_MAP)} B", DEEP_MAP),
    ]
    print(f"{'message':44} {'check us':>10} {'walk us':>10} {'decode us':>10} {'check/decode':>13}")
    for name, data in rows:
        n = max(10, 200_000 // len(data))
        check = _us(lambda d=data: _checked(d), n, rounds)
        walk = _us(lambda d=data: _walked(d), n, rounds)
        decoding = _us(_parsed(data), n, rounds)
        print(f"{name:44} {check:10.1f} {walk:10.1f} {decoding:10.1f} {check / decoding:12.1%}")


def _checked(data: bytes) -> None:
    with contextlib.suppress(MessageError):
        check_msgpack_depth(data)


def _walked(data: bytes) -> None:
    with contextlib.suppress(MessageError):
        walk_msgpack(data, MAX_DEPTH)


if __name__ == "__main__":
    main()
