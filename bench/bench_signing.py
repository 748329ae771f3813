"""Ed25519 signing cost per message, against the cost of encoding and decoding it.

One signed track report (the largest routine message: state, covariance, sensor,
a field-level label) is signed, verified, countersigned and verified again, as a
message relayed ROK -> USA -> JPN is: the originator signs, the relay verifies and
countersigns, the receiver verifies the signature and the countersignature. The
figures are the best of several rounds of N operations each (the least disturbed
by the machine). The reference is one MessagePack encode plus one strict decode of
the same envelope, measured in the same run; the ratio says how much signing adds
to the codec work every message already costs.

Run: ``.venv/bin/python bench/bench_signing.py [--messages N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Callable

from cryptography import __version__ as cryptography_version

from warnlink.benchmarks.figure import best_seconds
from warnlink.model import (
    Envelope,
    Phase,
    SecurityLabel,
    TrackReport,
    decode,
    encode,
    new_envelope,
)
from warnlink.model.record import DataMode
from warnlink.security.signing import (
    countersign,
    ephemeral_keys,
    sign,
    verify,
    verify_countersig,
)

T0 = 1_700_000_000 * 10**9


def track_message(seq: int = 1, *, trk_id: int = 1, epoch: int = T0) -> Envelope:
    """ROK's unsigned midcourse track report with a covariance and a sensor withheld
    from JPN: the message every signing and decoding benchmark measures."""
    report = TrackReport(
        trk_id=trk_id,
        epoch=epoch,
        pos=(-3_100_000.0, 4_100_000.0, 3_900_000.0),
        vel=(1_000.0, 500.0, 1_500.0),
        phase=Phase.MIDCOURSE,
        trk_qual=9,
        cov=tuple(100.0 + i if i in (0, 6, 11, 15, 18, 20) else 1.0 + i / 10 for i in range(21)),
        sensor="ROK-R1",
    )
    label = SecurityLabel("UNCLASSIFIED", ("JPN", "USA"), {"sensor": ("USA",)})
    return new_envelope(
        originator="ROK", seq=seq, created=T0, label=label, payload=report, data_mode=DataMode.TEST
    )


def best_us(operation: Callable[[], object], count: int, rounds: int) -> float:
    """Microseconds per call: the best round of `count` calls."""

    def calls() -> None:
        for _ in range(count):
            operation()

    return best_seconds(calls, rounds) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best is kept")
    args = parser.parse_args()

    keys = ephemeral_keys(["ROK", "USA", "JPN"])
    keyset = keys["JPN"].keyset
    bare = track_message()
    signed = sign(bare, keys["ROK"].own)
    relayed = countersign(signed, keys["USA"].own)
    data = encode(relayed)
    verify(relayed, keyset)
    verify_countersig(relayed, "USA", keyset)
    n, r = args.messages, args.rounds

    sign_us = best_us(lambda: sign(bare, keys["ROK"].own), n, r)
    verify_us = best_us(lambda: verify(signed, keyset), n, r)
    countersign_us = best_us(lambda: countersign(signed, keys["USA"].own), n, r)
    verify_countersig_us = best_us(lambda: verify_countersig(relayed, "USA", keyset), n, r)
    codec_us = best_us(lambda: decode(encode(relayed)), n, r)

    # Along the relayed path: sign at ROK; verify + countersign at USA; verify both at JPN.
    added_us = sign_us + 2 * verify_us + countersign_us + verify_countersig_us
    print(
        f"python {platform.python_version()}, cryptography {cryptography_version}, "
        f"{platform.machine()}; message {len(data)} bytes signed and countersigned; "
        f"best of {r} rounds x {n}"
    )
    print(f"sign                     {sign_us:8.1f} us   {1e6 / sign_us:9.0f} /s")
    print(f"verify                   {verify_us:8.1f} us   {1e6 / verify_us:9.0f} /s")
    print(f"countersign              {countersign_us:8.1f} us   {1e6 / countersign_us:9.0f} /s")
    print(
        f"verify countersignature  {verify_countersig_us:8.1f} us   "
        f"{1e6 / verify_countersig_us:9.0f} /s"
    )
    print(f"encode + decode (ref.)   {codec_us:8.1f} us   {1e6 / codec_us:9.0f} /s")
    print(
        f"added per relayed message (sign, verify, countersign, verify both): "
        f"{added_us:.1f} us = {added_us / codec_us:.1f} x one encode + decode"
    )
    direct_us = sign_us + verify_us
    print(
        f"added per direct message (sign, verify): {direct_us:.1f} us = "
        f"{direct_us / codec_us:.1f} x one encode + decode"
    )


if __name__ == "__main__":
    main()
