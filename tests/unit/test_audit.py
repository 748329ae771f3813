"""The audit log: RFC 9162 Merkle tree, hash chain, signed heads, proofs, and tampering."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.factories import decision_record
from warnlink.cli import main
from warnlink.errors import DecodeError, StoreError
from warnlink.model.time import ManualClock
from warnlink.security.keystore import KEYS_DIR, KEYSET_FILE
from warnlink.security.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_inclusion,
)
from warnlink.security.signing import KeySet, PartyKey
from warnlink.sharing.audit import (
    AuditLog,
    DecisionRecord,
    SignedHead,
    canonical,
    decode_line,
    entry_hash,
    first_broken,
    head_signed_bytes,
    read_entries,
    read_log,
)
from warnlink.sharing.audit_proof import (
    check_proof,
    decode_proof,
    default_keyset_path,
    encode_proof,
    find_entry,
    prove,
    verify_lines,
    verify_log,
)

USA = PartyKey.generate("USA")
JPN = PartyKey.generate("JPN")
KEYSET = KeySet.of([USA, JPN])

# --- Merkle tree (RFC 9162 section 2.1) ---------------------------------------------

L = [leaf_hash(bytes([i])) for i in range(9)]
a, b, c, d, e, f, g, h, i_ = L
N4 = node_hash(node_hash(a, b), node_hash(c, d))
N8 = node_hash(N4, node_hash(node_hash(e, f), node_hash(g, h)))
#: Trees of 1..9 leaves drawn by hand: split at the largest power of two below n.
HAND_ROOTS = {
    1: a,
    2: node_hash(a, b),
    3: node_hash(node_hash(a, b), c),
    4: N4,
    5: node_hash(N4, e),
    6: node_hash(N4, node_hash(e, f)),
    7: node_hash(N4, node_hash(node_hash(e, f), g)),
    8: N8,
    9: node_hash(N8, i_),
}


@pytest.mark.parametrize("size", range(1, 10))
def test_root_matches_the_hand_drawn_tree(size: int) -> None:
    assert merkle_root(L[:size]) == HAND_ROOTS[size]
    grown = MerkleAccumulator()
    for leaf in L[:size]:
        grown.append(leaf)
    assert grown.root() == HAND_ROOTS[size]
    assert grown.size == size


def test_empty_tree_and_leaf_prefix() -> None:
    assert merkle_root([]) == EMPTY_ROOT
    assert leaf_hash(b"") != node_hash(b"", b"")  # 0x00 and 0x01 keep them apart


def test_hand_drawn_audit_paths() -> None:
    assert inclusion_proof(L[:3], 0) == [b, c]
    assert inclusion_proof(L[:5], 4) == [N4]
    assert inclusion_proof(L[:7], 6) == [node_hash(e, f), N4]
    assert inclusion_proof(L[:7], 4) == [f, g, N4]
    assert inclusion_proof(L[:9], 8) == [N8]
    assert inclusion_proof(L[:1], 0) == []


@pytest.mark.parametrize("size", range(1, 10))
def test_every_proof_verifies_and_nothing_else(size: int) -> None:
    root = HAND_ROOTS[size]
    leaves = L[:size]
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        assert verify_inclusion(leaves[index], index, size, proof, root)
        other = L[(index + 1) % 9]
        assert not verify_inclusion(other, index, size, proof, root)
        assert not verify_inclusion(leaves[index], index, size, proof, EMPTY_ROOT)
        assert not verify_inclusion(leaves[index], size, size, proof, root)
        if size > 1:
            assert not verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
            assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
            assert not verify_inclusion(leaves[index], index, size, [*proof, a], root)
        # The size alone may change without changing the path's shape (leaf 0 of 3 or
        # of 4): a proof binds the size through the signed head, not the path.


def test_a_leaf_outside_the_tree_has_no_proof() -> None:
    with pytest.raises(IndexError):
        inclusion_proof(L[:3], 3)


# RFC 6962 test vectors (the same hashing as RFC 9162), as published by
# transparency-dev/merkle, testonly/constants.go: leaf inputs, roots by size 0..8,
# and the audit paths of leaves 0 and 5 in the tree of 8 (from its NodeHashes).
RFC_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
RFC_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC_PATHS = {
    0: [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    5: [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def test_rfc6962_published_vectors() -> None:
    leaves = [leaf_hash(bytes.fromhex(x)) for x in RFC_LEAVES]
    assert [merkle_root(leaves[:n]).hex() for n in range(9)] == RFC_ROOTS
    root = bytes.fromhex(RFC_ROOTS[8])
    for index, path in RFC_PATHS.items():
        assert [p.hex() for p in inclusion_proof(leaves, index)] == path
        assert verify_inclusion(leaves[index], index, 8, [bytes.fromhex(p) for p in path], root)


# --- the log ------------------------------------------------------------------------


def _record(i: int, decider: str = "USA") -> DecisionRecord:
    return decision_record(
        i,
        decider=decider,
        outcome="redacted",
        reason="fields_withheld",
        withheld=("sensor",),
        product_id=f"{i + 100:032x}",
    )


def _log(path: Path, n: int, signer: PartyKey | None = USA, head_every: int = 3) -> None:
    log = AuditLog(path, signer, head_every=head_every)
    for i in range(n):
        log.append(_record(i))
    log.close()


def test_heads_every_n_entries_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 8)
    kinds = ["head" if isinstance(x, SignedHead) else "entry" for x in read_log(path)]
    assert kinds == ["entry"] * 3 + ["head"] + ["entry"] * 3 + ["head"] + ["entry"] * 2 + ["head"]
    heads = [x for x in read_log(path) if isinstance(x, SignedHead)]
    assert [x.tree_size for x in heads] == [3, 6, 8]
    assert heads[-1].time == 1_007  # no clock: the last entry's time
    entries = list(read_entries(path))
    assert heads[-1].root == merkle_root([leaf_hash(canonical(x)) for x in entries]).hex()
    assert heads[-1].chain_head == entries[-1].hash
    USA.private.public_key().verify(base64.b64decode(heads[-1].sig), head_signed_bytes(heads[-1]))


def test_head_time_comes_from_the_clock(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", USA, clock=ManualClock(42))
    log.append(_record(0))
    log.close()
    log.close()  # a second close signs nothing new
    assert [x.time for x in log.heads] == [42]


def test_chain_and_tree_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 4)
    _log(path, 0)  # reopened and closed: its head already covers everything
    reopened = AuditLog(path, USA, head_every=3)
    reopened.append(_record(4))
    reopened.close()
    entries = list(read_entries(path))
    assert [x.index for x in entries] == [0, 1, 2, 3, 4]
    assert first_broken(entries) is None
    result = verify_log(path, KEYSET)
    assert result.intact
    assert (result.heads, result.heads_verified) == (3, 3)
    assert result.last_head is not None
    assert result.last_head.tree_size == 5


def test_reopening_a_broken_log_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 3)
    path.write_bytes(path.read_bytes().replace(b'"JPN"', b'"ROK"', 1))
    with pytest.raises(StoreError, match="entry 0"):
        AuditLog(path, USA)


def test_memory_log_verifies_like_a_file(tmp_path: Path) -> None:
    log = AuditLog(None, USA, head_every=2)
    for i in range(5):
        log.append(_record(i))
    log.close()
    _log(tmp_path / "audit.jsonl", 5, head_every=2)
    assert verify_lines(log.lines(), KEYSET) == verify_log(tmp_path / "audit.jsonl", KEYSET)


def test_unsigned_log_is_a_bare_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 4, signer=None)
    result = verify_log(path, None)
    assert result.intact
    assert result.heads == 0
    assert result.entries == 4


def test_garbage_line_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"not json\n")
    with pytest.raises(StoreError, match=":1:"):
        list(read_log(path))


# --- tampering: every change is found, at the right place ---------------------------
# The log of 8 entries with a head every 3, line by line:
#  1 e0  2 e1  3 e2  4 head(3)  5 e3  6 e4  7 e5  8 head(6)  9 e6  10 e7  11 head(8)

Lines = list[bytes]


def _flip_entry_byte(lines: Lines) -> None:
    at = lines[5].index(b'"msg_id":"') + len(b'"msg_id":"') + 31
    lines[5] = lines[5][:at] + bytes([lines[5][at] ^ 1]) + lines[5][at + 1 :]


def _flip_signature_byte(lines: Lines) -> None:
    at = lines[7].index(b'"sig":"') + len(b'"sig":"')
    lines[7] = (
        lines[7][:at] + (b"B" if lines[7][at : at + 1] == b"A" else b"A") + lines[7][at + 1 :]
    )


def _delete_line(lines: Lines) -> None:
    del lines[5]


def _swap_entries(lines: Lines) -> None:
    lines[4], lines[5] = lines[5], lines[4]


def _swap_head_and_entry(lines: Lines) -> None:
    lines[3], lines[4] = lines[4], lines[3]


def _truncate_last_line(lines: Lines) -> None:
    lines[-1] = lines[-1][:-20]


def _resign(key: PartyKey, signer: str) -> Callable[[Lines], None]:
    """Head(6) signed again with `key`, claiming `signer`."""

    def tamper(lines: Lines) -> None:
        head = decode_line(lines[7])
        assert isinstance(head, SignedHead)
        forged = msgspec.structs.replace(head, signer=signer)
        sig = key.private.sign(head_signed_bytes(forged))
        lines[7] = canonical(msgspec.structs.replace(forged, sig=base64.b64encode(sig).decode()))

    return tamper


def _rewrite_chain(lines: Lines) -> None:
    """Change e4 and recompute every hash after it: only the signed head can tell."""
    prev = ""
    for n in range(5, 10):
        line = decode_line(lines[n])
        if isinstance(line, SignedHead):
            continue
        if n == 5:
            line = msgspec.structs.replace(line, outcome="forwarded")
        else:
            line = msgspec.structs.replace(line, prev=prev)
        line = msgspec.structs.replace(line, hash=entry_hash(line))
        prev = line.hash
        lines[n] = canonical(line)


@pytest.mark.parametrize(
    ("tamper", "line", "kind", "index", "what"),
    [
        (_flip_entry_byte, 6, "entry", 4, "hash does not match"),
        (_flip_signature_byte, 8, "head", 6, "signature of USA does not verify"),
        (_delete_line, 6, "entry", 4, "index 5, expected 4"),
        (_swap_entries, 5, "entry", 3, "index 4, expected 3"),
        (_swap_head_and_entry, 5, "head", 4, "head covers 3 entries, but 4 precede it"),
        (_truncate_last_line, 11, "line", 8, "not an audit line"),
        (_resign(JPN, "JPN"), 8, "head", 6, "signed by JPN, in USA's log"),
        (_resign(JPN, "USA"), 8, "head", 6, "signature of USA does not verify"),
        (_rewrite_chain, 8, "head", 6, "chain head is not the last entry's hash"),
    ],
)
def test_tampering_is_found(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Callable[[Lines], None],
    line: int,
    kind: str,
    index: int,
    what: str,
) -> None:
    path, keyset = _signed_log_with_keyset(tmp_path)
    lines = path.read_bytes().splitlines()
    tamper(lines)
    path.write_bytes(b"\n".join(lines) + (b"" if tamper is _truncate_last_line else b"\n"))
    assert main(["audit", "verify", str(path), "--keyset", str(keyset), "--json"]) == 1
    broken = json.loads(capsys.readouterr().out)["first_broken"]
    assert (broken["line"], broken["kind"], broken["index"]) == (line, kind, index)
    assert what in broken["what"]


def _signed_log_with_keyset(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "relay-USA.jsonl"  # the name says whose log it must be
    _log(path, 8)
    keyset = tmp_path / KEYS_DIR / KEYSET_FILE
    keyset.parent.mkdir()
    keyset.write_text(KEYSET.to_json())
    return path, keyset


def test_verify_cli_on_intact_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, keyset = _signed_log_with_keyset(tmp_path)
    assert default_keyset_path(path) == keyset
    assert main(["audit", "verify", str(path)]) == 0  # the key set found beside the log
    out = capsys.readouterr().out
    assert "8 entries, 3 signed heads (3 verified)" in out
    assert "last signed head: size 8" in out
    assert "intact" in out


def test_a_log_rewritten_without_its_heads_is_not_vouched_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anyone can recompute a bare hash chain: a log forged whole, heads dropped, or
    with its last head cut off, is intact as a chain but vouched for by nobody (exit 3)."""
    path, keyset = _signed_log_with_keyset(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    entries_only = tmp_path / "sub" / "relay-USA.jsonl"
    entries_only.parent.mkdir()
    entries_only.write_bytes(b"".join(line for line in lines if b'"type":"entry"' in line))
    assert main(["audit", "verify", str(entries_only), "--keyset", str(keyset)]) == 3
    assert "NOT VOUCHED" in capsys.readouterr().out
    tail_cut = tmp_path / "cut" / "relay-USA.jsonl"
    tail_cut.parent.mkdir()
    tail_cut.write_bytes(b"".join(lines[:-1]))  # the closing head removed
    assert main(["audit", "verify", str(tail_cut), "--keyset", str(keyset), "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["unsigned_tail"] > 0
    assert main(["audit", "verify", str(path), "--owner", "JPN"]) == 3
    assert "heads are USA's, not JPN's" in capsys.readouterr().out


def test_verify_cli_without_a_key_set_vouches_for_nothing(tmp_path: Path) -> None:
    path = tmp_path / "relay-USA.jsonl"
    _log(path, 2)
    assert main(["audit", "verify", str(path)]) == 3
    assert main(["audit", "verify", str(tmp_path / "relay-JPN.jsonl")]) == 2  # missing


# --- inclusion proofs ---------------------------------------------------------------


def _proof_dict(tmp_path: Path, index: int) -> dict[str, Any]:
    path = tmp_path / "audit.jsonl"
    if not path.exists():
        _log(path, 8)
    proof = prove(list(read_log(path)), index)
    assert proof is not None
    loaded: dict[str, Any] = json.loads(encode_proof(proof))
    return loaded


@pytest.mark.parametrize("index", range(8))
def test_every_entry_has_a_proof_against_the_last_head(tmp_path: Path, index: int) -> None:
    proof = decode_proof(json.dumps(_proof_dict(tmp_path, index)).encode())
    assert proof.head.tree_size == 8
    assert check_proof(proof, KEYSET) is None


def _mutated(doc: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(doc))
    change(copy)
    return copy


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda p: p["audit_path"].__setitem__(0, "00" * 32), "audit path"),
        (lambda p: p["audit_path"].pop(), "audit path"),
        (lambda p: p.__setitem__("leaf_index", 4), "expected 4"),
        (lambda p: p["entry"].__setitem__("recipient", "ROK"), "hash does not match"),
        (lambda p: p["head"].__setitem__("root", "11" * 32), "audit path"),
        (lambda p: p["head"].__setitem__("tree_size", 9), "audit path"),
        (lambda p: p["head"].__setitem__("time", 1), "signature of USA"),
        (lambda p: p["head"].__setitem__("signer", "JPN"), "head signed by JPN"),
    ],
)
def test_an_altered_proof_fails(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], why: str
) -> None:
    proof = decode_proof(json.dumps(_mutated(_proof_dict(tmp_path, 5), change)).encode())
    problem = check_proof(proof, KEYSET)
    assert problem is not None
    assert why in problem


def test_a_proof_needs_the_signers_key(tmp_path: Path) -> None:
    proof = decode_proof(json.dumps(_proof_dict(tmp_path, 2)).encode())
    assert check_proof(proof, KeySet.of([JPN])) == "signer USA is not in the key set"


def test_proof_lookup(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, USA, head_every=3)
    for i in range(4):
        log.append(_record(i))
    lines = list(read_log(path))
    assert prove(lines, 3) is None  # no head covers it until close
    assert prove(lines, 9) is None
    proof = prove(lines, 1)
    assert proof is not None
    assert proof.head.tree_size == 3
    assert (
        find_entry(lines, "2") == find_entry(lines, f"{2:032x}") == find_entry(lines, f"{102:032x}")
    )
    assert find_entry(lines, "ff" * 16) is None
    log.close()


def test_not_a_proof_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_proof(b'{"format": "x"}')


def test_a_half_written_last_line_is_dropped_on_reopen(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash mid-write leaves a line without its newline: reopening cuts it and goes
    on (nothing was sent on it); a complete line that does not parse is still refused."""
    path = tmp_path / "audit.jsonl"
    _log(path, 4)
    intact = path.read_bytes()
    with path.open("ab") as f:
        f.write(b'{"type":"entry","index":4,"prev":"ab')
    log = AuditLog(path, USA, head_every=3)
    assert "half-written" in caplog.text
    assert len(log) == 4
    log.append(_record(4))
    log.close()
    assert path.read_bytes().startswith(intact)
    assert verify_lines(read_log(path), KEYSET).vouched
    with path.open("ab") as f:
        f.write(b'{"type":"entry"}\n')
    with pytest.raises(StoreError, match="not an audit line"):
        AuditLog(path, USA)


def test_a_log_in_a_file_keeps_its_entries_on_disk_not_in_memory(tmp_path: Path) -> None:
    """A relay that runs for weeks must not hold every decision it ever logged."""
    import tracemalloc

    log = AuditLog(tmp_path / "audit.jsonl", USA, head_every=100)
    for i in range(100):  # warm up (encoders, caches)
        log.append(_record(i))
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for i in range(100, 2100):
        log.append(_record(i))
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (after - before) / 2000 < 100  # bytes per entry: heads and peaks only
    assert len(log) == 2100
    assert [e.index for e in log][-1] == 2099  # read back from the file
    log.close()
