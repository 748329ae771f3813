"""`warnlink sources add|revoke|list`: what each prints, and its typed errors (exit 2)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509

from warnlink.cli import main
from warnlink.security.certs import CERTS_DIR, init_certs
from warnlink.sources.registry import read_registry


@pytest.fixture
def data(tmp_path: Path) -> Path:
    init_certs(tmp_path / CERTS_DIR, ["ROK", "JPN"])
    return tmp_path


def test_add_with_json_prints_only_the_certificate_and_key_paths(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["sources", "add", "ROK", "c2-radar", "--data", str(data), "--json"])
    out = capsys.readouterr().out
    assert status == 0
    printed = json.loads(out)
    assert list(printed) == ["cert", "key"]
    assert out == json.dumps(printed) + "\n"  # one line, nothing else
    cert = x509.load_pem_x509_certificate(Path(printed["cert"]).read_bytes())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "c2-radar"
    assert stat.S_IMODE(Path(printed["key"]).stat().st_mode) == 0o600


def test_add_revoke_and_list_for_people(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(data)
    assert main(["sources", "add", "ROK", "radar", "--data", folder, "--interval", "2"]) == 0
    added = capsys.readouterr().out
    assert added.startswith("ROK source radar: certificate ")
    assert "(private, mode 600)" in added
    assert "on NATS from the next `warnlink up`" in added  # no server runs
    assert main(["sources", "add", "ROK", "tak", "--data", folder, "--mode", "EXERCISE"]) == 0
    assert main(["sources", "revoke", "ROK", "radar", "--data", folder]) == 0
    capsys.readouterr()
    assert main(["sources", "list", "ROK", "--data", folder]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("radar: revoked 20")
    assert "every 2 s, REAL" in lines[0]
    assert lines[1].startswith("tak: live; added 20")
    assert "EXERCISE" in lines[1]
    assert main(["sources", "list", "ROK", "--data", folder, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["revoked_ns"] is None) for e in listed] == [
        ("radar", False),
        ("tak", True),
    ]
    assert main(["sources", "list", "JPN", "--data", folder]) == 0
    assert "JPN has no sources" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["add", "USA", "radar"], "USA has no certificate authority"),
        (["add", "ROK", "a..b"], "cannot name a source"),
        (["add", "ROK", "radar", "--interval", "-1"], "interval must be over 0"),
        (["revoke", "ROK", "nobody"], "ROK has no live source 'nobody'"),
        (["list", "rok"], "not a party code"),
    ],
)
def test_errors_are_told_and_exit_2(
    data: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert main(["sources", *argv, "--data", str(data)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert said in captured.err
    assert read_registry(data, "ROK") == ()


def test_a_second_live_certificate_for_one_name_is_refused(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", "ROK", "radar", "--data", str(data), "--json"]) == 0
    capsys.readouterr()
    assert main(["sources", "add", "ROK", "radar", "--data", str(data), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "revoke it first" in captured.err
