"""The audit log's hash chain: persists, reopens, and shows the first broken link."""

from __future__ import annotations

from pathlib import Path

import pytest

from warnlink.cli import main
from warnlink.errors import StoreError
from warnlink.sharing.audit import AuditLog, DecisionRecord, first_broken, read_entries


def _record(i: int) -> DecisionRecord:
    return DecisionRecord(
        time=i,
        decider="USA",
        msg_id=f"{i:032x}",
        originator="ROK",
        kind="track_report",
        recipient="JPN",
        outcome="redacted",
        reason="fields_withheld",
        content_sha256="ab" * 32,
        withheld=("sensor",),
        product_id=f"{i + 1:032x}",
    )


def _log(path: Path, n: int) -> None:
    log = AuditLog(path)
    for i in range(n):
        log.append(_record(i))
    log.close()


def test_chain_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 3)
    reopened = AuditLog(path)
    reopened.append(_record(3))
    reopened.close()
    entries = list(read_entries(path))
    assert [e.index for e in entries] == [0, 1, 2, 3]
    assert first_broken(entries) is None


@pytest.mark.parametrize(
    ("old", "new"),
    [(b'"JPN"', b'"ROK"'), (b'"redacted"', b'"forwarded"'), (b'"time":1', b'"time":9')],
)
def test_any_edit_breaks_the_chain(tmp_path: Path, old: bytes, new: bytes) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 4)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(old, new, 1)
    path.write_bytes(b"".join(lines))
    assert first_broken(list(read_entries(path))) == 1
    assert main(["audit", "verify", str(path)]) == 1


def test_removed_entry_breaks_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 4)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))
    assert first_broken(list(read_entries(path))) == 2


def test_verify_cli_on_intact_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path, 2)
    assert main(["audit", "verify", str(path)]) == 0
    assert "chain intact" in capsys.readouterr().out


def test_garbage_line_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"not json\n")
    with pytest.raises(StoreError, match=":1:"):
        list(read_entries(path))
