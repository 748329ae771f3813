"""Sources in the NATS servers' configurations: an account each, importing its ingest subject."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import msgspec
import pytest

from warnlink.security.certs import CERTS_DIR, init_certs, source_user
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import plan_topology, server_config_path
from warnlink.sources.admin import add_source, revoke_source
from warnlink.sources.nats_accounts import add_sources, running_server, with_sources
from warnlink.sources.registry import SourceEntry

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
T0 = 1_800_000_000_000_000_000


@pytest.fixture(scope="module")
def federation() -> Federation:
    return load_federation(SCENARIOS / "trilateral.toml")


def _entry(name: str, party: str = "ROK", *, revoked: bool = False) -> SourceEntry:
    return SourceEntry(
        name=name,
        party=party,
        serial="ab12",
        fingerprint="0" * 64,
        added_ns=T0,
        revoked_ns=T0 + 1 if revoked else None,
    )


def _config() -> dict[str, object]:
    return {"port": 4222, "accounts": {"ROK": {"jetstream": "enabled", "users": []}}}


def test_each_live_source_gets_an_account_that_can_only_ask_for_ingest() -> None:
    config = _config()
    before = copy.deepcopy(config)
    result = with_sources(config, "ROK", [_entry("radar.1"), _entry("old", revoked=True)])
    assert config == before  # a copy was changed
    accounts = result["accounts"]
    assert sorted(accounts) == ["ROK", "SRC-ROK-radar.1"]
    assert accounts["ROK"]["exports"] == [
        {"service": "ingest.missiletrack.radar.1", "accounts": ["SRC-ROK-radar.1"]}
    ]
    assert accounts["SRC-ROK-radar.1"] == {
        "users": [
            {
                "user": source_user("ROK", "radar.1", "ab12"),
                "permissions": {
                    "publish": {"allow": ["ingest.missiletrack"]},
                    "subscribe": {"allow": ["_INBOX.>"]},
                },
            }
        ],
        "imports": [
            {
                "service": {"account": "ROK", "subject": "ingest.missiletrack.radar.1"},
                "to": "ingest.missiletrack",
            }
        ],
    }
    assert result["port"] == 4222


def test_a_source_no_longer_live_loses_its_account_and_export() -> None:
    with_one = with_sources(_config(), "ROK", [_entry("radar")])
    without = with_sources(with_one, "ROK", [_entry("radar", revoked=True)])
    assert without == _config()


def test_another_partys_sources_stay_out() -> None:
    result = with_sources(_config(), "ROK", [_entry("radar", party="JPN")])
    assert result == _config()


def test_up_writes_the_registered_sources_into_each_server(
    federation: Federation, tmp_path: Path
) -> None:
    init_certs(tmp_path / CERTS_DIR, federation.parties)
    add_source(tmp_path, "ROK", "radar", now_ns=T0)
    add_source(tmp_path, "JPN", "c2", now_ns=T0)
    revoke_source(tmp_path, "JPN", "c2", now_ns=T0 + 1)
    topology = plan_topology(federation, tmp_path, certs=tmp_path / CERTS_DIR)
    add_sources(topology)
    topology.write()
    written = {
        p: msgspec.json.decode(server_config_path(tmp_path, p).read_bytes())
        for p in federation.parties
    }
    assert sorted(written["ROK"]["accounts"]) == ["ROK", "SRC-ROK-radar"]
    assert sorted(written["JPN"]["accounts"]) == ["JPN"]
    assert "exports" not in written["JPN"]["accounts"]["JPN"]
    assert written["ROK"]["tls"]["verify_and_map"] is True
    assert written["ROK"]["pid_file"] == str(tmp_path / "ROK" / "nats.pid")


def test_without_certificates_no_source_is_written(federation: Federation, tmp_path: Path) -> None:
    init_certs(tmp_path / CERTS_DIR, ["ROK"])
    add_source(tmp_path, "ROK", "radar", now_ns=T0)
    topology = plan_topology(federation, tmp_path)  # no TLS: no certificate to map
    add_sources(topology)
    assert sorted(topology.servers["ROK"].config["accounts"]) == ["ROK"]


def test_a_pid_file_of_no_running_server_names_none(tmp_path: Path) -> None:
    assert running_server(tmp_path, "ROK") is None
    pid_file = tmp_path / "ROK" / "nats.pid"
    pid_file.parent.mkdir()
    pid_file.write_text("not a pid")
    assert running_server(tmp_path, "ROK") is None
    pid_file.write_text("999999999")  # beyond any pid
    assert running_server(tmp_path, "ROK") is None
    pid_file.write_text(str(os.getpid()))  # alive, but no server of this configuration
    assert running_server(tmp_path, "ROK") is None
