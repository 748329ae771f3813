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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from warnlink.counters import Counters
from warnlink.errors import ConsumerEnded, TransportError
from warnlink.fusion.freshness import LinkWatch, link_states
from warnlink.fusion.picture import Picture
from warnlink.model.time import SystemClock
from warnlink.node import Rejects, build_relay, close_relay, serve_relay, watch_consumers
from warnlink.runtime import NodeRuntime, Output
from warnlink.security.certs import CERTS_DIR, init_certs
from warnlink.security.keystore import KEYS_DIR, KEYSET_FILE, init_keys, load_party_keys
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import ACCESS_FILE, PartyAccess, Topology, plan_topology
from warnlink.sources.intake import AnswerHook
from warnlink.sources.nats_accounts import add_sources
from warnlink.transport.dead_letters import dead_letters
from warnlink.transport.nats import NatsBus, wait_idle
from warnlink.transport.nats_server import NatsServer, parent_death_signal
from warnlink.transport.private import private_file, private_folder

ROLES: Final = ("node", "relay")
#: Where `warnlink up` says where every party's node listens, in the data folder (and
#: each node process, in its party's folder).
ENDPOINTS_FILE: Final = "endpoints.json"
#: Seconds `Deployment.wait_ready` waits for every node process to listen.
READY_TIMEOUT_S: Final = 120.0
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

    Every node process opens its party's ports (`party`: HTTPS for the display, API and
    UDL ingest; NATS ingest on the party's server; the CoT stream) and says where;
    `wait_ready` gathers them into ``<folder>/endpoints.json``.

    Args:
        federation_path: the federation file; every process reads it.
        folder: the data folder: configurations, stores, credentials, logs, audit logs.
        http_port: the first party's HTTPS port, the next ones in federation order;
            0 picks free ports.
        cot_port: the first party's CoT port, likewise (0: free ports).
        host: the address the node processes listen on.
    """

    def __init__(
        self,
        federation_path: Path,
        folder: Path,
        *,
        http_port: int = 0,
        cot_port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.federation_path = federation_path
        self.folder = folder
        self.federation = load_federation(federation_path)
        self.http_port = http_port
        self.cot_port = cot_port
        self.host = host
        self.endpoints: dict[str, dict[str, str]] = {}
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

    def _ports(self, party: str) -> tuple[int, int]:
        """The HTTPS and CoT ports asked of `party`'s node process (0: free ones)."""
        i = list(self.federation.parties).index(party)
        return (
            self.http_port + i if self.http_port else 0,
            self.cot_port + i if self.cot_port else 0,
        )

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, dict[str, str]]:
        """Wait until every node process says where it listens (``<folder>/<P>/
        endpoints.json``, written by that very process), then write them all to
        ``<folder>/endpoints.json``: party -> ``http`` (base HTTPS URL of its display, API
        and ingest), ``nats`` (its server's URL), ``cot`` (host:port).

        Raises:
            TransportError: a node process ended, or did not say within `timeout_s`.
        """
        nodes = {
            p.name.removeprefix("node-"): p for p in self.processes if p.name.startswith("node-")
        }
        deadline = time.monotonic() + timeout_s
        found: dict[str, dict[str, str]] = {}
        while len(found) < len(nodes):
            for party, entry in nodes.items():
                if party in found:
                    continue
                if entry.process.poll() is not None:
                    raise TransportError(
                        f"{party}'s node process ended (exit {entry.process.returncode}); "
                        f"see {entry.log_file}"
                    )
                said = _read_endpoints(self.folder / party / ENDPOINTS_FILE, entry.process.pid)
                if said is not None:
                    found[party] = said
            if len(found) < len(nodes):
                if time.monotonic() > deadline:
                    missing = ", ".join(sorted(set(nodes) - set(found)))
                    raise TransportError(f"no endpoints from {missing} within {timeout_s:.0f} s")
                time.sleep(0.1)
        self.endpoints = {party: found[party] for party in self.federation.parties}
        path = self.folder / ENDPOINTS_FILE
        temporary = path.with_suffix(".tmp")
        private_file(temporary).write_text(
            json.dumps(self.endpoints, indent=1) + "\n", encoding="utf-8"
        )
        temporary.replace(path)
        return self.endpoints

    @property
    def display_urls(self) -> dict[str, str]:
        """Party -> the URL of its display (known once `wait_ready` returned)."""
        return {party: e["http"] for party, e in self.endpoints.items()}

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
        if role == "node":
            http, cot = self._ports(party)
            command += ["--host", self.host, "--http-port", str(http), "--cot-port", str(cot)]
        with private_file(log_file).open("ab") as log:
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
        self.stop_processes(timeout_s)
        if self.topology is not None:
            self.topology.stop()
        self.servers = {}

    def stop_processes(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask every node and relay to stop (SIGTERM) and wait for them, killing any still
        running after `timeout_s`; the servers run on."""
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


def _read_endpoints(path: Path, pid: int) -> dict[str, str] | None:
    """What a node process with `pid` wrote it listens on, or None (not yet, or an
    older run's file)."""
    try:
        said = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(said, dict) or said.get("pid") != pid:
        return None
    return {key: str(said[key]) for key in ("http", "nats", "cot") if key in said}


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
    on_answer: AnswerHook | None = None,
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
                on_answer=on_answer,
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
                private_folder(relay_folder)
            relay = build_relay(
                access.party,
                federation,
                bus,
                clock,
                keys,
                relay_folder,
                Counters(),
                instance=instance or "",
            )
            letters = dead_letters(relay_folder, f"{access.party}-relay")
            rejects = Rejects(relay.counters, clock, letters)
            inbox = await relay.open_inbox()

            task = asyncio.create_task(serve_relay(relay, inbox, rejects))
            watch_consumers(f"relay-{access.party}", (task,), stop)
            try:
                while not stop.is_set():
                    await relay.flush_outbox()  # products kept while a link was down
                    await relay.heads.tick()  # tree heads to the witnesses, when due
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), TICK_S)
            finally:
                await inbox.close()
                ended = task.done()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                close_relay(relay)
                letters.close()
            if ended:
                raise ConsumerEnded(f"relay-{access.party}")
    finally:
        await bus.close()
