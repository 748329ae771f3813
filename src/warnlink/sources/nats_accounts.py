"""National sources on their party's NATS server: an account each, and live reloads.

A source connects to its party's server with its certificate, which the server maps
to the source's user (``verify_and_map``, `security.certs.source_user`). That user
lives in an account of its own, ``SRC-<PARTY>-<name>``, which may do one thing:
send requests to ``ingest.missiletrack``. The account imports the party's ingest
service under that name, remapped to ``ingest.missiletrack.<name>`` in the party's
account, and the party's account exports that subject to that account alone. So:

- the node, subscribed to ``ingest.missiletrack.>``, reads the sender's name from
  the subject, and no source can send under another's name (it cannot even name
  the other's subject: its account has no such import);
- a source sees nothing of its party's account (no stream, no other subject) and
  nothing of another source; its replies come back to its own inbox;
- another party's source has no certificate this server takes (the TLS handshake
  refuses it), and no user here.

The accounts follow the registry (`registry.SourceEntry`, live entries only). `up`
writes them into each server's configuration at start (`add_sources`);
``warnlink sources add|revoke`` rewrite the running server's configuration and have
it reload (`apply_sources`): a revoked source's connection is closed by the server
at the reload, and its next connection refused. A new source takes two reloads: the
server (2.x, seen with 2.15) activates an account's service imports on reload only if
the account existed before it (a sibling of nats-io/nats-server#8560), so the account
is made first without its user, then the user is added.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import msgspec

from warnlink.errors import ConfigError, TransportError
from warnlink.sharing.nats_topology import (
    INGEST_SUBJECT,
    Topology,
    ingest_subject,
    server_config_path,
    server_pid_path,
)
from warnlink.sources.registry import SourceEntry, read_registry, registry_lock, write_atomically
from warnlink.transport.nats_server import ConfigTree, monitor_json

#: How long `apply_sources` waits for the running server to say it reloaded, s.
RELOAD_TIMEOUT_S: Final = 10.0
_POLL_S: Final = 0.02


def source_account(party: str, name: str) -> str:
    """The account of `party`'s source `name` on its party's server."""
    return f"SRC-{party}-{name}"


def with_sources(config: ConfigTree, party: str, entries: Iterable[SourceEntry]) -> ConfigTree:
    """`config` (party's server configuration) with exactly the live `entries`' accounts.

    Accounts of sources no longer live, and their exports, are taken out; the rest of
    the configuration is returned unchanged (a copy: `config` itself is not changed).
    """
    live = sorted((e for e in entries if e.live and e.party == party), key=lambda e: e.name)
    result = copy.deepcopy(config)
    prefix = source_account(party, "")
    accounts: ConfigTree = {
        name: account for name, account in result["accounts"].items() if not name.startswith(prefix)
    }
    own = dict(accounts[party])
    own.pop("exports", None)
    if live:
        own["exports"] = [
            {"service": ingest_subject(e.name), "accounts": [source_account(party, e.name)]}
            for e in live
        ]
    accounts[party] = own
    for entry in live:
        accounts[source_account(party, entry.name)] = {
            "users": [
                {
                    "user": entry.nats_user,
                    "permissions": {
                        "publish": {"allow": [INGEST_SUBJECT]},
                        "subscribe": {"allow": ["_INBOX.>"]},
                    },
                }
            ],
            "imports": [
                {
                    "service": {"account": party, "subject": ingest_subject(entry.name)},
                    "to": INGEST_SUBJECT,
                }
            ],
        }
    result["accounts"] = accounts
    return result


def add_sources(topology: Topology) -> None:
    """Put every party's registered sources into its planned server (before `write`).

    Only servers with certificates take sources: a source is its certificate. Each
    party's registry is read under its lock, so a ``sources add`` running at the same
    time is either in this plan or reloads the server it writes.
    """
    for party, plan in list(topology.servers.items()):
        if "tls" not in plan.config:
            continue
        with registry_lock(topology.folder, party):
            config = with_sources(plan.config, party, read_registry(topology.folder, party))
        topology.servers[party] = dataclasses.replace(plan, config=config)


def apply_sources(
    folder: Path, party: str, entries: Iterable[SourceEntry], *, timeout_s: float = RELOAD_TIMEOUT_S
) -> bool:
    """Rewrite `party`'s server configuration for `entries` and have a running server reload.

    Call it under the registry's lock (`registry.registry_lock`), after the change.

    Returns:
        True if a running server reloaded; False if there is no configuration yet (``up``
        never ran on `folder`) or no server running (the next ``up`` reads the registry).

    Raises:
        ConfigError: the configuration cannot be read or written.
        TransportError: the running server did not reload within `timeout_s` (its log
            says why); it keeps its previous configuration.
    """
    path = server_config_path(folder, party)
    try:
        config = msgspec.json.decode(path.read_bytes(), type=ConfigTree)
    except FileNotFoundError:
        return False
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(f"cannot read {party}'s server configuration: {exc}") from exc
    target = with_sources(config, party, entries)
    pid = running_server(folder, party)
    if pid is None:
        _write(path, target)
        return False
    monitor_port = int(str(config["http"]).rsplit(":", 1)[1])
    new = set(target["accounts"]) - set(config["accounts"])
    if new:
        # nats-server activates the service imports of an account only if the account
        # was there before the reload: make the new accounts, without users, first.
        staged = copy.deepcopy(target)
        for name in new:
            staged["accounts"][name]["users"] = []
        _write(path, staged)
        _reload(pid, monitor_port, path, party, timeout_s)
    _write(path, target)
    _reload(pid, monitor_port, path, party, timeout_s)
    return True


def _write(path: Path, config: ConfigTree) -> None:
    write_atomically(path, msgspec.json.format(msgspec.json.encode(config), indent=2), mode=0o600)


def _reload(pid: int, monitor_port: int, path: Path, party: str, timeout_s: float) -> None:
    """Signal the server to reload, and wait until it says it loaded a configuration."""
    before = monitor_json(monitor_port, "/varz").get("config_load_time")
    os.kill(pid, signal.SIGHUP)  # nats-server reloads its configuration on SIGHUP
    deadline = time.monotonic() + timeout_s
    while monitor_json(monitor_port, "/varz").get("config_load_time") in (before, None):
        if time.monotonic() > deadline:
            raise TransportError(
                f"{party}'s server (pid {pid}) did not reload its configuration within "
                f"{timeout_s} s: see its log, {path.with_suffix('.log')}"
            )
        time.sleep(_POLL_S)


def running_server(folder: Path, party: str) -> int | None:
    """The pid of `party`'s running server in `folder`, or None.

    The server writes its pid file (``pid_file``) and removes it when it stops; a pid
    file left by a killed server may name another process by now, so on Linux the
    process must be a server of this very configuration.
    """
    try:
        pid = int(server_pid_path(folder, party).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():  # Linux: is it a server of this configuration?
        try:
            arguments = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            return None
        wanted = server_config_path(folder, party).resolve()
        if not any(a and (cwd / a).resolve() == wanted for a in arguments[1:]):
            return None
    return pid
