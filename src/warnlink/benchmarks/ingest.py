"""Figure 6: a node's input port, in records per second and in latency, deployed.

The deployed shape: `warnlink up`'s processes (`deploy.Deployment`: a nats-server per
party, mutual TLS, leaf links, JetStream fsync always; each node and USA's relay a
process of its own) in a temporary folder, with ROK's sources registered
(`sources.admin.add_source`). ROK's node process serves the UDL route over HTTPS
(uvicorn, mutual TLS) and ``ingest.missiletrack`` on its NATS server; behind both, its
intake (`sources.intake`: checks, a SQLite journal durable before the 2xx) and its
node. The clients run in this process (`ingest_load`): UDL createBulk bodies of a salvo,
one record per missile.

1. **Latency** at a stated offered rate: source ``paced`` sends its `PACED_MISSILES`
   missiles once a second over HTTPS; per record, from its batch's 2xx to its track
   report in USA's picture (sent to USA directly) and in JPN's (through USA's relay,
   redacted). The first `PACED_WARM_UP` batches are not counted (new tracks). Then a
   bounded wait (`DRAIN_S`) for the last ones to arrive.
2. **A new salvo**: source ``salvo`` sends one batch of its `MISSILES` missiles, all
   new tracks (each reported with its status, launch and impact besides its track
   report), and the benchmark waits until ROK has sent their track reports (its
   ``/metrics``): how long a new salvo takes to reach the wire; the throughput phases'
   warm-up.
3. **Throughput** over HTTPS and over NATS, from 1 client and from `CLIENTS` concurrent
   clients (connections of source ``salvo``): `Sizes.batches` batches of `MISSILES`
   records, back to back, their event time `SPACING_NS` apart. Accepted: records
   answered 2xx per second. Applied: ROK's own track reports applied during the phase,
   per second (records handed to the node and turned into reports, from whichever
   phase they came: the journal decouples the two). Then `Sizes.tail_s` without
   requests: the node working off its backlog. The node process's CPU, % of one core,
   over each.
4. **Reference**, same run, same servers: the node processes stop and `ingest_bare`
   serves the same two transports with nothing behind them, in a process of its own;
   the same phases, clients and bodies; and the round trip of the paced batch over bare
   NATS request/reply (the latencies' reference).
5. When each record was applied, at ROK and in the other pictures, is read from the
   nodes' applied-logs after they stop (`ingest_observe`).

The target: a node takes 6,000 track records a second (a 100-missile salvo seen by
three parties at 1 Hz, 20 times over) on one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec
import nats
from nats.aio.client import Client

from warnlink.benchmarks.figure import Figure, Result, figure, quantiles
from warnlink.benchmarks.ingest_load import (
    ANSWER_TIMEOUT_S,
    INGEST_PATH,
    HttpsClient,
    Salvo,
    client_tls,
    register_test_source,
)
from warnlink.benchmarks.ingest_observe import (
    Sent,
    applied_rate,
    applied_track_reports,
    delays_ms,
    track_numbers,
)
from warnlink.demo import default_federation_path
from warnlink.deploy import Deployment, ensure_certs
from warnlink.errors import TransportError
from warnlink.faults.measure import process_usage
from warnlink.model.time import NS_PER_S
from warnlink.security.certs import CERTS_DIR, party_certs
from warnlink.sharing.federation import load_federation
from warnlink.sharing.nats_topology import INGEST_SUBJECT
from warnlink.transport.nats_server import parent_death_signal

PARTY: Final = "ROK"
DIRECT: Final = "USA"
"""ROK sends its reports to USA directly, and to JPN through USA's relay."""
RELAYED: Final = "JPN"
MISSILES: Final = 100
TARGET_RATE: Final = 6_000.0
"""Records/s a node takes on one core: 100 missiles x 3 parties x 1 Hz, 20 times over."""
SPACING_NS: Final = round(MISSILES / TARGET_RATE * NS_PER_S)
"""Event time between two batches of a throughput phase: the salvo at the target rate."""
PACED_MISSILES: Final = 10
PACED_HZ: Final = 1.0
PACED_WARM_UP: Final = 2
CLIENTS: Final = 4
PHASES: Final = (("http", 1), ("http", CLIENTS), ("nats", 1), ("nats", CLIENTS))
DRAIN_S: Final = 30.0
"""Longest wait for the paced reports to reach both pictures before the next phase."""
WARM_S: Final = 120.0
"""Longest wait for the salvo's new tracks to be reported before the phases."""
READY_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much the benchmark sends.

    Attributes:
        paced_batches: batches of the latency phase (one a second).
        batches: batches of `MISSILES` records per throughput phase.
        tail_s: seconds after the throughput phases, without requests.
        round_trips: requests of the paced batch over bare NATS (the latency reference).
    """

    paced_batches: int
    batches: int
    tail_s: float
    round_trips: int


QUICK: Final = Sizes(paced_batches=8, batches=10, tail_s=2.0, round_trips=100)
FULL: Final = Sizes(paced_batches=62, batches=40, tail_s=10.0, round_trips=500)


@dataclass(frozen=True, slots=True)
class Run:
    """One closed-loop phase: its span (UTC ns), each request's round trip (s), and the
    serving process's CPU over it (% of one core; None where /proc is not there)."""

    start_ns: int
    end_ns: int
    records: int
    round_trips_s: list[float]
    cpu_pct: float | None

    @property
    def rate(self) -> float:
        return self.records / ((self.end_ns - self.start_ns) / NS_PER_S)


@dataclass
class Measured:
    """Everything the benchmark measured, before it becomes figures."""

    node: dict[str, Run] = field(default_factory=dict)
    bare: dict[str, Run] = field(default_factory=dict)
    applied: dict[str, float] = field(default_factory=dict)
    tail: Run | None = None
    delays_ms: dict[str, list[float]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    reference_trips_s: list[float] = field(default_factory=list)
    new_salvo: dict[str, Any] = field(default_factory=dict)
    body_bytes: int = 0
    paced_body_bytes: int = 0
    load: dict[str, list[float]] = field(default_factory=dict)


Send = Callable[[bytes], Awaitable[None]]
"""Sends one batch; raises unless it was answered as accepted whole."""
_C = TypeVar("_C")


def phase_name(transport: str, clients: int) -> str:
    """``http.1``, ``nats.4``...: a phase's name in the figures (and its source's, with a
    dash)."""
    return f"{transport}.{clients}"


async def _post(client: HttpsClient, body: bytes) -> None:
    status, answer = await client.request("POST", INGEST_PATH, body)
    if status != 200:
        raise TransportError(f"a batch was refused ({status}): {answer[:300]!r}")


async def _request(client: Client, body: bytes) -> None:
    reply = await client.request(INGEST_SUBJECT, body, timeout=ANSWER_TIMEOUT_S)
    answer = msgspec.json.decode(reply.data)
    if not isinstance(answer, dict) or answer.get("refused"):
        raise TransportError(f"a batch was refused: {reply.data[:300]!r}")


@contextlib.asynccontextmanager
async def senders(
    transport: str, url: str, tls: ssl.SSLContext, count: int
) -> AsyncIterator[list[Send]]:
    """`count` connected clients of one source (``http``: HTTPS to `url`; ``nats``:
    requests on the server at `url`), closed on leaving."""
    if transport == "http":
        clients = [HttpsClient(url, tls) for _ in range(count)]
        try:
            for client in clients:
                await client.connect()
            yield [_bound(_post, c) for c in clients]
        finally:
            for client in clients:
                await client.close()
        return
    connections: list[Client] = []
    try:
        for _ in range(count):
            connections.append(await nats.connect(url, tls=tls, allow_reconnect=False))
        yield [_bound(_request, c) for c in connections]
    finally:
        for connection in connections:
            await connection.close()


def _bound(send: Callable[[_C, bytes], Awaitable[None]], client: _C) -> Send:
    async def bound(body: bytes) -> None:
        await send(client, body)

    return bound


async def closed_loop(sends: Sequence[Send], bodies: Sequence[bytes], pid: int | None) -> Run:
    """Send `bodies` through `sends` (each sends the next one once answered) as fast as
    they are answered; the process `pid` serves them (its CPU is measured)."""
    pending = iter(bodies)
    trips: list[float] = []

    async def client(send: Send) -> None:
        for body in pending:
            began = time.perf_counter()
            await send(body)
            trips.append(time.perf_counter() - began)

    before = None if pid is None else process_usage(pid)
    start_ns = time.time_ns()
    await asyncio.gather(*(client(s) for s in sends))
    end_ns = time.time_ns()
    after = None if pid is None else process_usage(pid)
    return Run(
        start_ns, end_ns, len(bodies) * MISSILES, trips, _cpu(before, after, start_ns, end_ns)
    )


def _cpu(
    before: tuple[float, int] | None, after: tuple[float, int] | None, start_ns: int, end_ns: int
) -> float | None:
    if before is None or after is None:
        return None
    return (after[0] - before[0]) / ((end_ns - start_ns) / NS_PER_S) * 100.0


def throughput_bodies(salvo: Salvo, batches: int) -> list[bytes]:
    """`batches` batches of the salvo from now on, `SPACING_NS` of event time apart."""
    start = time.time_ns()
    return [salvo.body(start + k * SPACING_NS) for k in range(batches)]


async def paced(client: HttpsClient, salvo: Salvo, batches: int) -> list[Sent]:
    """One batch of the salvo's state now, at `PACED_HZ`, each noted as answered."""
    sent: list[Sent] = []
    track_ids = tuple(salvo.track_ids)
    start = time.perf_counter()
    for k in range(batches):
        delay = start + k / PACED_HZ - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        epoch_ns = time.time_ns()
        await _post(client, salvo.body(epoch_ns))
        sent.append(Sent(salvo.source, track_ids, epoch_ns, time.time_ns()))
    return sent


_COUNTED = re.compile(
    rb'^warnlink_messages_(sent|received)_total\{kind="track_report"\} (\S+)$', re.M
)


async def track_reports(client: HttpsClient, counted: str) -> int:
    """Track reports a node has ``sent`` or ``received`` (taken into its picture), from
    its ``/metrics``."""
    status, text = await client.request("GET", "/metrics")
    found = {m[1].decode(): m[2] for m in _COUNTED.finditer(text)} if status == 200 else {}
    return int(float(found.get(counted, b"0")))


async def wait_counted(
    watchers: Sequence[HttpsClient], counted: str, expected: Sequence[int], timeout_s: float
) -> bool:
    """Until each watched node has `counted` (``sent``, ``received``) its `expected` track
    reports; False if `timeout_s` passed first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = [await track_reports(w, counted) for w in watchers]
        if all(count >= least for count, least in zip(counts, expected, strict=True)):
            return True
        await asyncio.sleep(0.2)
    return False


@dataclass
class _Federation:
    data: Path
    deployment: Deployment
    endpoints: dict[str, dict[str, str]]
    sources: dict[str, tuple[Path, Path]]

    def tls(self, source: str) -> ssl.SSLContext:
        """A client context for `source`: its certificate and key, the party's CA."""
        cert, key = self.sources[source]
        return client_tls(party_certs(self.data / CERTS_DIR, PARTY).ca, cert, key)

    def operator(self, party: str) -> HttpsClient:
        certs = party_certs(self.data / CERTS_DIR, party)
        tls = client_tls(certs.ca, certs.cert("operator"), certs.key("operator"))
        return HttpsClient(self.endpoints[party]["http"], tls)

    def node_pid(self) -> int:
        return next(p.process.pid for p in self.deployment.processes if p.name == f"node-{PARTY}")


@contextlib.asynccontextmanager
async def deployed(data: Path) -> AsyncIterator[_Federation]:
    """`warnlink up` in `data` with ROK's benchmark sources registered; all stopped after."""
    path = default_federation_path()
    ensure_certs(load_federation(path), data)
    names = ["paced", "salvo"]
    now = time.time_ns()
    sources = {}
    for name in names:
        sources[name] = register_test_source(data, PARTY, name, now)
    deployment = Deployment(path, data)
    try:
        await asyncio.to_thread(deployment.start)
        endpoints = await asyncio.to_thread(deployment.wait_ready)
        yield _Federation(data, deployment, endpoints, sources)
    finally:
        await asyncio.to_thread(deployment.stop)


@contextlib.asynccontextmanager
async def bare_process(data: Path) -> AsyncIterator[tuple[str, int]]:
    """`ingest_bare` for ROK in a process of its own: its HTTPS URL and its pid."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "warnlink.benchmarks.ingest_bare",
        str(data),
        PARTY,
        stdout=subprocess.PIPE,
        preexec_fn=parent_death_signal(),
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), READY_S)
        if not line:
            raise TransportError("the bare reference server ended before it listened")
        yield json.loads(line)["http"], process.pid
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), READY_S)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _throughput(
    fed: _Federation, salvo: Salvo, http_url: str, pid: int, batches: int, into: dict[str, Run]
) -> None:
    nats_url = fed.endpoints[PARTY]["nats"]
    for transport, clients in PHASES:
        bodies = throughput_bodies(salvo, batches)
        url = http_url if transport == "http" else nats_url
        async with senders(transport, url, fed.tls(salvo.source), clients) as sends:
            into[phase_name(transport, clients)] = await closed_loop(sends, bodies, pid)


async def measure(data: Path, sizes: Sizes) -> Measured:
    """Run every phase (module docstring) in the data folder `data`."""
    out = Measured()
    out.load["before"] = list(_loadavg())
    async with deployed(data) as fed:
        pid = fed.node_pid()
        paced_salvo = Salvo("paced", PARTY, PACED_MISSILES, time.time_ns())
        out.paced_body_bytes = len(paced_salvo.body(time.time_ns()))
        client = HttpsClient(fed.endpoints[PARTY]["http"], fed.tls("paced"))
        watchers = [fed.operator(DIRECT), fed.operator(RELAYED)]
        received = [await track_reports(w, "received") for w in watchers]
        sent = await paced(client, paced_salvo, sizes.paced_batches)
        await client.close()
        arrived = [count + len(sent) * PACED_MISSILES for count in received]
        await wait_counted(watchers, "received", arrived, DRAIN_S)
        for watcher in watchers:
            await watcher.close()

        salvo = Salvo("salvo", PARTY, MISSILES, time.time_ns())
        out.body_bytes = len(salvo.body(time.time_ns()))
        out.new_salvo = await _new_salvo(fed, salvo, pid)
        await _throughput(fed, salvo, fed.endpoints[PARTY]["http"], pid, sizes.batches, out.node)
        before, start_ns = process_usage(pid), time.time_ns()
        await asyncio.sleep(sizes.tail_s)
        end_ns = time.time_ns()
        out.tail = Run(start_ns, end_ns, 0, [], _cpu(before, process_usage(pid), start_ns, end_ns))
        out.load["during"] = list(_loadavg())
        await asyncio.to_thread(fed.deployment.stop_processes)

        async with bare_process(data) as (bare_url, bare_pid):
            await _throughput(fed, salvo, bare_url, bare_pid, sizes.batches, out.bare)
            body = paced_salvo.body(time.time_ns())
            async with senders("nats", fed.endpoints[PARTY]["nats"], fed.tls("paced"), 1) as one:
                for _ in range(sizes.round_trips):
                    began = time.perf_counter()
                    await one[0](body)
                    out.reference_trips_s.append(time.perf_counter() - began)
    _read_back(data, out, sent[PACED_WARM_UP:], paced_salvo)
    out.load["after"] = list(_loadavg())
    return out


async def _new_salvo(fed: _Federation, salvo: Salvo, pid: int) -> dict[str, Any]:
    """One batch of the salvo's new tracks, until ROK has sent their track reports."""
    client = HttpsClient(fed.endpoints[PARTY]["http"], fed.tls(salvo.source))
    watcher = fed.operator(PARTY)
    try:
        sent = await track_reports(watcher, "sent")
        before, start = process_usage(pid), time.perf_counter()
        try:
            await _post(client, salvo.body(time.time_ns()))
        finally:
            await client.close()  # not left idle: the server would close it
        accepted = time.perf_counter() - start
        reported = await wait_counted([watcher], "sent", [sent + MISSILES], WARM_S)
        seconds = time.perf_counter() - start
        after = process_usage(pid)
    finally:
        await watcher.close()
    cpu = None if before is None or after is None else (after[0] - before[0]) / seconds * 100.0
    return {
        "tracks": MISSILES,
        "reported": reported,
        "seconds": seconds,
        "accepted_s": accepted,
        "cpu_pct": cpu,
    }


def _read_back(data: Path, out: Measured, sent: list[Sent], salvo: Salvo) -> None:
    own = applied_track_reports(data, PARTY)
    for name, run in out.node.items():
        out.applied[name] = applied_rate(own, PARTY, run.start_ns, run.end_ns)
    if out.tail is not None:
        out.applied["tail"] = applied_rate(own, PARTY, out.tail.start_ns, out.tail.end_ns)
    numbers = track_numbers(data, PARTY, [(salvo.source, t) for t in salvo.track_ids])
    until = time.time_ns()
    for party in (DIRECT, RELAYED):
        delays, missing = delays_ms(sent, numbers, applied_track_reports(data, party), PARTY, until)
        out.delays_ms[party], out.missing[party] = delays, missing


def _loadavg() -> tuple[float, float, float]:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            one, five, fifteen = f.read().split()[:3]
    except OSError:
        return (0.0, 0.0, 0.0)
    return (float(one), float(five), float(fifteen))


def figures(measured: Measured) -> list[Figure]:
    """The figures of a measurement (module docstring)."""
    target = f">= {TARGET_RATE:,.0f} records/s"
    out: list[Figure] = []
    for transport, clients in PHASES:
        name = phase_name(transport, clients)
        node, bare = measured.node[name], measured.bare[name]
        what = "HTTPS (uvicorn, mTLS)" if transport == "http" else "NATS request/reply"
        reference = f"bare {what}, {clients} client{'s' if clients > 1 else ''}"
        for kind, value in (("accepted", node.rate), ("applied", measured.applied[name])):
            out.append(
                figure(
                    f"ingest.{kind}.{name}",
                    value,
                    "records/s",
                    reference,
                    bare.rate,
                    target=target,
                    met=value >= TARGET_RATE,
                )
            )
        if node.cpu_pct is not None:
            out.append(figure(f"ingest.cpu.{name}", node.cpu_pct, "% core", "one core", 100.0))
    backlog = measured.applied.get("tail")
    if backlog is not None:
        first = measured.node[phase_name(*PHASES[0])]
        out.append(
            figure(
                "ingest.applied.backlog",
                backlog,
                "records/s",
                "the node's own accepted rate, HTTPS, 1 client",
                first.rate,
                target=target,
                met=backlog >= TARGET_RATE,
            )
        )
        if measured.tail is not None and measured.tail.cpu_pct is not None:
            out.append(
                figure("ingest.cpu.backlog", measured.tail.cpu_pct, "% core", "one core", 100.0)
            )
    new = measured.new_salvo
    if new:
        out.append(
            figure(
                f"ingest.new_salvo ({new['tracks']} tracks)",
                new["seconds"],
                "s",
                "the batch's 2xx (journalled)",
                new["accepted_s"],
            )
        )
    floor = quantiles(measured.reference_trips_s, 0.50, 0.99)
    for party, path in ((DIRECT, "direct"), (RELAYED, "via relay")):
        ours = quantiles(measured.delays_ms[party], 0.50, 0.99)
        for q, value, ref in zip(("p50", "p99"), ours, floor, strict=True):
            out.append(
                figure(
                    f"ingest.{q}.{party} ({path})",
                    value,
                    "ms",
                    "bare NATS request/reply of the batch",
                    ref * 1e3,
                )
            )
    return out


def run(quick: bool = False, *, sizes: Sizes | None = None) -> Result:
    """Figure 6 (see the module docstring); `sizes` overrides the quick or full sizes."""
    chosen = sizes or (QUICK if quick else FULL)
    with tempfile.TemporaryDirectory(prefix="warnlink-bench-ingest-") as tmp:
        measured = asyncio.run(measure(Path(tmp), chosen))
    return Result("ingest", figures(measured), _inputs(measured, chosen))


def _inputs(measured: Measured, sizes: Sizes) -> dict[str, Any]:
    def p50_ms(run: Run) -> float:
        return quantiles(run.round_trips_s, 0.50)[0] * 1e3

    tail = measured.tail
    return {
        "shape": "warnlink up processes: a nats-server per party (mTLS, leaf links, JetStream "
        "fsync always), each node and USA's relay a process; clients in the benchmark process",
        "node": PARTY,
        "records": "UDL createBulk, one record per missile: midcourse ECEF state, 21-entry "
        "covariance, the national launch and impact assessments; data mode TEST",
        "batch_records": MISSILES,
        "batch_bytes": measured.body_bytes,
        "batches_per_phase": sizes.batches,
        "clients": CLIENTS,
        "concurrent": "connections of one source (salvo), its tracks made by the new salvo",
        "request_p50_ms": {n: p50_ms(r) for n, r in measured.node.items()},
        "bare_request_p50_ms": {n: p50_ms(r) for n, r in measured.bare.items()},
        "bare_cpu_pct": {n: r.cpu_pct for n, r in measured.bare.items()},
        "applied_tail": {
            "records_per_s": measured.applied.get("tail"),
            "cpu_pct": None if tail is None else tail.cpu_pct,
            "seconds": sizes.tail_s,
        },
        "new_salvo": measured.new_salvo,
        "paced": {
            "offered": f"{PACED_MISSILES} records (missiles) per batch, {PACED_HZ:g} batch/s, "
            "over HTTPS",
            "batches": sizes.paced_batches,
            "warm_up_batches": PACED_WARM_UP,
            "batch_bytes": measured.paced_body_bytes,
            "never_arrived": measured.missing,
            "paths": {
                DIRECT: "ROK node -> USA's server -> USA node",
                RELAYED: "ROK node -> USA's server -> USA relay -> JPN's server -> JPN node",
            },
        },
        "reference_round_trips": sizes.round_trips,
        "load_average": measured.load,
    }
