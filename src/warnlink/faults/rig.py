"""The real processes a fault case runs against, and the levers it pulls.

One nats-server per party (leaf links, mutual TLS, JetStream on disk, as ``warnlink
up`` runs them), the relay as an OS process of its own (``python -m warnlink party
USA --role relay``, so it can be killed with SIGKILL), and every party's node in
this process on its own party's server with its own credentials (so the `Ledger` sees
what each picture applies). A link can be routed through a `TcpProxy` (the spoke's
leaf remote dials the proxy, the proxy the hub's leaf listener) to be cut and healed.

The nodes are driven like ``warnlink up``'s node processes: every `TICK_S` the
gateway's outbox is sent again, and heartbeats go out when due.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from warnlink.deploy import ensure_certs
from warnlink.errors import TransportError
from warnlink.faults.measure import Ledger
from warnlink.faults.proxy import TcpProxy
from warnlink.fusion.gating import extrapolate
from warnlink.model import Phase, TrackReport
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S, Clock, SystemClock
from warnlink.node import Node
from warnlink.security.keystore import KEYS_DIR, init_keys, load_party_keys
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.gateway import HEARTBEAT_INTERVAL_S
from warnlink.sharing.nats_topology import Topology, plan_topology
from warnlink.transport.nats import NatsBus
from warnlink.transport.nats_server import NatsServer, parent_death_signal

TICK_S: Final = 0.25
RELAY: Final = "USA"
RELAY_ACK_WAIT_S: Final = 1.0
NODE_ACK_WAIT_S: Final = 1.0
_COV: Final = tuple(100.0 if i in (0, 6, 11, 15, 18, 20) else 0.0 for i in range(21))


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big a case runs.

    Attributes:
        tracks, updates: the salvo: `tracks` tracks, `updates` reports each.
        rate_per_s: reports per second the salvo is sent at.
        cut_s: how long a cut lasts (case 2), or a relay stays dead (cases 1, 3, 5).
        drain_s: how long to wait, after the salvo, for everything due (a guard).
        soak_s: how long the soak (case 7) sends, seconds of wall time.
        soak_drain_s: how long the soak waits after it for everything due (a guard).
    """

    tracks: int
    updates: int
    rate_per_s: float
    cut_s: float
    drain_s: float
    soak_s: float = 600.0
    soak_drain_s: float = 300.0


QUICK: Final = Sizes(
    tracks=100, updates=3, rate_per_s=60.0, cut_s=5.0, drain_s=60.0, soak_s=30.0, soak_drain_s=60.0
)
FULL: Final = Sizes(
    tracks=1000,
    updates=10,
    rate_per_s=80.0,
    cut_s=30.0,
    drain_s=300.0,
    soak_s=600.0,
    soak_drain_s=300.0,
)


class SkewedClock:
    """The system clock off by `offset_s` (monotonic time is not)."""

    def __init__(self, offset_s: float) -> None:
        self._base = SystemClock()
        self.offset_ns = round(offset_s * NS_PER_S)

    def now_ns(self) -> int:
        return self._base.now_ns() + self.offset_ns

    def monotonic_ns(self) -> int:
        return self._base.monotonic_ns()


def federation_file(folder: Path, *, window_s: float | None) -> Path:
    """The packaged trilateral federation written into `folder`, its window replaced."""
    source = Path(__file__).parents[1] / "data" / "trilateral.toml"
    text = source.read_text(encoding="utf-8")
    if window_s is not None:
        text = re.sub(r"^\s*freshness_window_s\s*=.*$", "", text, flags=re.MULTILINE)
        text = text.replace("[federation]\n", f"[federation]\nfreshness_window_s = {window_s}\n", 1)
    path = folder / "federation.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Rig:
    """Servers, the relay process(es) and the nodes of one fault case.

    Args:
        folder: the data folder (configurations, stores, keys, logs).
        ledger: where both ends of every delivery are recorded.
        window_s: the federation's freshness window (None: the file's, 300 s).
        skew_s: parties whose clocks are off, by seconds.
        cut_link: (hub, spoke) of a link to route through a `TcpProxy`.
    """

    def __init__(
        self,
        folder: Path,
        ledger: Ledger,
        *,
        window_s: float | None = None,
        skew_s: dict[str, float] | None = None,
        cut_link: tuple[str, str] | None = None,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ledger = ledger
        self.federation_path = federation_file(folder, window_s=window_s)
        self.federation: Federation = load_federation(self.federation_path)
        self.skew_s = skew_s or {}
        self.cut_link = cut_link
        self.proxy: TcpProxy | None = None
        self.topology: Topology | None = None
        self.servers: dict[str, NatsServer] = {}
        self.buses: dict[str, NatsBus] = {}
        self.nodes: dict[str, Node] = {}
        self.relays: dict[str, subprocess.Popen[bytes]] = {}
        self.spawned: list[subprocess.Popen[bytes]] = []  # every relay process, ended too
        self._tickers: list[asyncio.Task[None]] = []

    async def start(self, *, relays: tuple[str, ...] = ("active",)) -> None:
        """Start the servers, the relay instances and the nodes.

        Raises:
            TransportError: a server, link or connection did not come up.
        """
        certs = ensure_certs(self.federation, self.folder)
        init_keys(self.folder / KEYS_DIR, self.federation.parties)
        topology = plan_topology(self.federation, self.folder, certs=certs)
        if self.cut_link is not None:
            hub, spoke = self.cut_link
            hub_leaf = topology.servers[hub].leaf_port
            assert hub_leaf is not None
            self.proxy = TcpProxy(hub_leaf).start()
            # Otherwise the hub tells the spoke its own leaf URL, and a reconnect goes
            # around the proxy.
            topology.servers[hub].config["leafnodes"]["no_advertise"] = True
            for remote in topology.servers[spoke].config["leafnodes"]["remotes"]:
                remote["url"] = remote["url"].replace(f":{hub_leaf}", f":{self.proxy.port}")
        self.topology = topology
        topology.write()
        self.servers = topology.start()
        for party, access in sorted(topology.access.items()):
            self.buses[party] = await access.connect(
                self.federation, role="node", ack_wait_s=NODE_ACK_WAIT_S
            )
        topology.wait_for_interest(self.servers)
        for instance in relays:
            self.spawn_relay(instance)
        for party in sorted(self.federation.parties):
            self.nodes[party] = self.node(party)
            await self.nodes[party].start()
        self._tickers = [asyncio.create_task(self._tick(p)) for p in sorted(self.nodes)]

    def node(self, party: str) -> Node:
        """A new node of `party` on its durable state (not started)."""
        clock: Clock = SkewedClock(self.skew_s[party]) if party in self.skew_s else SystemClock()
        parties = tuple(sorted(self.federation.parties))
        return Node(
            party,
            self.federation,
            self.buses[party],
            clock,
            keys=load_party_keys(self.folder / KEYS_DIR, party),
            audit_dir=self.folder / party,
            host_relay=False,
            on_original=lambda envelope: self.ledger.original(envelope, parties),
            on_applied=lambda envelope: self.ledger.applied(party, envelope),
        )

    async def restart_node(self, party: str) -> None:
        """Stop `party`'s node (its unacked deliveries handed back) and start a new one
        on its durable state."""
        await self.nodes[party].stop()
        self.nodes[party] = self.node(party)
        await self.nodes[party].start()

    async def _tick(self, party: str) -> None:
        """One node's ticks, as its own process would run them (a publish that hangs
        in one node does not hold up another's)."""
        next_heartbeat = 0.0
        while True:
            node = self.nodes[party]
            with contextlib.suppress(TransportError):
                await node.gateway.flush_outbox()
            if time.monotonic() >= next_heartbeat:
                await node.gateway.send_heartbeats()
                next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL_S
            await asyncio.sleep(TICK_S)

    def spawn_relay(self, instance: str = "active") -> None:
        """Start a relay process (`instance` names its own audit log and seen-store)."""
        log_file = self.folder / RELAY / f"relay-{instance}.log"
        command = [
            sys.executable,
            "-m",
            "warnlink",
            "party",
            RELAY,
            "--role",
            "relay",
            "--config",
            str(self.federation_path),
            "--data",
            str(self.folder),
            "--ack-wait",
            str(RELAY_ACK_WAIT_S),
            "--instance",
            instance,
        ]
        with log_file.open("ab") as log:
            self.relays[instance] = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=parent_death_signal(),
            )
        self.spawned.append(self.relays[instance])

    def kill_relay(self, instance: str = "active") -> None:
        """SIGKILL a relay process, as a crash would."""
        process = self.relays.pop(instance)
        process.kill()
        process.wait()

    async def salvo(
        self,
        originators: tuple[str, ...],
        sizes: Sizes,
        *,
        sent: asyncio.Event | None = None,
        hold: asyncio.Event | None = None,
    ) -> None:
        """Every originator sends `sizes.tracks` track reports `sizes.updates` times each,
        at `sizes.rate_per_s` in all; `sent` is set half-way. With `hold`, the second half
        waits for it (the fault has struck), then goes on at the same rate: some of the
        salvo is always sent after the fault, however long the fault took to strike."""
        total = sizes.tracks * sizes.updates * len(originators)
        start = time.monotonic()
        count = 0
        held = hold is None
        # Each party's states are by its own clock (skewed or not), as its input port
        # takes them: its gateway refuses a state far from its message's time.
        epoch0 = {party: self.nodes[party].clock.now_ns() for party in originators}
        for update in range(sizes.updates):
            for trk_id in range(1, sizes.tracks + 1):
                for party in originators:
                    report = _track(trk_id, epoch0[party], update)
                    await self.nodes[party].gateway.send(report, data_mode=DataMode.TEST)
                    count += 1
                    if sent is not None and count >= total // 2:
                        sent.set()
                    if not held and count >= total // 2:
                        assert hold is not None
                        waited = time.monotonic()
                        await hold.wait()
                        start += time.monotonic() - waited
                        held = True
                    ahead = start + count / sizes.rate_per_s - time.monotonic()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        if sent is not None:
            sent.set()

    async def stream(
        self, originator: str, *, tracks: int, rate_per_s: float, duration_s: float
    ) -> int:
        """`originator` sends track reports of `tracks` tracks in turn, paced by wall time
        at `rate_per_s`, for `duration_s`; how many it sent.

        A send that falls behind its schedule is not skipped: the next ones go at once
        until the schedule is met again, so what was offered and what was achieved
        differ only when the sender itself cannot keep up.
        """
        start = time.monotonic()
        end = start + duration_s
        epoch0 = self.nodes[originator].clock.now_ns()
        count = 0
        while True:
            due = start + count / rate_per_s
            if due >= end:
                return count
            ahead = due - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            elif time.monotonic() >= end:
                return count
            rounds, index = divmod(count, tracks)
            report = _track(index + 1, epoch0, rounds)
            await self.nodes[originator].gateway.send(report, data_mode=DataMode.TEST)
            count += 1

    def pids(self) -> dict[str, int]:
        """The processes of this rig by name: this one (the nodes), each relay process,
        each party's nats-server."""
        pids = {"suite (nodes)": os.getpid()}
        pids |= {f"relay {name}": p.pid for name, p in sorted(self.relays.items())}
        for party, server in sorted(self.servers.items()):
            if server.pid is not None:
                pids[f"nats-server {party}"] = server.pid
        return pids

    async def drain(self, timeout_s: float) -> bool:
        """Wait until nothing due is outstanding (True) or `timeout_s` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while self.ledger.outstanding():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def counter_total(self, key: str) -> int:
        """Counter `key` summed over the nodes."""
        return sum(n.counters.get(key) for n in self.nodes.values())

    def counters(self) -> dict[str, int]:
        """The nodes' counters worth reporting, summed over parties."""
        keys = ("outbox.failed", "outbox.resent", "duplicate", "rejected.replay")
        return {k: self.counter_total(k) for k in keys}

    async def stop(self) -> None:
        """Stop everything this rig started."""
        for ticker in self._tickers:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        for node in self.nodes.values():
            with contextlib.suppress(TransportError):
                await node.stop()
        for bus in self.buses.values():
            await bus.close()
        for process in self.relays.values():
            process.send_signal(signal.SIGTERM)
        for process in self.relays.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.relays.clear()
        if self.topology is not None:
            self.topology.stop()
        if self.proxy is not None:
            self.proxy.stop()


def _track(trk_id: int, epoch0_ns: int, step: int) -> TrackReport:
    """Track `trk_id`'s report `step` seconds after `epoch0_ns`: each track somewhere
    else (so they stay apart), above the air, each moving on the constant-acceleration
    arc the pictures' gate extrapolates with (`gating.extrapolate`), so any two reports
    of one track, or of one track from two originators, gate together whatever the time
    between them. (Reports that stayed put while claiming 1.9 km/s, low enough for drag
    to matter, stopped gating after a few seconds; the pictures took the events apart
    and tried every pair again at every report: a quarter of a second a report with 100
    tracks.)
    """
    bearing = 2 * math.pi * trk_id / 997
    start = np.array(
        [  # about 380 km up: above the air, where only gravity bends the arc
            -3_250_000.0 + 300_000.0 * math.cos(bearing),
            4_300_000.0 + 300_000.0 * math.sin(bearing),
            4_100_000.0,
            1_000.0,
            500.0,
            1_500.0,
        ]
    )
    mean, _ = extrapolate(start, np.zeros((6, 6)), float(step))
    return TrackReport(
        trk_id=trk_id,
        epoch=epoch0_ns + step * NS_PER_S,
        pos=(float(mean[0]), float(mean[1]), float(mean[2])),
        vel=(float(mean[3]), float(mean[4]), float(mean[5])),
        phase=Phase.MIDCOURSE,
        trk_qual=9,
        cov=_COV,
        sensor="ROK-R1",
    )
