"""The national sources registered with one party's node, and who a certificate names.

A party's sources are listed in its data folder, ``D/<PARTY>/sources.json``, written
only by `admin` (``warnlink sources add|revoke``) and always whole (a temporary file
renamed over it), so a reader sees the old list or the new one, never half of one.
Each entry names one certificate (`security.certs.issue_source_cert`): its serial and
the SHA-256 of its DER form. An entry is never deleted: revoking stamps it, and a
source given a new certificate gets a new entry under the same name, so at most one
entry per name is live.

The node reads the file through `SourceRegistry`, which looks at the file's identity
(inode, size, mtime) on every call and reads it again only when it changed: one
``stat`` per request, so ``sources revoke`` takes effect at the next request, without
a restart. A file that changed but does not decode (edited by hand) leaves the last
good list in force and is reported by `SourceRegistry.problem`; the tools never write
such a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from warnlink.errors import ConfigError, IngestError
from warnlink.model.label import PartyCode
from warnlink.model.record import DataMode, SourceName
from warnlink.security.certs import CERTS_DIR, load_ca, source_user

REGISTRY_FILE: Final = "sources.json"
#: How often a source is expected to send when it is added without ``--interval``, s.
DEFAULT_INTERVAL_S: Final = 5.0
#: The longest expected interval a source may be given, s (a day).
MAX_INTERVAL_S: Final = 86_400.0
FORMAT_VERSION: Final = 1
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SourceEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One certificate issued to one source of a party.

    Attributes:
        name: the source's name (its certificate's CN; what its health is shown under).
        party: the party it writes as.
        serial: its certificate's serial number, lower-case hex.
        fingerprint: SHA-256 of its certificate's DER form, lower-case hex.
        added_ns: when it was registered, UTC ns.
        interval_s: how often it is expected to send, s; silent after twice that.
        data_mode: the mode of what it sends when its input does not say (CoT).
        revoked_ns: when it was revoked, UTC ns; None while it is live.
    """

    name: SourceName
    party: PartyCode
    serial: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{1,40}$")]
    fingerprint: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    added_ns: int
    interval_s: Annotated[float, msgspec.Meta(gt=0.0, le=MAX_INTERVAL_S)] = DEFAULT_INTERVAL_S
    data_mode: DataMode = DataMode.REAL
    revoked_ns: int | None = None

    @property
    def live(self) -> bool:
        """Whether it has not been revoked."""
        return self.revoked_ns is None

    @property
    def nats_user(self) -> str:
        """The NATS user its certificate maps to (`security.certs.source_user`)."""
        return source_user(self.party, self.name, self.serial)


class RegistryFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``sources.json`` holds (docs/integration.md)."""

    party: PartyCode
    sources: tuple[SourceEntry, ...] = ()
    version: Annotated[int, msgspec.Meta(ge=FORMAT_VERSION, le=FORMAT_VERSION)] = FORMAT_VERSION


def registry_path(folder: Path, party: str) -> Path:
    """Where `party`'s sources are listed in the data folder `folder`."""
    return folder / party / REGISTRY_FILE


def check_source_name(name: str) -> str:
    """`name` if it can name a source, else a ConfigError saying why.

    A source name (`model.record.SourceName`) is also the last part of a NATS subject
    (``ingest.missiletrack.<name>``), so it has no empty dot-separated part.
    """
    if not _NAME.fullmatch(name) or ".." in name or name.endswith("."):
        raise ConfigError(
            f"{name!r} cannot name a source: 1 to 64 of A-Z a-z 0-9 _ . -, starting with a "
            "letter or digit, with no '..' and no '.' at the end"
        )
    return name


def read_registry(folder: Path, party: str) -> tuple[SourceEntry, ...]:
    """Every entry of `party`'s registry (none when it has no file yet).

    Raises:
        ConfigError: the file cannot be read or does not decode.
    """
    path = registry_path(folder, party)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise ConfigError(f"cannot read the source registry: {exc}", path=str(path)) from exc
    return _decode(data, party, path)


def write_registry(folder: Path, party: str, entries: tuple[SourceEntry, ...]) -> None:
    """Write `party`'s registry whole: a temporary file, flushed, renamed over the old one.

    Call it under `registry_lock`.
    """
    path = registry_path(folder, party)
    data = msgspec.json.format(msgspec.json.encode(RegistryFile(party, entries)), indent=2)
    write_atomically(path, data, mode=0o644)


def write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Replace `path` by `data` so readers see either the old or the new content."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise ConfigError(f"cannot write {path.name}: {exc}", path=str(path)) from exc


@contextlib.contextmanager
def registry_lock(folder: Path, party: str) -> Iterator[None]:
    """Hold `party`'s registry for one change (an exclusive lock on a file beside it).

    Two ``warnlink sources`` commands at once then change the registry, and the NATS
    server's configuration that follows it, one after the other.
    """
    path = registry_path(folder, party).with_suffix(".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot lock the source registry: {exc}", path=str(path)) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@dataclass(frozen=True, slots=True)
class _Seen:
    identity: tuple[int, int, int, int]  # device, inode, size, mtime ns
    entries: tuple[SourceEntry, ...]
    by_fingerprint: dict[str, SourceEntry]
    by_name: dict[str, tuple[SourceEntry, ...]]

    @classmethod
    def of(cls, identity: tuple[int, int, int, int], entries: tuple[SourceEntry, ...]) -> _Seen:
        by_name: dict[str, tuple[SourceEntry, ...]] = {}
        for entry in entries:
            by_name[entry.name] = (*by_name.get(entry.name, ()), entry)
        return cls(identity, entries, {e.fingerprint: e for e in entries}, by_name)


class SourceRegistry:
    """A node's view of its party's registry, read again whenever the file changes.

    Args:
        folder: the data folder (``warnlink up --data``).
        party: the node's party.
        ca: the party's CA certificate; read from ``folder/certs/<party>/ca.pem`` when
            not given (`authenticate` needs it).
    """

    def __init__(self, folder: Path, party: str, *, ca: x509.Certificate | None = None) -> None:
        self.folder = folder
        self.party = party
        self.path = registry_path(folder, party)
        self._ca = ca
        self._seen = _Seen.of((0, 0, -1, 0), ())
        self.problem: str | None = None

    def entries(self) -> tuple[SourceEntry, ...]:
        """Every entry, live or revoked, as the file holds them now."""
        return self._current().entries

    def _current(self) -> _Seen:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            identity = (0, 0, -1, 0)
        except OSError as exc:
            self.problem = f"cannot read {self.path}: {exc}"
            return self._seen
        else:
            identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if identity != self._seen.identity:
            try:
                entries = read_registry(self.folder, self.party)
            except ConfigError as exc:
                self.problem = str(exc)  # the last good list stays in force
                return self._seen
            self._seen = _Seen.of(identity, entries)
            self.problem = None
        return self._seen

    def live(self) -> tuple[SourceEntry, ...]:
        """The live entries."""
        return tuple(e for e in self.entries() if e.live)

    def source(self, name: str) -> SourceEntry:
        """The live entry of `name`.

        Raises:
            IngestError: ``unregistered`` (no such source) or ``revoked`` (no live entry).
        """
        entries = self._current().by_name.get(name, ())
        for entry in entries:
            if entry.live:
                return entry
        if entries:
            raise self._refuse("revoked", f"source {name!r} of {self.party} was revoked")
        raise self._refuse("unregistered", f"no source {name!r} is registered with {self.party}")

    def authenticate(self, peer_cert_der: bytes | None) -> SourceEntry:
        """The live source whose certificate the peer presented.

        Args:
            peer_cert_der: the peer's certificate (DER), as the TLS connection verified
                it; None when the peer presented none.

        Raises:
            IngestError: ``unauthenticated`` (no certificate, or not one of this party's
                CA), ``unregistered`` (no source has this certificate: an operator's,
                say) or ``revoked``.
        """
        if peer_cert_der is None:
            raise self._refuse("unauthenticated", "no client certificate was presented")
        # A registered fingerprint is a certificate this party's CA issued (SHA-256 of
        # the very bytes), so only a stranger costs a parse and a signature check.
        entry = self._current().by_fingerprint.get(hashlib.sha256(peer_cert_der).hexdigest())
        if entry is not None:
            if not entry.live:
                raise self._refuse("revoked", f"source {entry.name!r}'s certificate was revoked")
            return entry
        try:
            certificate = x509.load_der_x509_certificate(peer_cert_der)
            certificate.verify_directly_issued_by(self._authority())
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise self._refuse(
                "unauthenticated", f"the client certificate is not one of {self.party}'s CA"
            ) from exc
        raise self._refuse(
            "unregistered",
            f"the certificate of {certificate.subject.rfc4514_string()} names "
            f"no source registered with {self.party}",
        )

    def _authority(self) -> x509.Certificate:
        if self._ca is None:
            self._ca = load_ca(self.folder / CERTS_DIR, self.party)
        return self._ca

    def _refuse(self, reason: str, message: str) -> IngestError:
        return IngestError(message, reason=reason, party=self.party)


def _decode(data: bytes, party: str, path: Path) -> tuple[SourceEntry, ...]:
    try:
        registry = msgspec.json.decode(data, type=RegistryFile)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"the source registry does not decode: {exc}", path=str(path)) from exc
    if registry.party != party or any(e.party != party for e in registry.sources):
        raise ConfigError(f"the source registry is not {party}'s", path=str(path))
    return registry.sources
