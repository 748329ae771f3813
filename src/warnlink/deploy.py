"""A federation running on NATS: servers, and the parties' nodes and relays.

`NatsFederation.start` draws the servers from the federation
(`sharing.nats_topology`), writes their configurations and credentials into a data
folder, starts them, and connects each party's bus with that party's own
credentials, all in this process: the demo uses it for ``--transport nats``.

`Deployment` is what ``warnlink up`` runs: the servers, then every party's node and
every relay as OS processes of their own (``python -m warnlink party ...``, which
runs `run_party`), each connecting to its party's server with its party's
credentials; `health` says who is up; `stop` ends the processes, then the servers.

Both always run with mutual TLS on every client and leaf connection: the
certificates are made in the data folder (``certs/``, `ensure_certs`) unless they are
there already, as the signing keys are (``keys/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from warnlink.counters import Counters
from warnlink.fusion.freshness import LinkWatch, link_states
from warnlink.fusion.picture import Picture
from warnlink.model.time import SystemClock
from warnlink.node import build_relay, close_relay, serve_relay
from warnlink.runtime import NodeRuntime, Output
from warnlink.security.certs import CERTS_DIR, init_certs
from warnlink.security.keystore import KEYS_DIR, KEYSET_FILE, init_keys, load_party_keys
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import ACCESS_FILE, PartyAccess, Topology, plan_topology
from warnlink.sources.nats_accounts import add_sources
from warnlink.transport.nats import NatsBus, wait_idle
from warnlink.transport.nats_server import NatsServer, parent_death_signal

ROLES: Final = ("node", "relay")
STOP_TIMEOUT_S: Final = 10.0
TICK_S: Final = 1.0
DEFAULT_ACK_WAIT_S: Final = 5.0


def ensure_certs(federation: Federation, folder: Path) -> Path:
    """The certificate folder in `folder`, made by `init_certs` unless it is there."""
    certs = folder / CERTS_DIR
    if not certs.exists():
        init_certs(certs, federation.parties, links=[link.parties for link in federation.links])
    return certs


class NatsFederation:
    """Running servers and one connected bus per party; build it with `start`."""

    def __init__(
        self, topology: Topology, servers: dict[str, NatsServer], buses: dict[str, NatsBus]
    ) -> None:
        self.topology = topology
        self.servers = servers
        self.buses = buses

    @classmethod
    async def start(cls, federation: Federation, folder: Path) -> NatsFederation:
        """Write the configurations into `folder`, start the servers, connect every party.

        Raises:
            TransportError: a server did not start, a link did not come up, or a
                party could not connect.
        """
        topology = plan_topology(federation, folder, certs=ensure_certs(federation, folder))
        topology.write()
        servers = topology.start()  # blocks briefly: from the main thread, see NatsServer
        buses: dict[str, NatsBus] = {}
        try:
            for party, access in sorted(topology.access.items()):
                buses[party] = await access.connect(federation)
            topology.wait_for_interest(servers)
        except BaseException:
            for bus in buses.values():
                await bus.close()
            topology.stop()
            raise
        return cls(topology, servers, buses)

    def health(self) -> dict[str, bool]:
        """Each party's server: healthy or not."""
        return {party: server.healthy() for party, server in sorted(self.servers.items())}

    async def wait_idle(self) -> None:
        """Return once every party's open subscriptions have taken and acked everything."""
        await wait_idle(list(self.buses.values()))

    async def close(self) -> None:
        """Close every bus, then stop every server."""
        for bus in self.buses.values():
            await bus.close()
        self.topology.stop()


@dataclass
class _Process:
    name: str
    log_file: Path
    process: subprocess.Popen[bytes]


class Deployment:
    """The servers, nodes and relays of one federation, as OS processes.

    Args:
        federation_path: the federation file; every process reads it.
        folder: the data folder: configurations, stores, credentials, logs, audit logs.
        display_port: serve each party's display from its node process, on this port
            and the next ones in federation order (`display_urls`); None serves none.
    """

    def __init__(
        self, federation_path: Path, folder: Path, *, display_port: int | None = None
    ) -> None:
        self.federation_path = federation_path
        self.folder = folder
        self.federation = load_federation(federation_path)
        self.display_port = display_port
        self.topology: Topology | None = None
        self.servers: dict[str, NatsServer] = {}
        self.processes: list[_Process] = []

    def start(self) -> None:
        """Start the servers (waiting for every link), then every node and relay process.

        Raises:
            TransportError: a server did not start or a link did not come up.
        """
        certs = ensure_certs(self.federation, self.folder)
        self.topology = plan_topology(self.federation, self.folder, certs=certs)
        add_sources(self.topology)  # each party's registered national sources
        self.topology.write()
        if not (self.folder / KEYS_DIR / KEYSET_FILE).exists():
            init_keys(self.folder / KEYS_DIR, self.federation.parties)
        self.servers = self.topology.start()
        try:
            # Every party's stream exists, and is known across its links, before any
            # process publishes: a publish to a stream not there yet finds no responder.
            asyncio.run(_create_streams(self.federation, self.topology))
            self.topology.wait_for_interest(self.servers)
            for party in sorted(self.federation.parties):
                roles = ["node", "relay"] if party in self.federation.relays else ["node"]
                for role in roles:
                    self._spawn(party, role)
        except BaseException:
            self.stop()
            raise

    @property
    def display_urls(self) -> dict[str, str]:
        """Party -> the URL its node process serves its display on (none without a port)."""
        if self.display_port is None:
            return {}
        return {
            party: f"https://127.0.0.1:{self.display_port + i}/"
            for i, party in enumerate(self.federation.parties)
        }

    def _spawn(self, party: str, role: str) -> None:
        name = f"{role}-{party}"
        log_file = process_log_path(self.folder, party, role)
        command = [
            sys.executable,
            "-m",
            "warnlink",
            "party",
            party,
            "--role",
            role,
            "--config",
            str(self.federation_path),
            "--data",
            str(self.folder),
        ]
        if role == "node" and party in self.display_urls:
            command += ["--display-port", self.display_urls[party].rsplit(":", 1)[1].strip("/")]
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us
                preexec_fn=parent_death_signal(),
            )
        self.processes.append(_Process(name, log_file, process))

    def health(self) -> dict[str, dict[str, object]]:
        """Each server (healthy, pid) and each node or relay process (running, pid)."""
        servers: dict[str, object] = {
            party: {"healthy": server.healthy(), "pid": server.pid}
            for party, server in sorted(self.servers.items())
        }
        processes: dict[str, object] = {
            p.name: {"running": p.process.poll() is None, "pid": p.process.pid}
            for p in self.processes
        }
        return {"servers": servers, "processes": processes}

    def all_up(self) -> bool:
        return all(s.healthy() for s in self.servers.values()) and all(
            p.process.poll() is None for p in self.processes
        )

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask every node and relay to stop (SIGTERM), wait, then stop the servers."""
        for entry in self.processes:
            if entry.process.poll() is None:
                entry.process.send_signal(signal.SIGTERM)
        for entry in self.processes:
            try:
                entry.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                entry.process.kill()
                entry.process.wait()
        self.processes.clear()
        if self.topology is not None:
            self.topology.stop()
        self.servers = {}


async def _create_streams(federation: Federation, topology: Topology) -> None:
    for access in topology.access.values():
        bus = await access.connect(federation)
        await bus.close()


def announce_links(
    party: str,
    watch: LinkWatch,
    picture: Picture,
    peers: Sequence[str],
    now_ns: int,
    out: TextIO,
) -> None:
    """Print one line to `out` for each link of `party` that changed state since the last
    look (`fusion.freshness.LinkWatch`), e.g.
    ``warnlink JPN node: link JPN-USA down (no heartbeat for 21.0 s)``."""
    for transition in watch.update(link_states(picture, peers, now_ns), now_ns):
        print(f"warnlink {party} node: {transition.describe(party)}", file=out, flush=True)


def process_log_path(folder: Path, party: str, role: str) -> Path:
    """Where a node or relay process of `Deployment` writes its output (stderr included)."""
    return folder / party / f"{role}.log"


def relay_audit_path(folder: Path, party: str) -> Path:
    """Where the relay process of `party` keeps its audit log in a data folder
    (`node.build_relay` given the party's folder)."""
    return folder / party / f"relay-{party}.jsonl"


def read_access(folder: Path, party: str) -> PartyAccess:
    """A party's server URL and credentials, from the data folder `Deployment` wrote."""
    entries = json.loads((folder / ACCESS_FILE).read_text(encoding="utf-8"))
    entry = entries[party]
    certs = None if entry.get("certs") is None else Path(entry["certs"])
    return PartyAccess(party, entry["url"], entry["user"], entry["password"], certs)


async def run_party(
    federation: Federation,
    access: PartyAccess,
    role: str,
    folder: Path,
    stop: asyncio.Event,
    *,
    outputs: Sequence[Output] = (),
    ack_wait_s: float = DEFAULT_ACK_WAIT_S,
    instance: str | None = None,
) -> None:
    """Run one party's node (without its relay) or its relay until `stop` is set.

    The node runs as a `runtime.NodeRuntime`: it ticks every second (its outbox sent
    again, heartbeats when due), takes its sources' records through its intake, puts
    what arrives in its picture, runs its `outputs` beside (the CLI serves its display
    and ports there), and prints a line to stderr whenever one of its links changes
    state (`announce_links`); the relay decides on what arrives at its inbox. Both ack
    only what they handled.

    Args:
        ack_wait_s: the ack wait of the durable this process creates (if it does).
        instance: a relay's instance name: its audit log and seen-store go to
            ``<folder>/<party>/<instance>/``, so a standby relay (another instance on
            the same durable consumer) keeps its own files.
    """
    keys = load_party_keys(folder / KEYS_DIR, access.party)
    bus = await access.connect(federation, role=role, ack_wait_s=ack_wait_s)
    clock = SystemClock()
    try:
        if role == "node":
            runtime = NodeRuntime.open(
                access.party,
                federation,
                bus,
                clock,
                keys=keys,
                folder=folder / access.party,
                host_relay=False,
            )
            watch, peers = LinkWatch(), federation.peers(access.party)

            def links(running: NodeRuntime) -> None:
                node = running.node
                announce_links(node.party, watch, node.picture, peers, clock.now_ns(), sys.stderr)

            await runtime.serve(stop, outputs=outputs, every_s=TICK_S, on_tick=links)
        else:
            relay_folder = folder / access.party
            if instance is not None:
                relay_folder = relay_folder / instance
                relay_folder.mkdir(parents=True, exist_ok=True)
            relay = build_relay(
                access.party, federation, bus, clock, keys, relay_folder, Counters()
            )
            inbox = await relay.open_inbox()

            task = asyncio.create_task(serve_relay(relay, inbox))
            try:
                while not stop.is_set():
                    await relay.flush_outbox()  # products kept while a link was down
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), TICK_S)
            finally:
                await inbox.close()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                close_relay(relay)
    finally:
        await bus.close()
