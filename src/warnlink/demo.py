"""The demo: a scenario played through a federation in accelerated time.

Every party's node runs in this process with a manual clock, on the in-memory bus
by default, or with ``transport="nats"`` on one NATS server per party
started for the run (`warnlink.deploy`), each node on its own server with its own
credentials: the simulated national trackers' estimates are fed to each party's node at
the moment they become available, time-driven work runs every second of scenario
time, and the bus is drained before the clock moves on. The run is deterministic
for a given seed.

Without a data folder the run's stores (bus log, outboxes, applied-logs, seen-stores,
journals, audit logs) are in memory: the temporary folder would be removed at the end,
so a disk sync per message would buy nothing (it was most of the demo's wall time). With
``data_dir`` they are the durable files `warnlink up` writes.

An observer reads every delivery to every party's inbox (a durable of its own on
each party's inbox) and checks it against the
originals with `LeakChecker`, independently of the relay's own decisions; it counts a
report a party is delivered twice (``duplicate_deliveries``). It reads every relay's
inbox too: a relay's host may have what is released to it, or what the originator
trusts that relay to carry in transit (`sharing.routing`), and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from warnlink.errors import ConfigError, MessageError
from warnlink.fusion.freshness import link_states, stale_items
from warnlink.fusion.picture import Contribution, Event, tightest_launch
from warnlink.geo.areas import Area, load_zones
from warnlink.geo.wgs84 import surface_distance_m
from warnlink.interop.formats import export_format
from warnlink.interop.outputs import write_party_outputs
from warnlink.interop.projection import project_party
from warnlink.model import Envelope, ImpactPrediction, Resend, decode
from warnlink.model.payloads import RESENDABLE
from warnlink.model.time import NS_PER_S, ManualClock, utc_ns_to_iso
from warnlink.node import Node
from warnlink.runtime import NodeRuntime
from warnlink.security.keystore import KEYS_DIR, init_keys, load_party_keys
from warnlink.sharing.audit_proof import read_lines, verify_lines
from warnlink.sharing.audit_vouch import vouch_problem
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.leaks import Leak, LeakChecker
from warnlink.sharing.routing import CONTROL_KINDS
from warnlink.sharing.subjects import node_inbox, node_inbox_filter, parse_inbox, relay_inbox_filter
from warnlink.sim.scenario import (
    Scenario,
    default_scenario_path,
    load_scenario,
    simulate_scenario,
)
from warnlink.sim.trajectory import Trajectory, nearest_flight
from warnlink.sources.simulation import SIMULATION_SOURCE, SimulatedSource, simulate_trackers
from warnlink.transport import Bus, MemoryBus, Subscription
from warnlink.transport.private import private_folder

log = logging.getLogger(__name__)

#: Scenario time played after the last impact, so statuses and stragglers arrive.
TAIL_S = 90.0

Progress = Callable[[float, str], None]
Observe = Callable[[int, Mapping[str, Node]], None]
"""Called every second of scenario time, once the bus is idle: (seconds since epoch, nodes)."""
TRANSPORTS = ("memory", "nats")


def default_federation_path() -> Path:
    """The packaged reference federation (ROK, JPN, USA; relay at USA)."""
    return Path(__file__).parent / "data" / "trilateral.toml"


class _Observer:
    """Reads every inbox delivery and checks it for leaks and duplicates."""

    def __init__(self, checker: LeakChecker, federation: Federation) -> None:
        self.checker = checker
        self.federation = federation
        self.leaks: list[Leak] = []
        self.deliveries = 0
        self.duplicates = 0
        self._delivered: set[tuple[str, str]] = set()

    async def run(self, subscription: Subscription) -> None:
        async for delivery in subscription:
            owner, sender = parse_inbox(delivery.subject)
            with contextlib.suppress(MessageError):
                envelope = decode(delivery.data)
                if delivery.subject == node_inbox(owner, sender):
                    self._delivered_to(owner, envelope)
                else:
                    self._at_relay(owner, envelope)
            await subscription.ack(delivery)

    def _delivered_to(self, recipient: str, envelope: Envelope) -> None:
        self.leaks += self.checker.check(recipient, envelope)
        self.deliveries += 1
        if isinstance(envelope.payload, RESENDABLE):
            key = (recipient, envelope.derived_from or envelope.msg_id)
            self.duplicates += key in self._delivered
            self._delivered.add(key)

    def _at_relay(self, relay: str, envelope: Envelope) -> None:
        """A relay's host may see what is released to it or trusted to it in transit."""
        inner = envelope.payload.messages if isinstance(envelope.payload, Resend) else ()
        for data in inner:
            self._at_relay(relay, decode(data))
        if envelope.kind in CONTROL_KINDS:
            return
        if relay not in self.federation.transit_for(envelope.originator, envelope.kind):
            self.leaks += self.checker.check(relay, envelope)


async def run_demo(
    federation_path: Path | None = None,
    scenario_path: Path | None = None,
    *,
    seed: int = 1,
    data_dir: Path | None = None,
    progress: Progress | None = None,
    observe: Observe | None = None,
    transport: str = "memory",
    zones_path: Path | None = None,
    out_dir: Path | None = None,
    speed: float | None = None,
) -> dict[str, Any]:
    """Play a scenario through a federation; returns the summary (see `summarise`).

    Args:
        federation_path: federation TOML; the packaged trilateral one by default.
        scenario_path: scenario TOML; the packaged default scenario by default.
        seed: seeds every random draw, so a run is reproducible.
        data_dir: where the bus log, the node's stores, the audit logs
            (``gateway-<P>.jsonl``, ``relay-<P>.jsonl``) and the key set (``keys/``) go;
            by default the stores are in memory and the keys in a temporary folder
            (removed afterwards). A given folder must be empty or absent.
        progress: called with (seconds since epoch, one-line status) as time passes.
        observe: called every second with every party's node, to read (not change) the
            pictures as they evolve (the accuracy benchmark samples them).
        transport: ``memory`` (one in-process bus) or ``nats`` (a server per party,
            started for the run and stopped after it).
        zones_path: user alert zones (GeoJSON, `geo.areas.load_zones`) for every node.
        out_dir: where to write every party's alerts as CAP, its CoT events and each
            event's GeoJSON and KML at the end (`interop.outputs`); None writes nothing.
        speed: scenario seconds played per wall-clock second (a live display can watch:
            ``warnlink demo --serve``); None plays as fast as it computes.
    """
    if transport not in TRANSPORTS:
        raise ConfigError(f"unknown transport {transport!r}; use one of {', '.join(TRANSPORTS)}")
    if speed is not None and not speed > 0:
        raise ConfigError(f"speed must be positive, got {speed}")
    federation = load_federation(federation_path or default_federation_path())
    scenario = load_scenario(scenario_path or default_scenario_path())
    with _data_folder(data_dir) as folder:
        return await _play(
            federation,
            scenario,
            seed=seed,
            folder=folder,
            stores=folder if data_dir is not None else None,
            progress=progress,
            observe=observe,
            transport=transport,
            outputs=(load_zones(zones_path) if zones_path else (), out_dir),
            speed=speed,
        )


async def export_event(
    event_id: str,
    fmt: str,
    *,
    party: str = "USA",
    scenario_path: Path | None = None,
    seed: int = 1,
    zones_path: Path | None = None,
) -> bytes:
    """Play a scenario and export one event as `party` saw it at the end (``warnlink export``).

    Args:
        fmt: an export format's name (`interop.formats.EXPORTS`).

    Raises:
        ConfigError: an unknown format, party or event (the message lists the events).
    """
    export = export_format(fmt)
    seen: dict[str, Node] = {}
    await run_demo(
        scenario_path=scenario_path,
        seed=seed,
        zones_path=zones_path,
        observe=lambda _second, nodes: seen.update(nodes),
    )
    if party not in seen:
        raise ConfigError(f"no party {party!r} in the federation")
    node = seen[party]
    if event_id not in node.picture.events:
        known = ", ".join(sorted(node.picture.events)) or "none"
        raise ConfigError(f"{party} has no event {event_id!r} (its events: {known})")
    return export.export(project_party(node, {event_id}))


@contextlib.contextmanager
def _data_folder(data_dir: Path | None) -> Iterator[Path]:
    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix="warnlink-demo-") as tmp:
            yield Path(tmp)
        return
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ConfigError(f"data folder {data_dir} is not empty; the demo starts from nothing")
    private_folder(data_dir)
    yield data_dir


async def _play(
    federation: Federation,
    scenario: Scenario,
    *,
    seed: int,
    folder: Path,
    stores: Path | None,
    progress: Progress | None,
    observe: Observe | None,
    transport: str,
    outputs: tuple[tuple[Area, ...], Path | None] = ((), None),
    speed: float | None,
) -> dict[str, Any]:
    zones, out_dir = outputs
    unknown = sorted({s.party for s in scenario.sensors} - set(federation.parties))
    if unknown:
        raise ConfigError(
            f"scenario sensors belong to parties not in federation {federation.name}: "
            + ", ".join(unknown)
        )
    trajectories = simulate_scenario(scenario)
    epoch_ns = scenario.epoch_utc_ns
    sources = {
        p: SimulatedSource(p, estimates, epoch_ns)
        for p, estimates in simulate_trackers(
            scenario, trajectories, federation.parties, seed
        ).items()
    }
    clock = ManualClock(epoch_ns)
    buses: dict[str, Bus]
    if transport == "nats":
        from warnlink.deploy import NatsFederation

        network = await NatsFederation.start(federation, folder / "nats")
        buses = dict(network.buses)
        wait_idle = network.wait_idle
        close = network.close
    else:
        bus = MemoryBus(stores / "bus" if stores else None, clock=clock)
        buses = dict.fromkeys(federation.parties, bus)
        wait_idle = bus.wait_idle
        close = bus.close
    # Opened as they come, closed whatever happens: a failure half-way leaves no store open.
    runtimes: dict[str, NodeRuntime] = {}
    observer_inboxes: list[Subscription] = []
    observer_tasks: list[asyncio.Task[None]] = []
    try:
        checker = LeakChecker()
        # Keys from the seed (demo only), so that a run, audit heads included, repeats.
        init_keys(folder / KEYS_DIR, federation.parties, demo_seed=seed)
        for party in federation.parties:
            runtimes[party] = NodeRuntime.open(
                party,
                federation,
                buses[party],
                clock,
                keys=load_party_keys(folder / KEYS_DIR, party),
                folder=stores,
                on_original=checker.record_original,
                zones=zones,
                # Batches made by wall-clock timing would change the audit's hashes.
                sign_window_s=0.0,
            )
        nodes = {party: runtime.node for party, runtime in runtimes.items()}
        observer = _Observer(checker, federation)
        for p in federation.parties:
            observer_inboxes.append(
                await buses[p].subscribe(node_inbox_filter(p), durable=f"leak-observer-{p}")
            )
        for p in sorted(federation.relays):
            observer_inboxes.append(
                await buses[p].subscribe(relay_inbox_filter(p), durable=f"leak-observer-relay-{p}")
            )
        observer_tasks = [asyncio.create_task(observer.run(inbox)) for inbox in observer_inboxes]
        for runtime in runtimes.values():
            await runtime.start()

        end_s = max(t.impact_time_s + t.launch_time_s for t in trajectories.values()) + TAIL_S
        started_s = time.monotonic()
        for second in range(math.ceil(end_s) + 1):
            now_ns = epoch_ns + second * NS_PER_S
            due = sorted(
                (d.available_ns, party, i, d.record)
                for party, source in sources.items()
                for i, d in enumerate(source.due(now_ns))
            )
            # Each party's simulated tracker is a source at its node's input port, as a
            # national system is (`sources.intake`): journalled, then reported.
            for available_ns, party, _, record in due:
                clock.set_ns(max(available_ns, clock.now_ns()))
                await runtimes[party].intake.take(SIMULATION_SOURCE, [record])
                await runtimes[party].intake.drain()
            clock.set_ns(now_ns)
            for runtime in runtimes.values():
                await runtime.tick()
            await wait_idle()
            if observe is not None:
                observe(second, nodes)
            if progress is not None and second % 10 == 0:
                progress(second, _status_line(nodes))
            if speed is not None:  # paced: wall time catches up with scenario time
                await asyncio.sleep(max(0.0, started_s + (second + 1) / speed - time.monotonic()))

        for party in list(runtimes):
            await runtimes.pop(party).stop()
            if out_dir is not None:
                write_party_outputs(out_dir, nodes[party])
    finally:
        await _close_all(runtimes, observer_inboxes, observer_tasks)
        await close()
    return summarise(federation, scenario, trajectories, nodes, observer)


async def _close_all(
    runtimes: Mapping[str, NodeRuntime],
    inboxes: list[Subscription],
    tasks: list[asyncio.Task[None]],
) -> None:
    """Stop what is still running after the play ended (or failed): each in turn, one
    that fails to stop logged, so the others still close and the first error stands."""
    for party, runtime in runtimes.items():
        try:
            await runtime.stop()
        except Exception:
            log.exception("demo: %s's node did not stop cleanly", party)
    for inbox in inboxes:
        await inbox.close()
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _paths(counters: dict[str, int]) -> dict[str, dict[str, int]]:
    """originator -> {sender that put it on the link -> messages}, heartbeats included."""
    paths: dict[str, dict[str, int]] = {}
    for key, count in counters.items():
        if key.startswith("path."):
            _, originator, sender = key.split(".")
            paths.setdefault(originator, {})[sender] = count
    return paths


def _status_line(nodes: dict[str, Node]) -> str:
    parts = []
    for party, node in nodes.items():
        got = sum(node.picture.received_from.values())
        parts.append(f"{party} recv {got:4d}")
    relay = ", ".join(
        f"{k.split('.')[1]} {v}"
        for node in nodes.values()
        for k, v in node.counters.as_dict().items()
        if k.startswith("relay.") and k.count(".") == 1
    )
    return " | ".join(parts) + (f" | relay: {relay}" if relay else "")


def summarise(
    federation: Federation,
    scenario: Scenario,
    trajectories: dict[str, Trajectory],
    nodes: dict[str, Node],
    observer: _Observer,
) -> dict[str, Any]:
    """The demo's outcome as plain data (the JSON of ``warnlink demo --json``)."""
    epoch_ns = scenario.epoch_utc_ns
    parties: dict[str, Any] = {}
    for party, node in nodes.items():
        parties[party] = {
            "name": federation.parties[party],
            "received_from": {
                q: node.picture.received_from.get(q, 0) for q in federation.parties if q != party
            },
            "heartbeats_from": sorted(node.picture.heartbeats),
            "received_via": _paths(node.counters.as_dict()),
            "rejected": {
                k.removeprefix("rejected."): v
                for k, v in node.counters.as_dict().items()
                if k.startswith("rejected.")
            },
            "events": [
                _event_summary(event, trajectories, epoch_ns)
                for event in node.picture.events.values()
            ],
            "alerts": [
                {
                    "identifier": alert.identifier,
                    "data_mode": str(alert.data_mode),
                    "msg_type": str(alert.msg_type),
                    "reason": str(alert.reason),
                    "event": alert.threat.event_id,
                    "area": alert.threat.area,
                    "kind": str(alert.threat.kind),
                    "probability": round(alert.threat.probability, 3),
                    "sent_s": round((alert.sent_ns - epoch_ns) / NS_PER_S, 1),
                    "lead_time_s": round(alert.lead_time_s, 1),
                }
                for alert in node.alerts.alerts
            ],
            # At the end: each link's state, and how many track states and impact
            # predictions went unrefreshed (`fusion.freshness`).
            "links": {
                link.peer: {
                    "state": link.state,
                    "last_heartbeat_age_s": None if link.age_s is None else round(link.age_s, 1),
                }
                for link in link_states(node.picture, federation.peers(party), node.clock.now_ns())
            },
            "stale_items": len(stale_items(node.picture, node.clock.now_ns())),
        }
    relay: dict[str, Any] = {"forwarded": 0, "redacted": 0, "refused": 0, "rejected": 0}
    audits: dict[str, Any] = {}
    for node in nodes.values():
        if node.relay is None:
            continue
        audit = node.relay.audit
        for outcome in ("forwarded", "redacted", "refused", "rejected"):
            relay[outcome] += sum(1 for e in audit if e.outcome == outcome)
        keyset = node.relay.keys.keyset
        # The file, when there is one: what another party would be handed to check.
        lines = audit.lines() if audit.path is None else read_lines(audit.path)
        check = verify_lines(lines, keyset)
        # What each link peer countersigned of it: the last round's head (the heads
        # signed since, at the latest on close, no witness has seen yet).
        witnessed = {
            peer: latest
            for peer in federation.peers(node.party)
            if (latest := nodes[peer].witness.latest(node.party)) is not None
        }
        problem = vouch_problem(
            check, lines, owner=node.party, keyset=keyset, witnessed=list(witnessed.values())
        )
        audits[node.party] = {
            "entries": check.entries,
            "head": audit.head,
            "signed_heads": check.heads_verified,
            "root": None if check.last_head is None else check.last_head.root,
            "chain_ok": check.vouched and check.heads_verified == check.heads,
            "witnessed": {peer: w.head.tree_size for peer, w in witnessed.items()},
            "cosignatures": len(node.relay.heads.cosigned.records),
            "vouched": problem is None,
        }
    if audits:
        relay["audit"] = audits
    leaks = observer.leaks
    return {
        "scenario": scenario.name,
        "federation": federation.name,
        "epoch": utc_ns_to_iso(epoch_ns),
        "parties": parties,
        "relay": relay,
        "deliveries_checked": observer.deliveries,
        "duplicate_deliveries": observer.duplicates,
        "leaks": len(leaks),
        "leak_details": [
            f"{x.recipient} got {x.what} of {x.msg_id} from {x.originator}" for x in leaks
        ],
    }


def _seconds_after(ns: int | None, launch_ns: int) -> float | None:
    return None if ns is None else round((ns - launch_ns) / NS_PER_S, 1)


def _launch_summary(contributions: list[Contribution]) -> dict[str, Any] | None:
    """The tightest launch report among one originator's tracks of the missile."""
    best = tightest_launch(contributions)
    if best is None:
        return None
    return {
        "lat": round(best.launch_lat, 4),
        "lon": round(best.launch_lon, 4),
        "time": utc_ns_to_iso(best.launch_time),
        "radius_95_km": round(best.launch_aou.semi_major_m / 1000, 1),
        "range_class": best.range_class,
        "track_number": best.trk_id,
    }


def _impact_summary(ipp: ImpactPrediction) -> dict[str, Any]:
    return {
        "lat": round(ipp.impact_lat, 4),
        "lon": round(ipp.impact_lon, 4),
        "time": utc_ns_to_iso(ipp.impact_time),
        "semi_major_km": round(ipp.impact_aou.semi_major_m / 1000, 2),
        "semi_minor_km": round(ipp.impact_aou.semi_minor_m / 1000, 2),
        "orientation_deg": round(ipp.impact_aou.orientation_deg, 1),
    }


def _event_summary(
    event: Event, trajectories: dict[str, Trajectory], epoch_ns: int
) -> dict[str, Any]:
    found = event.latest_impact()
    best = None if found is None else event.contributions[found[0]]
    truth = _nearest_truth(best, trajectories)
    launch_ns = epoch_ns + round(truth.launch_time_s * NS_PER_S) if truth else epoch_ns
    # An originator may have several tracks of one missile, one after another (a track
    # deleted, the missile re-acquired): `by_originator` gives the latest one's number,
    # status, launch and impact, and the first times and report counts over all of them.
    contributions = sorted(
        event.contributions.values(), key=lambda c: (c.originator, c.first_received_ns)
    )
    firsts = [(c.launch_received_ns, c.impact_received_ns) for c in contributions]
    summary: dict[str, Any] = {
        "event_id": event.event_id,
        "data_mode": None if event.data_mode is None else str(event.data_mode),
        "originators": sorted({c.originator for c in contributions}),
        "merged_from": event.merged_from,
        "split_off": event.split_off,
        "track_reports": sum(c.track_count for c in contributions),
        "first_launch_report_after_launch_s": _seconds_after(
            min((f[0] for f in firsts if f[0] is not None), default=None), launch_ns
        ),
        "first_impact_prediction_after_launch_s": _seconds_after(
            min((f[1] for f in firsts if f[1] is not None), default=None), launch_ns
        ),
        "by_originator": {
            c.originator: {
                "track_number": c.trk_id,
                "tracks": [x.trk_id for x in mine],
                "track_reports": sum(x.track_count for x in mine),
                "status": c.status.value,
                "first_launch_report_after_launch_s": _seconds_after(
                    min((x.launch_received_ns for x in mine if x.launch_received_ns), default=None),
                    launch_ns,
                ),
                "first_impact_prediction_after_launch_s": _seconds_after(
                    min((x.impact_received_ns for x in mine if x.impact_received_ns), default=None),
                    launch_ns,
                ),
                "launch": _launch_summary(mine),
                "impact_prediction": None if c.impact is None else _impact_summary(c.impact),
            }
            for c in contributions
            if (mine := [x for x in contributions if x.originator == c.originator])
        },
    }
    fused = event.fused_state()
    if fused is not None:
        summary["fused_track"] = {
            "time": utc_ns_to_iso(fused.epoch),
            "originators": list(fused.originators),
            "position_sigma_m": round(float(np.sqrt(np.trace(fused.cov[:3, :3]) / 3.0)), 1),
        }
    if best is not None and best.impact is not None:
        ipp = best.impact
        summary["impact_prediction"] = _impact_summary(ipp) | {"by": best.originator}
        if truth is not None:
            error_m = float(
                surface_distance_m(
                    ipp.impact_lat, ipp.impact_lon, truth.impact_lat_deg, truth.impact_lon_deg
                )
            )
            truth_ns = launch_ns + round(truth.impact_time_s * NS_PER_S)
            summary["true_impact"] = {
                "lat": round(truth.impact_lat_deg, 4),
                "lon": round(truth.impact_lon_deg, 4),
                "time": utc_ns_to_iso(truth_ns),
            }
            summary["impact_error_km"] = round(error_m / 1000, 3)
            summary["impact_time_error_s"] = round((ipp.impact_time - truth_ns) / NS_PER_S, 2)
    return summary


def _nearest_truth(
    best: Contribution | None, trajectories: dict[str, Trajectory]
) -> Trajectory | None:
    ipp = None if best is None else best.impact
    return nearest_flight(
        trajectories.values(), None if ipp is None else (ipp.impact_lat, ipp.impact_lon)
    )
