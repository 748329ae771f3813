"""Certificates for mutual TLS: what `init_certs` writes, and contexts that refuse strangers."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ssl
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from warnlink.cli import main
from warnlink.errors import ConfigError
from warnlink.security.certs import (
    CLIENT_ROLES,
    client_ssl_context,
    init_certs,
    issue_source_cert,
    party_certs,
    server_ssl_context,
    source_user,
)

PARTIES = ("ROK", "JPN", "USA")
LINKS = (("ROK", "USA"), ("JPN", "USA"))
PATIENCE_S = 5.0  # a guard against a hang: a refusal comes at once


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    init_certs(folder, PARTIES, links=LINKS, hosts=("localhost", "127.0.0.1", "usa.example"))
    return folder


@pytest.fixture(scope="module")
def strangers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another set of CAs under the same party codes."""
    folder = tmp_path_factory.mktemp("strangers")
    init_certs(folder, PARTIES)
    return folder


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_each_party_gets_every_file_and_private_keys_are_owner_only(certs: Path) -> None:
    for party in PARTIES:
        files = party_certs(certs, party).files()
        assert sorted(p.name for p in (certs / party).iterdir()) == sorted(p.name for p in files)
        for path in files:
            mode = stat.S_IMODE(path.stat().st_mode)
            if path.suffix == ".key":
                assert mode == 0o600, path
            else:
                assert mode & 0o444 == 0o444, path  # certificates are public


def test_the_ca_signs_certificates_only_and_issues_every_certificate(certs: Path) -> None:
    files = party_certs(certs, "USA")
    ca = _load(files.ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert (constraints.value.ca, constraints.value.path_length) == (True, 0)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert (usage.value.key_cert_sign, usage.value.crl_sign) == (True, True)
    assert not usage.value.digital_signature
    for name in ("server", "leaf", *CLIENT_ROLES):
        cert = _load(files.cert(name))
        cert.verify_directly_issued_by(ca)
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_each_certificate_has_the_usage_of_its_role(certs: Path) -> None:
    files = party_certs(certs, "JPN")
    server, client = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    assert _usages(_load(files.cert("server"))) == {server}
    assert _usages(_load(files.cert("leaf"))) == {server, client}
    for role in CLIENT_ROLES:
        assert _usages(_load(files.cert(role))) == {client}
    alt = _load(files.cert("server")).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert alt.value.get_values_for_type(x509.DNSName) == ["localhost", "usa.example"]
    assert [str(ip) for ip in alt.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_serial_numbers_are_random_and_distinct(certs: Path) -> None:
    serials = [
        _load(party_certs(certs, p).cert(n)).serial_number
        for p in PARTIES
        for n in ("ca", "server", "leaf", *CLIENT_ROLES)
    ]
    assert len(set(serials)) == len(serials)
    assert all(s.bit_length() > 64 for s in serials)


def test_the_trust_bundle_holds_the_own_ca_and_the_link_peers_cas(certs: Path) -> None:
    def subjects(party: str) -> set[str]:
        bundle = x509.load_pem_x509_certificates(party_certs(certs, party).trust.read_bytes())
        return {c.subject.rfc4514_string() for c in bundle}

    def ca(party: str) -> str:
        return _load(party_certs(certs, party).ca).subject.rfc4514_string()

    assert subjects("ROK") == {ca("ROK"), ca("USA")}  # not JPN: no link
    assert subjects("JPN") == {ca("JPN"), ca("USA")}
    assert subjects("USA") == {ca(p) for p in PARTIES}


def test_existing_files_are_never_overwritten(certs: Path) -> None:
    before = party_certs(certs, "ROK").ca.read_bytes()
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        init_certs(certs, PARTIES)
    assert party_certs(certs, "ROK").ca.read_bytes() == before


def test_a_link_to_an_unknown_party_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KOR"):
        init_certs(tmp_path, PARTIES, links=[("KOR", "USA")])
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_role_or_a_missing_folder_is_a_config_error(certs: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="role 'leaf'"):
        client_ssl_context(certs, "ROK", "leaf")
    with pytest.raises(ConfigError, match="cannot load ROK's server certificate"):
        server_ssl_context(tmp_path, "ROK")


def test_cli_certs_init_writes_and_lists_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certs", "init", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    for line in ("USA: ", "node.key (private, mode 600)", "trust.pem"):
        assert line in out
    assert (tmp_path / "c" / "JPN" / "leaf.key").exists()
    assert main(["certs", "init", str(tmp_path / "c")]) == 2


# A TLS server with `server_ssl_context`, and clients with and without the right certificate.


@pytest.fixture
async def echo_server(certs: Path) -> AsyncIterator[tuple[int, list[str]]]:
    """USA's TLS server: answers ``pong`` and records the client's common name."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        seen.append(dict(x[0] for x in peer["subject"])["commonName"])
        await reader.readline()
        writer.write(b"pong\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(
        handle, "127.0.0.1", 0, ssl=server_ssl_context(certs, "USA")
    )
    yield server.sockets[0].getsockname()[1], seen
    server.close()
    await server.wait_closed()


async def _ping(port: int, context: ssl.SSLContext) -> bytes:
    async with asyncio.timeout(PATIENCE_S):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
        try:
            writer.write(b"ping\n")
            await writer.drain()
            return await reader.readline()
        finally:
            writer.close()


def _without_client_certificate(certs: Path, party: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(party_certs(certs, party).ca)
    return context


async def test_the_right_client_certificate_is_accepted(
    certs: Path, echo_server: tuple[int, list[str]]
) -> None:
    port, seen = echo_server
    assert await _ping(port, client_ssl_context(certs, "USA", "node")) == b"pong\n"
    assert seen == ["USA node"]


@pytest.mark.parametrize("who", ["a stranger CA's USA node", "ROK's node", "no certificate"])
async def test_other_clients_are_refused(
    certs: Path, strangers: Path, echo_server: tuple[int, list[str]], who: str
) -> None:
    port, seen = echo_server
    context = _without_client_certificate(certs, "USA")  # it trusts the server
    if who == "a stranger CA's USA node":
        usa = party_certs(strangers, "USA")
        context.load_cert_chain(usa.cert("node"), usa.key("node"))
    elif who == "ROK's node":  # a link peer's CA: trusted on leaf links, not here
        rok = party_certs(certs, "ROK")
        context.load_cert_chain(rok.cert("node"), rok.key("node"))
    # TLS 1.3: the client learns of the refusal on its first read, as an alert or a close.
    try:
        answer = await _ping(port, context)
    except (ssl.SSLError, ConnectionError) as exc:
        answer = repr(exc).encode()
    assert answer != b"pong\n"
    assert seen == []


async def test_the_client_refuses_a_server_of_another_ca(
    strangers: Path, echo_server: tuple[int, list[str]]
) -> None:
    port, seen = echo_server
    with pytest.raises(ssl.SSLCertVerificationError):
        await _ping(port, client_ssl_context(strangers, "USA", "node"))
    assert seen == []


def test_certificates_are_valid_for_a_year_from_the_given_time(tmp_path: Path) -> None:
    start = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    init_certs(tmp_path, ["ROK"], now=start)
    for name in ("ca", "server", "leaf", *CLIENT_ROLES):
        cert = _load(party_certs(tmp_path, "ROK").cert(name))
        assert cert.not_valid_after_utc == start + datetime.timedelta(days=365)
        assert start - datetime.timedelta(minutes=10) < cert.not_valid_before_utc <= start


# A national source's certificate (`warnlink sources add`).


def test_a_source_certificate_names_its_source_and_serves_client_auth_only(
    certs: Path,
) -> None:
    start = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    issued = issue_source_cert(certs, "JPN", "c2.radar-1", now=start)
    assert issued.cert.parent == party_certs(certs, "JPN").sources
    assert stat.S_IMODE(issued.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(issued.cert.stat().st_mode) == 0o644
    cert = _load(issued.cert)
    subject = {a.oid: a.value for a in cert.subject}
    assert subject == {
        NameOID.ORGANIZATION_NAME: "JPN",
        NameOID.ORGANIZATIONAL_UNIT_NAME: "source",
        NameOID.COMMON_NAME: "c2.radar-1",
        NameOID.SERIAL_NUMBER: f"{cert.serial_number:x}",  # this very certificate
    }
    assert issued.serial == f"{cert.serial_number:x}"
    assert issued.fingerprint == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    assert _usages(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    with pytest.raises(x509.ExtensionNotFound):  # a client: no host names
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    cert.verify_directly_issued_by(_load(party_certs(certs, "JPN").ca))
    with pytest.raises(ValueError, match="subject does not match"):
        cert.verify_directly_issued_by(_load(party_certs(certs, "ROK").ca))
    assert cert.not_valid_after_utc - cert.not_valid_before_utc > datetime.timedelta(days=365)
    key = serialization.load_pem_private_key(issued.key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.public_key() == cert.public_key()
    assert source_user("JPN", "c2.radar-1", issued.serial) == (
        f"SERIALNUMBER={issued.serial},CN=c2.radar-1,OU=source,O=JPN"
    )


def test_each_source_certificate_is_a_new_key_and_serial(certs: Path) -> None:
    first = issue_source_cert(certs, "ROK", "twice")
    second = issue_source_cert(certs, "ROK", "twice")
    assert first.serial != second.serial
    assert first.cert != second.cert
    assert first.key.read_bytes() != second.key.read_bytes()


def test_a_source_certificate_needs_its_partys_ca(certs: Path, tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"no certificate authority .*: run `warnlink certs init`"
    ):
        issue_source_cert(tmp_path, "ROK", "radar")
    with pytest.raises(ConfigError, match="FRA has no certificate authority"):
        issue_source_cert(certs, "FRA", "radar")
