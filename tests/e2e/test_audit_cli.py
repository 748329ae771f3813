"""The demo's audit logs through the CLI: verified, tampered with, and proven entry by entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from warnlink.cli import main
from warnlink.security.keystore import KEYS_DIR, KEYSET_FILE

LOGS = ("gateway-ROK.jsonl", "gateway-JPN.jsonl", "gateway-USA.jsonl", "relay-USA.jsonl")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo run for the whole module (it takes seconds)."""
    folder = tmp_path_factory.mktemp("demo") / "data"
    assert main(["demo", "--data-dir", str(folder), "--json"]) == 0
    return folder


@pytest.fixture
def copy(data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the demo's data folder this test may damage."""
    target = tmp_path / "data"
    shutil.copytree(data_dir, target, ignore=shutil.ignore_patterns("bus"))
    return target


@pytest.mark.parametrize("log", LOGS)
def test_every_demo_log_verifies(
    data_dir: Path, log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["audit", "verify", str(data_dir / log), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["intact"]
    assert result["heads"] == result["heads_verified"] >= 1
    assert result["last_signed_head"]["tree_size"] == result["entries"]


def test_the_relay_log_has_a_head_every_hundred_entries_and_for_its_witnesses(
    data_dir: Path,
) -> None:
    lines = [json.loads(x) for x in (data_dir / "relay-USA.jsonl").read_bytes().splitlines()]
    entries = sum(1 for x in lines if x["type"] == "entry")
    sizes = [x["tree_size"] for x in lines if x["type"] == "head"]
    assert entries > 100
    assert set(range(100, entries + 1, 100)) <= set(sizes)
    assert sizes[-1] == entries
    # The others: one per witness round (every 30 s of scenario time) in which it grew.
    assert len(sizes) > entries // 100 + 1


def test_the_relay_log_verifies_against_what_its_witnesses_hold(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    witnesses = [
        x
        for name in ("witness-ROK-relay-USA.jsonl", "witness-JPN-relay-USA.jsonl")
        for x in ("--witness", str(data_dir / name))
    ]
    log = str(data_dir / "relay-USA.jsonl")
    capsys.readouterr()
    assert main(["audit", "verify", log, *witnesses, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["witnessed_heads"] > 2


def test_one_changed_byte_is_found(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy / "relay-USA.jsonl"
    data = bytearray(path.read_bytes())
    at = data.index(b'"outcome":"') + len(b'"outcome":"')
    data[at] ^= 0x20  # "forwarded" -> "Forwarded", say
    path.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["audit", "verify", str(path)]) == 1
    assert "BROKEN: first broken link at line 1 (entry 0)" in capsys.readouterr().out


def test_a_proof_checks_with_the_key_set_alone(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = copy / "relay-USA.jsonl"
    msg_id = json.loads(log.read_bytes().splitlines()[150])["msg_id"]
    proof = tmp_path / "proof.json"
    assert main(["audit", "prove", str(log), msg_id, "--out", str(proof)]) == 0
    # Only the proof and the public key set, nothing of the log.
    keyset = tmp_path / KEYSET_FILE
    shutil.copy(copy / KEYS_DIR / KEYSET_FILE, keyset)
    shutil.rmtree(copy)
    assert main(["audit", "check-proof", str(proof), "--keyset", str(keyset)]) == 0
    assert "valid" in capsys.readouterr().out

    doc = json.loads(proof.read_text())
    assert doc["entry"]["msg_id"] == msg_id
    doc["audit_path"][0] = doc["audit_path"][0][::-1]
    proof.write_text(json.dumps(doc))
    assert main(["audit", "check-proof", str(proof), "--keyset", str(keyset)]) == 1
    assert "invalid: audit path" in capsys.readouterr().out


def test_prove_by_index_to_stdout_and_unknown_ids(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = str(data_dir / "relay-USA.jsonl")
    capsys.readouterr()
    assert main(["audit", "prove", log, "7"]) == 0
    assert json.loads(capsys.readouterr().out)["leaf_index"] == 7
    assert main(["audit", "prove", log, "ff" * 16]) == 2
    assert main(["audit", "prove", log, "999999"]) == 2
