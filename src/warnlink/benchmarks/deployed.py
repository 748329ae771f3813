"""Load through the input ports of a federation run as `warnlink up` runs it.

The shape of the salvo, soak and scale benchmarks: `deploy.Deployment` (a nats-server per
party with mutual TLS and leaf links, JetStream fsync always; every node and relay an OS
process of its own) in a temporary data folder, with one national source registered per
sending party (`SOURCE`, TEST data). This process plays those sources: each sends UDL
``createBulk`` batches (`ingest_load.Salvo`) over NATS request/reply on its party's server
(`nats_topology.INGEST_SUBJECT`), the path a national tracker publishing MissileTrack
takes.

The schedule (`offer`): every `tick_s` each sending party's source emits one batch of the
next missiles due (round robin over its missiles, `rate` records a second, fractions
carried over), every record's epoch the tick's time: a tracker's scan. A record is *due*
at its epoch; a source that falls behind sends what is due late, so its lateness counts.

What each recipient applied and when is read from the nodes' applied-logs after the
processes stop (`ingest_observe`: a node holds its files locked while it runs); while they
run, each node's ``/metrics`` counts the track reports it took in, so a step can wait for
its deliveries (`wait_received`). CPU and resident memory per process from /proc
(`faults.measure.process_usage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
import nats
import nats.errors
from nats.aio.client import Client

from warnlink.benchmarks.ingest import track_reports
from warnlink.benchmarks.ingest_load import HttpsClient, Salvo, client_tls, register_test_source
from warnlink.benchmarks.ingest_observe import applied_track_reports, track_numbers
from warnlink.deploy import Deployment, ensure_certs
from warnlink.errors import TransportError
from warnlink.faults.measure import process_usage
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.nats_topology import INGEST_SUBJECT
from warnlink.sharing.routing import route
from warnlink.sources.udl_encode import udl_body

SOURCE: Final = "load"
"""The national source each sending party registers."""
KIND: Final = "track_report"
ANSWER_S: Final = 10.0
"""Longest wait for a node to answer a batch before the source goes on without it."""
LATE_S: Final = 10.0
POLL_S: Final = 0.5
"""The least time a node is given to answer one ``/metrics`` poll."""
"""How far past its window a source still sends what it owes (at least)."""


def recipients(federation: Federation, originator: str) -> dict[str, str | None]:
    """Who receives `originator`'s track reports under its standing rules, and how:
    recipient -> the relay it comes through (None: direct)."""
    label = federation.label_for(originator, KIND)
    out: dict[str, str | None] = {}
    for recipient in label.rel_to:
        found = route(federation, originator, KIND, label, recipient)
        if found is not None:
            out[recipient] = found.via
    return out


@dataclass(frozen=True, slots=True)
class Offered:
    """One batch the schedule offered: its party, its records' track ids, their epoch
    (= when they were due, UTC ns), and what became of it: ``accepted`` (answered as
    taken whole), ``refused`` (answered otherwise), ``unanswered`` (no answer within
    `ANSWER_S`: the node may still take it) or ``unsent`` (its time came after the
    sending window had closed: the source fell that far behind)."""

    party: str
    track_ids: tuple[str, ...]
    due_ns: int
    outcome: str

    @property
    def sent(self) -> bool:
        return self.outcome != "unsent"

    @property
    def taken(self) -> bool:
        """Whether the node may have taken it (its deliveries are expected)."""
        return self.outcome in ("accepted", "unanswered")


def records_in(offered: Sequence[Offered], outcome: str | None = None) -> int:
    """Records in `offered`'s batches: all, or those with that `Offered.outcome`."""
    return sum(len(b.track_ids) for b in offered if outcome is None or b.outcome == outcome)


@dataclass
class Deployed:
    """A running federation with its sources (see the module docstring)."""

    data: Path
    federation: Federation
    deployment: Deployment
    endpoints: dict[str, dict[str, str]]
    sources: dict[str, tuple[Path, Path]]
    salvos: dict[str, Salvo] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        """Every process by role and party: ``node.ROK``, ``relay.USA``, ``nats.USA``."""
        out = {f"nats.{p}": s.pid for p, s in self.deployment.servers.items() if s.pid}
        for entry in self.deployment.processes:
            role, _, party = entry.name.partition("-")
            out[f"{role}.{party}"] = entry.process.pid
        return dict(sorted(out.items()))

    def operator(self, party: str) -> HttpsClient:
        """An HTTPS client of `party`'s node as its operator (for ``/metrics``)."""
        from warnlink.security.certs import CERTS_DIR, party_certs

        certs = party_certs(self.data / CERTS_DIR, party)
        tls = client_tls(certs.ca, certs.cert("operator"), certs.key("operator"))
        return HttpsClient(self.endpoints[party]["http"], tls)


@contextlib.asynccontextmanager
async def deployed(
    federation_path: Path,
    data: Path,
    senders_: Sequence[str],
    missiles: int,
    *,
    distinct: bool = False,
) -> AsyncIterator[Deployed]:
    """`warnlink up` of `federation_path` in `data`, with source `SOURCE` registered for
    each party of `senders_`, `missiles` missiles each (the same missiles seen by every
    party, or with `distinct` other ones each); every process stopped after."""
    federation = load_federation(federation_path)
    ensure_certs(federation, data)
    now = time.time_ns()
    sources = {}
    for party in senders_:
        sources[party] = register_test_source(data, party, SOURCE, now)
    deployment = Deployment(federation_path, data)
    try:
        await asyncio.to_thread(deployment.start)
        endpoints = await asyncio.to_thread(deployment.wait_ready)
        salvos = {
            p: Salvo(SOURCE, p, missiles, now, first=i * missiles if distinct else 0)
            for i, p in enumerate(sources)
        }
        yield Deployed(data, federation, deployment, endpoints, sources, salvos)
    finally:
        await asyncio.to_thread(deployment.stop)


async def offer(
    fed: Deployed, parties: Sequence[str], rate: float, duration_s: float, tick_s: float
) -> list[Offered]:
    """Each party of `parties` sends `rate` records a second for `duration_s`, a batch
    every `tick_s` (module docstring), one request at a time; what is due after
    `duration_s` plus `LATE_S` (or twice `duration_s`, if longer) is not sent. Every batch
    offered, sent or not."""
    from warnlink.security.certs import CERTS_DIR, party_certs

    offered: list[Offered] = []
    start_ns = time.time_ns() + 20_000_000
    ticks = max(1, round(duration_s / tick_s))
    close_ns = start_ns + round((duration_s + max(LATE_S, duration_s)) * 1e9)

    async def source(party: str) -> None:
        salvo = fed.salvos[party]
        cert, key = fed.sources[party]
        tls = client_tls(party_certs(fed.data / CERTS_DIR, party).ca, cert, key)
        ids = salvo.track_ids
        client = await nats.connect(fed.endpoints[party]["nats"], tls=tls, allow_reconnect=False)
        try:
            done = 0
            for tick in range(ticks):
                due_ns = start_ns + round(tick * tick_s * 1e9)
                upto = math.floor((tick + 1) * tick_s * rate)
                if upto == done:
                    continue
                chosen = tuple(ids[k % len(ids)] for k in range(done, upto))
                done = upto
                delay = (due_ns - time.time_ns()) / 1e9
                if delay > 0:
                    await asyncio.sleep(delay)
                if time.time_ns() > close_ns:
                    offered.append(Offered(party, chosen, due_ns, "unsent"))
                    continue
                body = udl_body(salvo.records(due_ns, chosen))
                offered.append(Offered(party, chosen, due_ns, await _request(client, body)))
        finally:
            await client.close()

    await asyncio.gather(*(source(p) for p in parties))
    return offered


async def _request(client: Client, body: bytes) -> str:
    """One batch to the node's ingest; the `Offered` outcome."""
    try:
        reply = await client.request(INGEST_SUBJECT, body, timeout=ANSWER_S)
    except nats.errors.TimeoutError:
        return "unanswered"
    try:
        answer = msgspec.json.decode(reply.data)
    except msgspec.DecodeError:
        return "refused"
    return "refused" if not isinstance(answer, dict) or answer.get("refused") else "accepted"


def expected_deliveries(federation: Federation, offered: Iterable[Offered]) -> dict[str, int]:
    """Recipient -> track reports it should take in from `offered`."""
    out: dict[str, int] = {}
    for batch in offered:
        if not batch.taken:
            continue
        for recipient in recipients(federation, batch.party):
            out[recipient] = out.get(recipient, 0) + len(batch.track_ids)
    return out


async def received(fed: Deployed, parties: Iterable[str]) -> dict[str, int]:
    """Track reports each of `parties` has taken into its picture so far (``/metrics``)."""
    out = {}
    for party in parties:
        client = fed.operator(party)
        try:
            out[party] = await track_reports(client, "received")
        finally:
            await client.close()
    return out


async def wait_received(
    fed: Deployed, targets: Mapping[str, int], timeout_s: float, every_s: float = 0.1
) -> bool:
    """Until each party of `targets` has taken in at least that many track reports; False
    if `timeout_s` passed first."""
    deadline = time.monotonic() + timeout_s
    clients = {p: fed.operator(p) for p in targets}
    counts = dict.fromkeys(targets, 0)
    try:
        while True:
            for party, client in clients.items():
                # A node too busy to answer now is asked again at the next round; the
                # wait is bounded by the deadline, not by how slowly the node answers.
                left = max(POLL_S, deadline - time.monotonic())
                try:
                    counts[party] = await asyncio.wait_for(track_reports(client, "received"), left)
                except (TransportError, TimeoutError):
                    await client.close()
            if all(counts[p] >= n for p, n in targets.items()):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(every_s)
    finally:
        for client in clients.values():
            await client.close()


def usage(pids: Mapping[str, int]) -> dict[str, tuple[float, int]]:
    """CPU seconds and resident bytes of each process so far (absent where /proc is not)."""
    return {name: u for name, pid in pids.items() if (u := process_usage(pid)) is not None}


def cpu_pct(
    before: Mapping[str, tuple[float, int]], after: Mapping[str, tuple[float, int]], wall_s: float
) -> dict[str, float]:
    """% of one core each process used between two `usage` samples `wall_s` apart."""
    return {
        name: 100.0 * (after[name][0] - before[name][0]) / wall_s
        for name in before.keys() & after.keys()
        if wall_s > 0
    }


@dataclass(frozen=True, slots=True)
class Applications:
    """When each recipient applied each (originator, party's track number, epoch)."""

    first: dict[str, dict[tuple[str, int, int], int]]
    numbers: dict[tuple[str, str], int]

    def latencies_ms(
        self, federation: Federation, offered: Iterable[Offered], until_ns: int
    ) -> tuple[dict[str, list[float]], dict[str, int]]:
        """Per recipient, ms from each record's due time to its application there; a
        record never applied (or never sent) counts with its wait until `until_ns` (and
        is counted missing)."""
        out: dict[str, list[float]] = {}
        missing: dict[str, int] = {}
        for batch in offered:
            for recipient in recipients(federation, batch.party):
                applied = self.first.get(recipient, {})
                samples = out.setdefault(recipient, [])
                for track_id in batch.track_ids:
                    number = self.numbers.get((batch.party, track_id))
                    key = (batch.party, -1 if number is None else number, batch.due_ns)
                    when = applied.get(key)
                    if when is None:
                        missing[recipient] = missing.get(recipient, 0) + 1
                        when = until_ns
                    samples.append((when - batch.due_ns) / 1e6)
        return out, missing


def read_applications(fed: Deployed) -> Applications:
    """Every picture's applied track reports and the senders' track numbers, read from
    the files of the stopped node processes."""
    first: dict[str, dict[tuple[str, int, int], int]] = {}
    for party in fed.federation.parties:
        seen: dict[tuple[str, int, int], int] = {}
        for a in applied_track_reports(fed.data, party):
            if a.originator != party:
                seen.setdefault((a.originator, a.trk_id, a.epoch_ns), a.time_ns)
        first[party] = seen
    numbers: dict[tuple[str, str], int] = {}
    for party, salvo in fed.salvos.items():
        found = track_numbers(fed.data, party, [(SOURCE, t) for t in salvo.track_ids])
        numbers.update({(party, track): n for (_, track), n in found.items()})
    return Applications(first, numbers)
