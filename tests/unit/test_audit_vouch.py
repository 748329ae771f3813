"""`warnlink audit verify` vouches only for logs its expected owner's heads cover,
and that no witnessed head contradicts (issue 17, finding 3)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, decision_record
from warnlink.cli import main
from warnlink.security.keystore import KEYS_DIR, KEYSET_FILE
from warnlink.security.signing import PartyKey
from warnlink.sharing.audit import AuditLog, DecisionRecord, SignedHead
from warnlink.sharing.witness import RecordFile, cosign

USA, JPN, ROK = KEYS["USA"].own, KEYS["JPN"].own, KEYS["ROK"].own


def _record(i: int, decider: str = "USA") -> DecisionRecord:
    return decision_record(i, decider=decider)


def _log(path: Path, n: int, signer: PartyKey | None = USA) -> list[SignedHead]:
    """A log of `n` entries with a head every 3 and on close; its heads."""
    log = AuditLog(path, signer, head_every=3)
    for i in range(n):
        log.append(_record(i, signer.party if signer else "USA"))
    log.close()
    return log.heads


def _keyset(folder: Path) -> Path:
    path = folder / KEYS_DIR / KEYSET_FILE
    path.parent.mkdir(exist_ok=True)
    path.write_text(KEYSET.to_json())
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def _witness_file(folder: Path, head: SignedHead, key: PartyKey = ROK) -> Path:
    path = folder / f"witness-{key.party}-relay-USA.jsonl"
    RecordFile(path).append(cosign(head, key, 2_000))
    return path


def test_a_head_less_log_without_a_key_set_is_not_vouched_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 3: with no key set found, a rewritten log with its heads dropped passed."""
    path = tmp_path / "relay-USA.jsonl"
    _log(path, 5)
    path.write_bytes(b"".join(x + b"\n" for x in path.read_bytes().splitlines() if b'"entry"' in x))
    assert main(["audit", "verify", str(path)]) == 3
    assert "NOT VOUCHED: no key set found" in capsys.readouterr().out


def test_a_signed_log_without_a_key_set_is_not_vouched_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "relay-USA.jsonl"
    _log(path, 5)
    assert main(["audit", "verify", str(path), "--json"]) == 3
    assert _json(capsys)["not_vouched"] == (
        "no key set found (pass --keyset): no signature could be checked"
    )


def test_a_log_re_signed_by_another_party_is_not_vouched_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 3: JPN rewrites USA's relay log as its own (every entry decided by JPN,
    every head signed with JPN's key): intact, but not USA's."""
    _keyset(tmp_path)
    path = tmp_path / "relay-USA.jsonl"
    _log(path, 5, JPN)
    assert main(["audit", "verify", str(path), "--json"]) == 3
    doc = _json(capsys)
    assert doc["intact"]
    assert doc["not_vouched"] == ("the log's entries and heads are JPN's, not USA's")
    assert main(["audit", "verify", str(path), "--owner", "JPN"]) == 0


def test_the_owner_comes_from_the_name_or_owner_never_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _keyset(tmp_path)
    path = tmp_path / "audit.jsonl"
    _log(path, 5)
    assert main(["audit", "verify", str(path)]) == 2  # whose? the name does not say
    assert main(["audit", "verify", str(path), "--owner", "USA"]) == 0
    gateway = tmp_path / "gateway-USA.jsonl"
    gateway.write_bytes(path.read_bytes())
    assert main(["audit", "verify", str(gateway)]) == 0


def test_entries_after_the_last_head_are_not_vouched_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _keyset(tmp_path)
    path = tmp_path / "relay-USA.jsonl"
    _log(path, 5)
    path.write_bytes(b"".join(x + b"\n" for x in path.read_bytes().splitlines()[:-1]))
    assert main(["audit", "verify", str(path)]) == 3
    assert "NOT VOUCHED: 2 entries after the last signed head" in capsys.readouterr().out


def test_a_log_cut_back_to_an_earlier_head_fails_against_a_later_witnessed_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 3: a log cut back to an earlier signed head verifies on its own; ROK
    witnessed the later head, so with ROK's witness file it does not."""
    _keyset(tmp_path)
    path = tmp_path / "relay-USA.jsonl"
    heads = _log(path, 8)  # heads at 3, 6, 8
    witnessed = _witness_file(tmp_path, heads[-1])
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:8]))  # 6 entries and their two heads
    assert main(["audit", "verify", str(path)]) == 0  # alone, nothing tells
    assert main(["audit", "verify", str(path), "--witness", str(witnessed)]) == 3
    out = capsys.readouterr().out
    assert "NOT VOUCHED: rolled back: ROK witnessed a head of 8 entries, the log holds 6" in out


def _fork(path: Path) -> None:
    """The same log with entry 4 onwards rewritten and heads signed again with the
    owner's own key: what a relay forking its log can do, and nothing inside it tells."""
    path.unlink()
    log = AuditLog(path, USA, head_every=3)
    for i in range(8):
        record = _record(i)
        log.append(msgspec.structs.replace(record, outcome="refused") if i == 4 else record)
    log.close()


def test_a_forked_log_fails_against_a_witnessed_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _keyset(tmp_path)
    path = tmp_path / "relay-USA.jsonl"
    heads = _log(path, 8)
    witnessed = _witness_file(tmp_path, heads[-1], JPN)
    _fork(path)
    assert main(["audit", "verify", str(path)]) == 0  # the owner re-signed it all
    assert main(["audit", "verify", str(path), "--witness", str(witnessed)]) == 3
    assert "forked: JPN witnessed another root for the first 8 entries" in (capsys.readouterr().out)


def test_witnessed_heads_that_hold_vouch_and_forged_ones_do_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _keyset(tmp_path)
    path = tmp_path / "relay-USA.jsonl"
    heads = _log(path, 8)
    rok = _witness_file(tmp_path, heads[1])
    jpn = _witness_file(tmp_path, heads[2], JPN)
    assert main(["audit", "verify", str(path), "--witness", str(rok), "--witness", str(jpn)]) == 0
    assert "3 signed heads (3 verified), 2 witnessed heads" in capsys.readouterr().out
    forged = tmp_path / "forged.jsonl"
    record = cosign(heads[2], JPN, 2_000)
    RecordFile(forged).append(msgspec.structs.replace(record, witness="ROK"))
    assert main(["audit", "verify", str(path), "--witness", str(forged)]) == 3
    assert "cosignature of ROK does not verify" in capsys.readouterr().out
    own = tmp_path / "own.jsonl"
    RecordFile(own).append(cosign(heads[2], USA, 2_000))
    assert main(["audit", "verify", str(path), "--witness", str(own)]) == 3
    assert "USA cannot witness its own head" in capsys.readouterr().out
    assert main(["audit", "verify", str(path), "--witness", str(tmp_path / "none")]) == 2
