"""Registering and revoking a party's national sources (``warnlink sources add|revoke``).

Each change is made under the registry's lock, in this order: the certificate (for
an addition), the registry (`registry.write_registry`), then the party's NATS server
(`nats_accounts.apply_sources`: its configuration rewritten and, if it runs, reloaded).
The HTTPS and CoT ports read the registry at every connection, so the change holds
there as soon as the registry is written; on NATS, once the server has reloaded, which
`add_source` and `revoke_source` wait for.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from warnlink.errors import ConfigError
from warnlink.model.record import DataMode
from warnlink.security.certs import CERTS_DIR, check_authority, issue_source_cert
from warnlink.sources.nats_accounts import apply_sources
from warnlink.sources.registry import (
    DEFAULT_INTERVAL_S,
    MAX_INTERVAL_S,
    SourceEntry,
    check_source_name,
    read_registry,
    registry_lock,
    write_registry,
)

_PARTY: Final = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")


@dataclass(frozen=True, slots=True)
class Change:
    """What `add_source` or `revoke_source` did.

    Attributes:
        entry: the source's registry entry as it now stands.
        cert, key: its certificate and private key (an addition); None for a revocation.
        reloaded: whether the party's running NATS server reloaded (False: none runs).
    """

    entry: SourceEntry
    cert: Path | None
    key: Path | None
    reloaded: bool


def add_source(
    folder: Path,
    party: str,
    name: str,
    *,
    now_ns: int,
    interval_s: float = DEFAULT_INTERVAL_S,
    data_mode: DataMode = DataMode.REAL,
) -> Change:
    """Issue source `name` of `party` a certificate and register it.

    Args:
        folder: the data folder (``warnlink up --data``); it must hold the party's CA.
        party: the party the source writes as.
        name: the source's name (`registry.check_source_name`).
        now_ns: the time of registration, UTC ns (the certificate is valid from then).
        interval_s: how often the source is expected to send, s.
        data_mode: the mode of its records when its input does not say (CoT).

    Raises:
        ConfigError: a bad party, name or interval; the party has no CA in `folder`;
            a live source of that name exists (revoke it first to issue a new
            certificate); a file cannot be read or written.
        TransportError: the running server did not reload (the source is registered;
            its NATS access waits for the server's next reload or start).
    """
    check_party(party)
    check_source_name(name)
    if not 0.0 < interval_s <= MAX_INTERVAL_S:
        raise ConfigError(f"the interval must be over 0 and at most {MAX_INTERVAL_S:g} s")
    check_authority(folder / CERTS_DIR, party)
    with registry_lock(folder, party):
        entries = read_registry(folder, party)
        if any(e.name == name and e.live for e in entries):
            raise ConfigError(
                f"{party} already has a live source {name!r}: revoke it first to issue it a "
                "new certificate"
            )
        start = datetime.datetime.fromtimestamp(now_ns / 1e9, datetime.UTC)
        issued = issue_source_cert(folder / CERTS_DIR, party, name, now=start)
        entry = SourceEntry(
            name=name,
            party=party,
            serial=issued.serial,
            fingerprint=issued.fingerprint,
            added_ns=now_ns,
            interval_s=interval_s,
            data_mode=data_mode,
        )
        entries = (*entries, entry)
        write_registry(folder, party, entries)
        reloaded = apply_sources(folder, party, entries)
    return Change(entry, issued.cert, issued.key, reloaded)


def revoke_source(folder: Path, party: str, name: str, *, now_ns: int) -> Change:
    """Revoke the live certificate of `party`'s source `name`, from `now_ns` on.

    Raises:
        ConfigError: a bad party; no live source of that name; a file cannot be read
            or written.
        TransportError: the running server did not reload (the source is revoked on
            HTTPS and CoT, and by the node's own check on NATS; its connection stays
            open until the server's next reload).
    """
    check_party(party)
    with registry_lock(folder, party):
        entries = read_registry(folder, party)
        live = [i for i, e in enumerate(entries) if e.name == name and e.live]
        if not live:
            raise ConfigError(f"{party} has no live source {name!r}")
        index = live[0]
        revoked = msgspec.structs.replace(entries[index], revoked_ns=now_ns)
        entries = (*entries[:index], revoked, *entries[index + 1 :])
        write_registry(folder, party, entries)
        reloaded = apply_sources(folder, party, entries)
    return Change(revoked, None, None, reloaded)


def check_party(party: str) -> str:
    """`party` if it is a party code, else a ConfigError (it names folders)."""
    if not _PARTY.fullmatch(party):
        raise ConfigError(f"{party!r} is not a party code (A-Z, 0-9, _; 2 to 16 characters)")
    return party
