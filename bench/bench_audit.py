"""Audit log cost: appends per second to a file with signed heads, against plain SHA-256.

Each round appends N decisions (a relay's redaction, as the demo logs them) to a
fresh JSONL file, with a signed tree head (RFC 9162 Merkle root, Ed25519) every
100 entries and on close; every append is written and flushed. The reference,
measured in the same run, is one SHA-256 over the same canonical entry bytes:
the least any hash-chained log must do per entry. Also timed: `verify_log` over
the file written (chain, tree and every head's signature), and one inclusion
proof made and checked. Figures are the best of several rounds.

Run: ``.venv/bin/python bench/bench_audit.py [--entries N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import tempfile
from pathlib import Path

from warnlink.benchmarks.figure import best_seconds
from warnlink.security.signing import KeySet, PartyKey
from warnlink.sharing.audit import AuditLog, DecisionRecord, canonical, read_log
from warnlink.sharing.audit_proof import check_proof, prove, verify_log

HEAD_EVERY = 100


def _records(count: int) -> list[DecisionRecord]:
    return [
        DecisionRecord(
            time=1_700_000_000 * 10**9 + i,
            decider="USA",
            msg_id=f"{i:032x}",
            originator="ROK",
            kind="track_report",
            recipient="JPN",
            outcome="redacted",
            reason="fields_withheld",
            content_sha256="ab" * 32,
            withheld=("sensor",),
            product_id=f"{i + 10**6:032x}",
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000, help="appends per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best is kept")
    args = parser.parse_args()
    n, r = args.entries, args.rounds
    key = PartyKey.generate("USA")
    records = _records(n)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        counter = iter(range(r))

        def append_all() -> None:
            log = AuditLog(folder / f"audit-{next(counter)}.jsonl", key, head_every=HEAD_EVERY)
            for record in records:
                log.append(record)
            log.close()

        append_s = best_seconds(append_all, r)
        path = folder / "audit-0.jsonl"
        lines = list(read_log(path))
        entry_bytes = [canonical(x) for x in lines]

        def hash_all() -> None:
            for data in entry_bytes[:n]:
                hashlib.sha256(data).digest()

        sha_s = best_seconds(hash_all, r)
        keyset = KeySet.of([key])
        verify_s = best_seconds(lambda: verify_log(path, keyset), r)
        proof = prove(lines, n // 2)
        assert proof is not None
        prove_s = best_seconds(lambda: prove(lines, n // 2), r)
        check_s = best_seconds(lambda: check_proof(proof, keyset), r)
        size = path.stat().st_size

    print(
        f"python {platform.python_version()}, {platform.machine()}; {n} entries "
        f"(~{size // n} bytes each as JSON), a signed head every {HEAD_EVERY}; best of {r} rounds"
    )
    print(f"append (file, flushed, heads) {n / append_s:10.0f} /s  {append_s / n * 1e6:7.1f} us")
    print(f"SHA-256 of the entry (ref.)   {n / sha_s:10.0f} /s  {sha_s / n * 1e6:7.1f} us")
    print(f"append / reference: {append_s / sha_s:.0f} x")
    print(f"verify_log (whole file)       {n / verify_s:10.0f} entries/s ({verify_s * 1e3:.0f} ms)")
    print(f"{f'prove one entry (of {n})':<30}{prove_s * 1e3:8.1f} ms")
    print(f"check one proof               {check_s * 1e6:8.0f} us")


if __name__ == "__main__":
    main()
