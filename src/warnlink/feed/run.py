"""`warnlink feed`: every party's simulated national tracker played into a running
`warnlink up`, through the nodes' input ports only, then the outcome read back.

1. Simulate the scenario as the demo does (`sim.scenario.simulate_scenario`, each
   party's tracker by `sources.simulation.simulate_trackers`, the same seed, the same
   draws).
2. Wait for ``D/endpoints.json`` (`readback.wait_endpoints`); once every source is
   connected, place the scenario on the wall clock (`timeline.place`: real time, the
   epoch moved to now; its docstring says why there is no faster speed).
3. Register a source per party, ``feed-<P>`` (`readback.source_files`), and connect it
   to its party's port (`senders`: UDL over HTTPS by default, UDL over NATS, or CoT).
4. Play: per party, the records falling due are sent as one batch when they do
   (`sources.simulation.SimulatedSource.due`), each party on its own task, so a slow
   port holds up only its own party; until the last impact (or `until_s`) and the tail,
   or until `stop` is set (Ctrl-C).
5. Read back each party's picture, applied-log and CAP files, and summarise
   (`summary.summarise_feed`).

Nothing here reaches into a node: what a node holds is read the way an operator or an
auditor could, from its API and its data folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from warnlink.demo import default_federation_path
from warnlink.errors import ConfigError, MessageError
from warnlink.feed.options import READY_WAIT_S, TAIL_S, VIAS
from warnlink.feed.readback import (
    applied_entries,
    party_state,
    read_alerts,
    source_files,
    wait_endpoints,
)
from warnlink.feed.senders import Sender, sender_for, source_tls
from warnlink.feed.summary import PartyReadback, summarise_feed
from warnlink.feed.timeline import Timeline, place
from warnlink.model import Envelope, decode
from warnlink.model.time import NS_PER_S
from warnlink.security.certs import CERTS_DIR, party_certs
from warnlink.sharing.federation import load_federation
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_scenario
from warnlink.sources.simulation import SimulatedSource, simulate_trackers

log = logging.getLogger(__name__)

#: Seconds between two progress lines.
PROGRESS_EVERY_S: Final = 10.0

Progress = Callable[[float, str], None]
"""Called with (seconds after the scenario's epoch, one-line status) as the feed plays."""


def source_name(party: str) -> str:
    """The name the feed registers as `party`'s source."""
    return f"feed-{party.lower()}"


async def run_feed(
    data: Path,
    federation_path: Path | None = None,
    scenario_path: Path | None = None,
    *,
    via: str = "http",
    seed: int = 1,
    until_s: float | None = None,
    tail_s: float = TAIL_S,
    wait_s: float = READY_WAIT_S,
    stop: asyncio.Event | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Feed a running federation a scenario; returns the summary (`summary.summarise_feed`).

    Args:
        data: the data folder of the running ``warnlink up``.
        federation_path: the federation `up` runs (the packaged trilateral by default).
        scenario_path: the scenario (the packaged default by default).
        via: ``http``, ``nats`` or ``cot``: the port every party's source uses.
        seed: seeds the simulated sensors' noise (the demo's for the same seed).
        until_s: play only the records falling due up to this scenario time (s after
            its epoch); None plays them all.
        tail_s: seconds played after the last impact (or `until_s`).
        wait_s: how long to wait for `up`'s ``endpoints.json``.
        stop: set it to end the playback early (the summary is still read).
        progress: told how the playback goes.

    Raises:
        ConfigError: an unknown `via`, a scenario party not in the federation, nothing to
            play; a source cannot be registered.
        TransportError: `up` is not running, a port does not answer, a picture cannot
            be read.
        StoreError: an applied-log cannot be copied.
    """
    if via not in VIAS:
        raise ConfigError(f"unknown way in {via!r}; use one of {', '.join(VIAS)}")
    federation = load_federation(federation_path or default_federation_path())
    scenario = load_scenario(scenario_path or default_scenario_path())
    parties = tuple(federation.parties)
    unknown = sorted(set(scenario.parties) - set(parties))
    if unknown:
        raise ConfigError(
            f"scenario sensors belong to parties not in federation {federation.name}: "
            + ", ".join(unknown)
        )
    trajectories = simulate_scenario(scenario)
    estimates = await asyncio.to_thread(simulate_trackers, scenario, trajectories, parties, seed)
    endpoints = await wait_endpoints(data, parties, wait_s)
    last_impact_s = max(t.launch_time_s + t.impact_time_s for t in trajectories.values())
    senders: dict[str, Sender] = {}
    try:
        for party in parties:
            cert, key = await asyncio.to_thread(
                source_files, data, party, source_name(party), now_ns=time.time_ns()
            )
            ca = party_certs(data / CERTS_DIR, party).ca
            senders[party] = sender_for(
                via, endpoints[party], source_tls(str(ca), str(cert), str(key))
            )
            await senders[party].open()
        timeline = place(
            (e for found in estimates.values() for e in found),
            last_impact_s,
            start_ns=time.time_ns(),
            until_s=until_s,
            tail_s=tail_s,
        )
        sources = {
            party: SimulatedSource(
                party,
                [e for e in found if e.available_s <= timeline.until_s],
                timeline.epoch_ns,
                source=source_name(party),
            )
            for party, found in estimates.items()
        }
        await _play(sources, senders, timeline, stop or asyncio.Event(), progress)
    finally:
        for sender in senders.values():
            await sender.close()
    # What a picture holds is in its applied-log by then (a node logs, then applies),
    # and each delivery's original is in its originator's (read after them all).
    states = {p: await party_state(data, p, endpoints[p]["http"]) for p in parties}
    applied = {p: await asyncio.to_thread(_applied, data, p) for p in parties}
    originals = [
        e
        for p in parties
        for _, e in await asyncio.to_thread(_applied, data, p)
        if e.originator == p
    ]
    read = {
        p: PartyReadback(
            name=federation.parties[p],
            state=states[p],
            applied=applied[p],
            alerts=read_alerts(data, p),
            sent=senders[p].stats.as_json(),
        )
        for p in parties
    }
    return summarise_feed(
        scenario=scenario.name,
        federation=federation.name,
        via=via,
        timeline=timeline,
        trajectories=trajectories,
        parties=read,
        originals=originals,
    )


def _applied(data: Path, party: str) -> list[tuple[int, Envelope]]:
    """`party`'s applied-log decoded; an entry damaged or unreadable is logged and left out."""
    found: list[tuple[int, Envelope]] = []
    for entry in applied_entries(data, party):
        try:
            if not entry.intact:
                raise MessageError(f"entry {entry.entry_id} does not match its digest")
            found.append((entry.time_ns, decode(entry.data)))
        except MessageError as exc:
            log.warning("%s's applied-log: %s", party, exc)
    return found


async def _play(
    sources: dict[str, SimulatedSource],
    senders: dict[str, Sender],
    timeline: Timeline,
    stop: asyncio.Event,
    progress: Progress | None,
) -> None:
    """Send each party's records as they fall due, until the end or `stop`."""

    async def party_task(party: str) -> None:
        source, sender = sources[party], senders[party]
        while (due_ns := source.next_due_ns) is not None:
            await _sleep_until(due_ns, stop)
            if stop.is_set():
                return
            batch = [d.record for d in source.due(time.time_ns())]
            if batch:
                await sender.send(batch)

    tasks = [asyncio.create_task(party_task(p)) for p in sources if len(sources[p])]
    try:
        next_line = time.monotonic()
        while time.time_ns() < timeline.end_ns and not stop.is_set():
            if progress is not None and time.monotonic() >= next_line:
                progress(timeline.scenario_s(time.time_ns()), _status(sources, senders))
                next_line += PROGRESS_EVERY_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        stop.set()  # the party tasks end at their next wait
        await asyncio.gather(*tasks)


async def _sleep_until(wall_ns: int, stop: asyncio.Event) -> None:
    delay_s = (wall_ns - time.time_ns()) / NS_PER_S
    if delay_s > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay_s)


def _status(sources: dict[str, SimulatedSource], senders: dict[str, Sender]) -> str:
    return " | ".join(
        f"{party} sent {senders[party].stats.records}/{len(source)}"
        + (
            f" refused {sum(senders[party].stats.refused.values())}"
            if senders[party].stats.refused
            else ""
        )
        for party, source in sources.items()
    )
