"""The source registry: adding and revoking, the file a node follows, and who a certificate is."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from warnlink.errors import ConfigError, IngestError
from warnlink.model.record import DataMode
from warnlink.security.certs import CERTS_DIR, init_certs, party_certs
from warnlink.sources.admin import add_source, revoke_source
from warnlink.sources.base import REASONS
from warnlink.sources.registry import (
    DEFAULT_INTERVAL_S,
    SourceRegistry,
    read_registry,
    registry_path,
)

T0 = 1_800_000_000_000_000_000  # 2027-01-15, UTC ns


@pytest.fixture
def data(tmp_path: Path) -> Path:
    init_certs(tmp_path / CERTS_DIR, ["ROK", "JPN"], links=[("ROK", "JPN")])
    return tmp_path


def _der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)


def _refused(registry: SourceRegistry, der: bytes | None) -> str:
    with pytest.raises(IngestError) as refused:
        registry.authenticate(der)
    assert refused.value.reason in REASONS
    assert refused.value.party == registry.party
    return refused.value.reason


def test_adding_issues_a_certificate_and_registers_it(data: Path) -> None:
    change = add_source(data, "ROK", "c2.radar-1", now_ns=T0, interval_s=2.5)
    assert change.cert is not None
    assert change.key is not None
    assert change.reloaded is False  # no server was ever started on this folder
    (entry,) = read_registry(data, "ROK")
    assert entry == change.entry
    assert (entry.name, entry.party, entry.added_ns, entry.interval_s) == (
        "c2.radar-1",
        "ROK",
        T0,
        2.5,
    )
    assert (entry.data_mode, entry.revoked_ns, entry.live) == (DataMode.REAL, None, True)
    certificate = x509.load_pem_x509_certificate(change.cert.read_bytes())
    assert entry.serial == f"{certificate.serial_number:x}"
    assert certificate.not_valid_before_utc.timestamp() < T0 / 1e9  # valid from the addition
    assert read_registry(data, "JPN") == ()
    assert not list(registry_path(data, "ROK").parent.glob(".*.tmp"))  # renamed into place


def test_the_registry_file_is_plain_json_a_person_can_read(data: Path) -> None:
    add_source(data, "ROK", "radar", now_ns=T0, data_mode=DataMode.EXERCISE)
    written = msgspec.json.decode(registry_path(data, "ROK").read_bytes())
    assert written["party"] == "ROK"
    assert written["version"] == 1
    (entry,) = written["sources"]
    assert set(entry) == {
        "name",
        "party",
        "serial",
        "fingerprint",
        "added_ns",
        "interval_s",
        "data_mode",
        "revoked_ns",
    }
    assert (entry["interval_s"], entry["data_mode"]) == (DEFAULT_INTERVAL_S, "EXERCISE")


@pytest.mark.parametrize(
    ("party", "name", "interval", "said"),
    [
        ("ROK", "a..b", 5.0, "cannot name a source"),
        ("ROK", "ends.", 5.0, "cannot name a source"),
        ("ROK", ".starts", 5.0, "cannot name a source"),
        ("ROK", "has space", 5.0, "cannot name a source"),
        ("ROK", "x" * 65, 5.0, "cannot name a source"),
        ("ROK", "ok", 0.0, "interval must be over 0"),
        ("ROK", "ok", 86_401.0, "interval must be over 0"),
        ("rok", "ok", 5.0, "not a party code"),
        ("../ROK", "ok", 5.0, "not a party code"),
        ("USA", "ok", 5.0, "USA has no certificate authority"),
    ],
)
def test_a_bad_addition_is_a_config_error_and_changes_nothing(
    data: Path, party: str, name: str, interval: float, said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        add_source(data, party, name, now_ns=T0, interval_s=interval)
    assert not (data / "USA").exists()
    assert read_registry(data, "ROK") == ()


def test_a_live_name_is_not_issued_twice_but_a_revoked_one_is_issued_anew(data: Path) -> None:
    first = add_source(data, "ROK", "radar", now_ns=T0)
    with pytest.raises(ConfigError, match="already has a live source 'radar': revoke it first"):
        add_source(data, "ROK", "radar", now_ns=T0 + 1)
    revoked = revoke_source(data, "ROK", "radar", now_ns=T0 + 2)
    assert revoked.entry.revoked_ns == T0 + 2
    assert revoked.cert is None
    with pytest.raises(ConfigError, match="has no live source 'radar'"):
        revoke_source(data, "ROK", "radar", now_ns=T0 + 3)
    second = add_source(data, "ROK", "radar", now_ns=T0 + 4)
    assert second.entry.serial != first.entry.serial
    assert [(e.serial, e.live) for e in read_registry(data, "ROK")] == [
        (first.entry.serial, False),  # kept, stamped: the history of the name
        (second.entry.serial, True),
    ]


def test_concurrent_additions_are_all_kept(data: Path) -> None:
    names = [f"radar-{i}" for i in range(8)]
    threads = [
        threading.Thread(target=add_source, args=(data, "ROK", n), kwargs={"now_ns": T0})
        for n in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.name for e in read_registry(data, "ROK")) == names


def test_a_certificate_is_authenticated_as_its_live_source(data: Path) -> None:
    registry = SourceRegistry(data, "ROK")
    change = add_source(data, "ROK", "radar", now_ns=T0)
    assert change.cert is not None
    assert registry.authenticate(_der(change.cert)) == change.entry
    assert registry.source("radar") == change.entry


def test_who_is_refused_and_why(data: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    strangers = tmp_path_factory.mktemp("strangers")
    init_certs(strangers, ["ROK"])
    registry = SourceRegistry(data, "ROK")
    rok = party_certs(data / CERTS_DIR, "ROK")
    jpn_source = add_source(data, "JPN", "radar", now_ns=T0).cert
    assert jpn_source is not None
    assert _refused(registry, None) == "unauthenticated"
    assert _refused(registry, b"not a certificate") == "unauthenticated"
    assert _refused(registry, _der(jpn_source)) == "unauthenticated"  # another party's CA
    stranger = party_certs(strangers, "ROK").cert("node")  # same names, another key
    assert _refused(registry, _der(stranger)) == "unauthenticated"
    assert _refused(registry, _der(rok.cert("operator"))) == "unregistered"  # not a source
    assert _refused(registry, _der(rok.ca)) == "unregistered"
    with pytest.raises(IngestError) as unknown:
        registry.source("radar")  # JPN's source has no entry at ROK
    assert unknown.value.reason == "unregistered"


def test_a_revocation_holds_at_the_next_call_without_a_new_reader(data: Path) -> None:
    registry = SourceRegistry(data, "ROK")
    change = add_source(data, "ROK", "radar", now_ns=T0)
    assert change.cert is not None
    der = _der(change.cert)
    assert registry.authenticate(der).live
    revoke_source(data, "ROK", "radar", now_ns=T0 + 1)
    assert _refused(registry, der) == "revoked"
    with pytest.raises(IngestError) as revoked:
        registry.source("radar")
    assert revoked.value.reason == "revoked"
    renewed = add_source(data, "ROK", "radar", now_ns=T0 + 2)
    assert renewed.cert is not None
    assert registry.source("radar") == renewed.entry
    assert registry.authenticate(_der(renewed.cert)) == renewed.entry
    assert _refused(registry, der) == "revoked"  # the old certificate stays revoked


def test_the_file_is_read_again_only_when_it_changes(data: Path) -> None:
    add_source(data, "ROK", "radar", now_ns=T0)
    registry = SourceRegistry(data, "ROK")
    first = registry.entries()
    assert registry.entries() is first  # nothing changed: nothing read
    os.utime(registry.path)  # touched: read again, same content
    assert registry.entries() == first


def test_a_damaged_file_leaves_the_last_good_list_in_force(data: Path) -> None:
    add_source(data, "ROK", "radar", now_ns=T0)
    registry = SourceRegistry(data, "ROK")
    good = registry.live()
    registry.path.write_text('{"party": "ROK", "sources": [{"name": 3}]}')
    assert registry.live() == good
    assert registry.problem is not None
    assert "does not decode" in registry.problem
    registry.path.write_text(msgspec.json.encode({"party": "JPN", "sources": []}).decode())
    assert registry.live() == good
    assert "not ROK's" in (registry.problem or "")
    registry.path.write_text("{")
    with pytest.raises(ConfigError, match="does not decode"):
        read_registry(data, "ROK")


def test_no_file_is_no_sources(tmp_path: Path) -> None:
    registry = SourceRegistry(tmp_path, "ROK")
    assert registry.entries() == ()
    with pytest.raises(IngestError) as refused:
        registry.source("radar")
    assert refused.value.reason == "unregistered"
