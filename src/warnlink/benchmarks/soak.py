"""Figure 8: the soak, five times the salvo for ten minutes, in the deployed shape.

The salvo's federation and sources (`benchmarks.salvo`, `benchmarks.deployed`: each
node and USA's relay a process, the national trackers played over UDL/NATS): after the
first batch (every missile a new track, not measured), the three sources offer
`MULTIPLE` times the salvo's 300 records a second for `Sizes.soak_s`, then up to
`Sizes.drain_s` for what is due to arrive. Never lowered to make it pass: what a
source cannot send in time is counted unsent (`deployed.offer`).

Cut into `WINDOWS` windows by due time (a minute each at full size): records offered,
sent and accepted by the nodes, deliveries applied in the pictures (by when they were
applied), the latency p50 and p99 from due to each recipient's picture over the
deliveries due in the window (a delivery never applied counts with its wait until the
end), and each process's CPU and resident memory, sampled as each window closes.
The figures: offered vs sent vs applied per second over the soak, the first and the
last window's p99, and the growth of resident memory of each process.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from warnlink.benchmarks.deployed import (
    Applications,
    Deployed,
    Offered,
    cpu_pct,
    deployed,
    expected_deliveries,
    offer,
    read_applications,
    received,
    usage,
    wait_received,
)
from warnlink.benchmarks.figure import Figure, Result, figure
from warnlink.benchmarks.salvo import BASE_RATE_HZ, MISSILES, PARTIES, TICK_S
from warnlink.demo import default_federation_path
from warnlink.faults.soak import p50_p99_ms
from warnlink.sharing.federation import Federation, load_federation

MULTIPLE: Final = 5.0
WINDOWS: Final = 10
DRIFT_TARGET: Final = 1.5
"""The last window's p99 at most this many times the first's."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """Missiles per party, seconds of offering, the longest waits for the first batch
    and for the rest after the soak."""

    missiles: int
    soak_s: float
    warm_s: float
    drain_s: float


FULL: Final = Sizes(MISSILES, soak_s=600.0, warm_s=180.0, drain_s=60.0)
QUICK: Final = Sizes(MISSILES, soak_s=30.0, warm_s=60.0, drain_s=15.0)


@dataclass(frozen=True, slots=True)
class Measured:
    """The soak's batches, its span (UTC ns), the end of its drain, and per window end
    (UTC ns) each process's CPU % over the window and resident bytes at its end."""

    offered: list[Offered]
    start_ns: int
    end_ns: int
    samples: list[tuple[int, dict[str, float], dict[str, int]]]
    applications: Applications
    warm_complete: bool
    drained: bool


async def _sample(fed: Deployed, start_ns: int, window_s: float, into: list[Any]) -> None:
    """Each process's CPU and memory at every window's end (until cancelled)."""
    pids = fed.pids()
    last, last_ns = usage(pids), start_ns
    while True:
        boundary = start_ns + round((len(into) + 1) * window_s * 1e9)
        await asyncio.sleep(max(0.0, (boundary - time.time_ns()) / 1e9))
        now, now_ns = usage(pids), time.time_ns()
        rss = {name: r for name, (_, r) in now.items()}
        into.append((now_ns, cpu_pct(last, now, (now_ns - last_ns) / 1e9), rss))
        last, last_ns = now, now_ns


async def measure(folder: Path, sizes: Sizes) -> Measured:
    """The soak (module docstring) in `folder`."""
    rate = sizes.missiles * BASE_RATE_HZ * MULTIPLE
    async with deployed(default_federation_path(), folder, PARTIES, sizes.missiles) as fed:
        expected = await received(fed, fed.federation.parties)
        first = await offer(fed, PARTIES, sizes.missiles, 1.0, 1.0)
        for party, n in expected_deliveries(fed.federation, first).items():
            expected[party] += n
        warm = await wait_received(fed, expected, sizes.warm_s, every_s=0.5)
        samples: list[tuple[int, dict[str, float], dict[str, int]]] = []
        start_ns = time.time_ns()
        sampler = asyncio.create_task(_sample(fed, start_ns, sizes.soak_s / WINDOWS, samples))
        try:
            offered = await offer(fed, PARTIES, rate, sizes.soak_s, TICK_S)
            for party, n in expected_deliveries(fed.federation, offered).items():
                expected[party] += n
            drained = await wait_received(fed, expected, sizes.drain_s, every_s=0.5)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        end_ns = time.time_ns()
    return Measured(offered, start_ns, end_ns, samples, read_applications(fed), warm, drained)


def windows(measured: Measured, soak_s: float, federation: Federation) -> list[dict[str, Any]]:
    """The soak's windows (module docstring) as plain data."""
    length_ns = round(soak_s / WINDOWS * 1e9)
    out = []
    for k in range(WINDOWS):
        lo, hi = measured.start_ns + k * length_ns, measured.start_ns + (k + 1) * length_ns
        batches = [b for b in measured.offered if lo <= b.due_ns < hi]
        latencies, missing = measured.applications.latencies_ms(
            federation, batches, measured.end_ns
        )
        applied = sum(
            1
            for seen in measured.applications.first.values()
            for when in seen.values()
            if lo <= when < hi
        )
        samples = [s / 1e3 for v in latencies.values() for s in v]
        quantiles = p50_p99_ms(samples)
        cpu: dict[str, float] = {}
        rss: dict[str, float] = {}
        if k < len(measured.samples):
            _, cpu, rss_bytes = measured.samples[k]
            rss = {name: r / 2**20 for name, r in rss_bytes.items()}
        seconds = length_ns / 1e9
        out.append(
            {
                "window": k + 1,
                "offered_per_s": sum(len(b.track_ids) for b in batches) / seconds,
                "sent_per_s": sum(len(b.track_ids) for b in batches if b.sent) / seconds,
                "accepted_per_s": sum(len(b.track_ids) for b in batches if b.outcome == "accepted")
                / seconds,
                "applied_per_s": applied / seconds,
                "never_applied": sum(missing.values()),
                "p50_ms": None if quantiles is None else quantiles[0],
                "p99_ms": None if quantiles is None else quantiles[1],
                "cpu_pct": cpu,
                "rss_mb": rss,
            }
        )
    return out


def figures(
    rows: list[dict[str, Any]], measured: Measured, sizes: Sizes, federation: Federation
) -> list[Figure]:
    """The soak's figures from its windows."""
    records = sum(len(b.track_ids) for b in measured.offered)
    sent = sum(len(b.track_ids) for b in measured.offered if b.sent)
    latencies, missing = measured.applications.latencies_ms(
        federation, measured.offered, measured.end_ns
    )
    due = sum(len(v) for v in latencies.values())
    applied = due - sum(missing.values())
    offered = sizes.missiles * BASE_RATE_HZ * MULTIPLE * len(PARTIES)
    soak_s = sizes.soak_s
    out = [
        figure("soak.offered", records / soak_s, "reports/s", f"{MULTIPLE:g}x the salvo", offered),
        figure(
            "soak.sent",
            sent / soak_s,
            "reports/s",
            "offered",
            records / soak_s,
            target="all offered sent",
            met=sent == records,
        ),
        figure(
            "soak.applied",
            applied / soak_s,
            "deliveries/s",
            "due",
            due / soak_s,
            target="all due applied",
            met=applied == due,
        ),
    ]
    first, last = rows[0]["p99_ms"], rows[-1]["p99_ms"]
    if first is not None and last is not None:
        out.append(figure("soak.p99.first", first, "ms", "the 50 ms budget", 50.0))
        out.append(
            figure(
                "soak.p99.last",
                last,
                "ms",
                "the first window's p99",
                first,
                target=f"<= {DRIFT_TARGET:g}x the first, every delivery applied",
                # Deliveries never applied count with their wait until the end, which is
                # shorter for a later window: a drift over them would flatter it.
                met=last <= DRIFT_TARGET * first
                and rows[0]["never_applied"] == rows[-1]["never_applied"] == 0,
            )
        )
    rss_first, rss_last = rows[0]["rss_mb"], rows[-1]["rss_mb"]
    for name in sorted(rss_first.keys() & rss_last.keys()):
        out.append(
            figure(
                f"soak.rss.{name}",
                rss_last[name],
                "MB",
                "the same process after the first window",
                rss_first[name],
            )
        )
    return out


def run(quick: bool = False, *, sizes: Sizes | None = None) -> Result:
    """Figure 8 (see the module docstring); `sizes` overrides the quick or full sizes."""
    chosen = sizes or (QUICK if quick else FULL)
    with tempfile.TemporaryDirectory(prefix="warnlink-bench-soak-") as tmp:
        measured = asyncio.run(measure(Path(tmp), chosen))
    federation = load_federation(default_federation_path())
    rows = windows(measured, chosen.soak_s, federation)
    return Result(
        "soak",
        figures(rows, measured, chosen, federation),
        {
            "shape": "as salvo: warnlink up processes, national sources over UDL/NATS",
            "multiple": MULTIPLE,
            "missiles": chosen.missiles,
            "soak_s": chosen.soak_s,
            "drain_s": chosen.drain_s,
            "first_batch_everywhere": measured.warm_complete,
            "drained": measured.drained,
            "windows": rows,
        },
    )
