"""X.509 certificates for mutual TLS: one certificate authority per party.

`init_certs` (``warnlink certs init``) writes, for every party P, a folder ``DIR/P/``::

    ca.pem                 P's certificate authority (self-signed, path length 0)
    ca.key                 its private key (keep it offline in a real deployment)
    server.pem, .key       P's NATS server (and web API) on client connections: serverAuth
    node.pem, .key         P's node as a client of P's server: clientAuth
    relay.pem, .key        P's relay as a client of P's server: clientAuth
    leaf.pem, .key         P's server on leaf-node links, both ends: serverAuth + clientAuth
    trust.pem              P's CA and the CAs of P's link peers (for leaf links)

`issue_source_cert` (``warnlink sources add``) adds, later and one at a time, a national
source's client certificate: ``DIR/P/sources/<name>-<serial>.pem`` and ``.key``. Its
subject names the source and that very certificate (``O=P, OU=source, CN=<name>,
serialNumber=<serial>``), so a NATS server mapping certificates to users
(`source_user`) can tell a reissued certificate of the same source from a revoked one.

Keys are ECDSA P-256 (Go, OpenSSL and browsers all accept them; Chromium refuses Ed25519
certificates), PKCS#8 PEM, mode 0o600. Every certificate names ``localhost``,
``127.0.0.1`` and the given hosts as subject alternative names, is valid for a year
and has a random serial number.

A party's own clients are verified against its own CA only (``ca.pem``): a peer's
certificate opens no client connection. Leaf links cross parties, so they are verified
against ``trust.pem``.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from warnlink.errors import ConfigError

#: The roles that connect to their party's server as clients.
#: Client certificates per party: its node's and relay's NATS connections, and its
#: duty officers' browsers on its display (``operator``).
CLIENT_ROLES: Final = ("node", "relay", "operator")
#: The folder, inside a demo or deployment data folder, that `init_certs` fills.
CERTS_DIR: Final = "certs"
#: The organizational unit of every source certificate's subject.
SOURCE_UNIT: Final = "source"
VALIDITY: Final = datetime.timedelta(days=365)
DEFAULT_HOSTS: Final = ("localhost", "127.0.0.1")
_EXISTS: Final = "a certificate file already exists; refusing to overwrite it"


@dataclass(frozen=True, slots=True)
class PartyCerts:
    """The paths of one party's certificate files (see the module docstring)."""

    party: str
    folder: Path

    @property
    def ca(self) -> Path:
        return self.cert("ca")

    @property
    def trust(self) -> Path:
        return self.folder / "trust.pem"

    def cert(self, name: str) -> Path:
        """The certificate of `name`: ``server``, ``leaf`` or a client role."""
        return self.folder / f"{name}.pem"

    def key(self, name: str) -> Path:
        """The private key of `name`."""
        return self.folder / f"{name}.key"

    @property
    def sources(self) -> Path:
        """The folder of the party's source certificates (`issue_source_cert`)."""
        return self.folder / "sources"

    def files(self) -> list[Path]:
        """Every file `init_certs` writes for this party."""
        names = ("ca", "server", "leaf", *CLIENT_ROLES)
        return [*(f(n) for n in names for f in (self.cert, self.key)), self.trust]


def party_certs(folder: Path, party: str) -> PartyCerts:
    """Where `party`'s files are in a folder made by `init_certs`."""
    return PartyCerts(party, folder / party)


@dataclass(frozen=True, slots=True)
class CertSet:
    """What `init_certs` wrote: the folder and each party's files."""

    folder: Path
    parties: dict[str, PartyCerts]

    def written(self) -> list[Path]:
        """Every file written, party by party."""
        return [path for certs in self.parties.values() for path in certs.files()]


def init_certs(
    folder: Path,
    parties: Iterable[str],
    *,
    links: Iterable[tuple[str, str]] = (),
    hosts: Sequence[str] = DEFAULT_HOSTS,
    now: datetime.datetime | None = None,
) -> CertSet:
    """Create every party's CA, server, client and leaf certificates in `folder`.

    Args:
        folder: the certificate folder; one subfolder per party.
        parties: the party codes.
        links: the pairs of parties linked to each other: each trusts the other's CA
            on leaf links (``trust.pem``).
        hosts: DNS names or IP addresses the servers are reached at, besides loopback.
        now: the start of validity (the current time by default).

    Raises:
        ConfigError: a file to be written already exists, or a party in `links` is unknown.
    """
    codes = sorted(set(parties))
    peers: dict[str, set[str]] = {p: set() for p in codes}
    for a, b in links:
        if a not in peers or b not in peers:
            raise ConfigError(f"link {a}-{b} names a party that has no certificates")
        peers[a].add(b)
        peers[b].add(a)
    names = [*DEFAULT_HOSTS, *(h for h in hosts if h not in DEFAULT_HOSTS)]
    start = now if now is not None else datetime.datetime.now(datetime.UTC)
    files = {p: party_certs(folder, p) for p in codes}
    for path in (path for certs in files.values() for path in certs.files()):
        if path.exists():
            raise ConfigError(_EXISTS, path=str(path))
    authorities = {p: _Authority.create(p, start) for p in codes}
    for party, certs in files.items():
        certs.folder.mkdir(parents=True, exist_ok=True)
        ca = authorities[party]
        _write_pair(certs, "ca", ca.key, ca.certificate)
        server_usage = [ExtendedKeyUsageOID.SERVER_AUTH]
        _write_pair(certs, "server", *ca.issue(f"{party} server", names, server_usage, start))
        both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        _write_pair(certs, "leaf", *ca.issue(f"{party} leaf", names, both, start))
        for role in CLIENT_ROLES:
            client_usage = [ExtendedKeyUsageOID.CLIENT_AUTH]
            _write_pair(certs, role, *ca.issue(f"{party} {role}", names, client_usage, start))
        bundle = [authorities[p].certificate for p in [party, *sorted(peers[party])]]
        _write_new(certs.trust, b"".join(_pem(c) for c in bundle), mode=0o644)
    return CertSet(folder, files)


@dataclass(frozen=True, slots=True)
class SourceCert:
    """A source certificate `issue_source_cert` wrote.

    Attributes:
        cert, key: its files (the key is owner-only).
        serial: its serial number, lower-case hex.
        fingerprint: SHA-256 of its DER form, lower-case hex.
    """

    cert: Path
    key: Path
    serial: str
    fingerprint: str


def issue_source_cert(
    folder: Path, party: str, name: str, *, now: datetime.datetime | None = None
) -> SourceCert:
    """Issue a client certificate of `party`'s CA to the national source `name`.

    The certificate serves clientAuth only and names no host: a source is a client.
    Its subject is ``O=<party>, OU=source, CN=<name>, serialNumber=<serial>``.

    Args:
        folder: the certificate folder made by `init_certs` (it holds ``<party>/ca.key``).
        party: the source's party.
        name: the source's name (`model.record.SourceName`; checked by the caller).
        now: the start of validity (the current time by default).

    Raises:
        ConfigError: the party has no CA in `folder` (run ``warnlink certs init`` or
            ``warnlink up`` first), or its files cannot be read or written.
    """
    certs = party_certs(folder, party)
    authority = _Authority.load(certs)
    start = now if now is not None else datetime.datetime.now(datetime.UTC)
    serial = x509.random_serial_number()
    subject = source_subject(party, name, serial)
    key, certificate = authority.sign(
        subject, serial, [ExtendedKeyUsageOID.CLIENT_AUTH], None, start
    )
    base = certs.sources / f"{name}-{serial:x}"
    try:
        certs.sources.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot make {certs.sources}: {exc}") from exc
    cert_path, key_path = base.with_name(base.name + ".pem"), base.with_name(base.name + ".key")
    _write_new(key_path, _private_pem(key), mode=0o600)
    _write_new(cert_path, _pem(certificate), mode=0o644)
    return SourceCert(cert_path, key_path, f"{serial:x}", fingerprint(certificate))


def check_authority(folder: Path, party: str) -> None:
    """Raise a ConfigError unless `folder` holds `party`'s CA and its key."""
    certs = party_certs(folder, party)
    if not certs.key("ca").exists():
        raise ConfigError(
            f"{party} has no certificate authority in {folder}: run `warnlink certs init` "
            "or `warnlink up` on this data folder first",
            path=str(certs.key("ca")),
        )


def source_subject(party: str, name: str, serial: int) -> x509.Name:
    """The subject of source `name`'s certificate with serial number `serial`."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, party),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, SOURCE_UNIT),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"{serial:x}"),
        ]
    )


def client_user(party: str, role: str) -> str:
    """The NATS user `party`'s `role` certificate maps to (``verify_and_map``)."""
    return f"CN={party} {role},O={party}"


def source_user(party: str, name: str, serial: str) -> str:
    """The NATS user a source certificate maps to (``verify_and_map``).

    nats-server names a certificate's user by its subject as RFC 4514 writes it (the
    last attribute first), e.g. ``SERIALNUMBER=1f...,CN=radar-1,OU=source,O=ROK``.
    """
    return f"SERIALNUMBER={serial},CN={name},OU={SOURCE_UNIT},O={party}"


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER form, lower-case hex."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def load_ca(folder: Path, party: str) -> x509.Certificate:
    """`party`'s CA certificate from a folder made by `init_certs`.

    Raises:
        ConfigError: there is none, or it cannot be read.
    """
    path = party_certs(folder, party).ca
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {party}'s CA certificate: {exc}", path=str(path)) from exc


def client_ssl_context(folder: Path, party: str, role: str) -> ssl.SSLContext:
    """A TLS client context for `party`'s `role`: its certificate, verifying the server.

    The server must present a certificate from `party`'s own CA (TLS 1.2 at least).

    Raises:
        ConfigError: the role is unknown or the files cannot be loaded.
    """
    if role not in CLIENT_ROLES:
        raise ConfigError(f"no client certificate for role {role!r}; roles: {CLIENT_ROLES}")
    certs = party_certs(folder, party)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return _load(context, certs, role)


def server_ssl_context(folder: Path, party: str) -> ssl.SSLContext:
    """A TLS server context for `party`: its server certificate, client certificates required.

    Clients must present a certificate from `party`'s own CA (TLS 1.2 at least).

    Raises:
        ConfigError: the files cannot be loaded.
    """
    certs = party_certs(folder, party)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.verify_mode = ssl.CERT_REQUIRED
    return _load(context, certs, "server")


def _load(context: ssl.SSLContext, certs: PartyCerts, name: str) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certs.cert(name), certs.key(name))
        context.load_verify_locations(cafile=certs.ca)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load {certs.party}'s {name} certificate: {exc}", path=str(certs.folder)
        ) from exc
    return context


@dataclass(frozen=True, slots=True)
class _Authority:
    party: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def load(cls, certs: PartyCerts) -> _Authority:
        """The CA `init_certs` wrote for `certs.party`."""
        check_authority(certs.folder.parent, certs.party)
        try:
            key = serialization.load_pem_private_key(certs.key("ca").read_bytes(), None)
            certificate = x509.load_pem_x509_certificate(certs.ca.read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"cannot read {certs.party}'s certificate authority: {exc}", path=str(certs.folder)
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigError(f"{certs.party}'s CA key is not ECDSA", path=str(certs.key("ca")))
        return cls(certs.party, key, certificate)

    @classmethod
    def create(cls, party: str, start: datetime.datetime) -> _Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(party, f"{party} warnlink CA")
        certificate = (
            _builder(name, name, key.public_key(), start)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signing=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(party, key, certificate)

    def issue(
        self,
        common_name: str,
        hosts: Sequence[str],
        usages: list[x509.ObjectIdentifier],
        start: datetime.datetime,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        subject = _name(self.party, common_name)
        return self.sign(subject, x509.random_serial_number(), usages, hosts, start)

    def sign(
        self,
        subject: x509.Name,
        serial: int,
        usages: list[x509.ObjectIdentifier],
        hosts: Sequence[str] | None,
        start: datetime.datetime,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A new key and its end-entity certificate; `hosts` None: no alternative names."""
        key = ec.generate_private_key(ec.SECP256R1())
        ca_public = self.certificate.public_key()
        assert isinstance(ca_public, ec.EllipticCurvePublicKey)
        builder = (
            _builder(self.certificate.subject, subject, key.public_key(), start, serial)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
            )
        )
        if hosts is not None:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(_alt_names(hosts)), critical=False
            )
        return key, builder.sign(self.key, hashes.SHA256())


def _name(party: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, party),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    issuer: x509.Name,
    subject: x509.Name,
    public: ec.EllipticCurvePublicKey,
    start: datetime.datetime,
    serial: int | None = None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .issuer_name(issuer)
        .subject_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number() if serial is None else serial)
        .not_valid_before(start - datetime.timedelta(minutes=5))  # tolerate clock skew
        .not_valid_after(start + VALIDITY)
    )


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    """Key usage: an end entity's ECDSA key signs the handshake; a CA's signs certificates.

    ECDSA keys do not encipher keys (that is RSA key transport), so no keyEncipherment.
    """
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def _alt_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_pair(
    certs: PartyCerts, name: str, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
) -> None:
    _write_new(certs.key(name), _private_pem(key), mode=0o600)
    _write_new(certs.cert(name), _pem(certificate), mode=0o644)


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise ConfigError(_EXISTS, path=str(path)) from exc
    with os.fdopen(fd, "wb") as out:
        out.write(data)
