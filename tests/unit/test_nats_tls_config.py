"""Mutual TLS in the generated server configurations, and how refused handshakes are told."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from warnlink.security.certs import init_certs, party_certs
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import plan_topology
from warnlink.transport.nats import tls_refusal

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def federation() -> Federation:
    return load_federation(SCENARIOS / "trilateral.toml")


def test_with_certificates_every_client_and_leaf_connection_is_verified(
    federation: Federation, tmp_path: Path
) -> None:
    certs = tmp_path / "certs"
    init_certs(certs, federation.parties, links=[link.parties for link in federation.links])
    topology = plan_topology(federation, tmp_path, certs=certs)
    for party, plan in topology.servers.items():
        mine = party_certs(certs, party)
        clients = plan.config["tls"]
        assert (clients["cert_file"], clients["ca_file"]) == (
            str(mine.cert("server")),
            str(mine.ca),  # a party's own clients only
        )
        assert clients["verify"] is True
        leafnodes = plan.config["leafnodes"]
        if plan.leaf_port is not None:  # a hub: its listener verifies the spokes
            assert leafnodes["tls"]["verify"] is True
            assert leafnodes["tls"]["ca_file"] == str(mine.trust)
        for remote in leafnodes.get("remotes", []):
            assert remote["tls"]["cert_file"] == str(mine.cert("leaf"))
            assert remote["tls"]["ca_file"] == str(mine.trust)
        assert topology.access[party].certs == certs
    assert [p for p, s in topology.servers.items() if "remotes" in s.config["leafnodes"]] == [
        "JPN",
        "ROK",
    ]


def test_without_certificates_nothing_is_tls(federation: Federation, tmp_path: Path) -> None:
    topology = plan_topology(federation, tmp_path)
    for plan in topology.servers.values():
        assert "tls" not in plan.config
        assert "tls" not in plan.config["leafnodes"]
        assert all("tls" not in r for r in plan.config["leafnodes"].get("remotes", []))


def _ssl_error(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower().replace('_', ' ')}")
    error.reason = reason
    return error


def _verify_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "unable to get local issuer certificate"
    return error


@pytest.mark.parametrize(
    ("error", "tls_configured", "first", "told"),
    [
        (_ssl_error("TLSV13_ALERT_CERTIFICATE_REQUIRED"), True, True, "certificate required"),
        (_ssl_error("TLSV1_ALERT_UNKNOWN_CA"), True, False, "refused this client's certificate"),
        (BrokenPipeError(32, "Broken pipe"), True, True, "closed the connection"),
        (BrokenPipeError(32, "Broken pipe"), True, False, None),  # after a refused password
        (ConnectionResetError("lost"), False, True, None),  # no TLS: just a dropped line
        (ConnectionRefusedError(111, "refused"), True, True, None),  # no server yet
        (_verify_error(), False, True, "requires TLS"),
        (_verify_error(), True, True, "server's certificate does not verify"),
    ],
)
def test_a_refused_handshake_is_told_apart_from_other_failures(
    error: Exception, tls_configured: bool, first: bool, told: str | None
) -> None:
    reason = tls_refusal(error, tls_configured=tls_configured, first=first)
    if told is None:
        assert reason is None
    else:
        assert reason is not None
        assert told in reason
