"""Figure 3: salvo load through the nodes' input ports, stepped up until it falls behind.

The deployed shape (`benchmarks.deployed`): `warnlink up`'s processes (a nats-server per
party, mutual TLS, leaf links, JetStream fsync always; each node and USA's relay a
process of its own), each party's national tracker played by this process as a UDL
source over NATS. The base load is a salvo of `MISSILES` missiles tracked by each of the
3 parties at 1 Hz: 300 records a second, each becoming a track report that goes to the
party's recipients (ROK's to USA directly and to JPN through USA's relay, redacted; JPN's
to USA; USA's to ROK and JPN). Each source sends a batch every `TICK_S` (a scan) of
the records due, their epoch the scan's time.

First each party's missiles are made tracks (one batch, all new; not measured). Then
each step multiplies the base (1x, 2x, 5x, 10x, 20x) for `Plan.step_s` of sending. A
step *keeps up* when every delivery has reached its recipient (their ``/metrics``)
within `KEPT_UP_S` after the last batch; the first step that does not is the last going
up (a heavier one can only be later). When 1x does not keep up, lighter steps
(`STEPS_DOWN`) run until one does. Between steps, up to `Plan.drain_s` for the backlog;
the first batch gets up to `Plan.warm_s` (the steps start then even if it has not
arrived everywhere: the inputs say so).

Latency, read from the applied-logs after the processes stop: from when a record was
due to its application in each recipient's picture; a record never applied counts with
its wait until its step ended. Per step: p50 and p99 over every delivery; per process,
CPU (% of one core from the step's first batch to its last delivery, or the end of the
wait) and resident memory (`faults.measure.process_usage`).
"""

from __future__ import annotations

import asyncio
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
    records_in,
    usage,
    wait_received,
)
from warnlink.benchmarks.figure import Figure, Result, figure, quantiles
from warnlink.demo import default_federation_path
from warnlink.sharing.federation import Federation, load_federation

MISSILES: Final = 100
BASE_RATE_HZ: Final = 1.0
PARTIES: Final = ("ROK", "JPN", "USA")
STEPS: Final = (1.0, 2.0, 5.0, 10.0, 20.0)
STEPS_DOWN: Final = (0.5, 0.2, 0.1)
"""Tried in turn, only when the base load does not keep up, to find a rate that does."""
TARGET_MULTIPLE: Final = 5.0
P99_BUDGET_MS: Final = 50.0
TICK_S: Final = 0.1
KEPT_UP_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class Plan:
    """How much the benchmark sends and waits: missiles per party, the steps up and
    down, seconds of sending per step, the longest waits for the first batch (every
    missile a new track) and for a step's backlog."""

    missiles: int
    steps: tuple[float, ...]
    steps_down: tuple[float, ...]
    step_s: float
    warm_s: float
    drain_s: float


FULL: Final = Plan(MISSILES, STEPS, STEPS_DOWN, 5.0, warm_s=180.0, drain_s=30.0)
QUICK: Final = Plan(MISSILES, STEPS, STEPS_DOWN, 2.0, warm_s=60.0, drain_s=10.0)


@dataclass(frozen=True, slots=True)
class Step:
    """One step as run: its multiple, its batches, whether it kept up, when it ended
    (UTC ns), its sending time, and CPU % and resident bytes per process."""

    multiple: float
    offered: list[Offered]
    kept_up: bool
    start_ns: int
    end_ns: int
    sending_s: float
    cpu_pct: dict[str, float]
    rss: dict[str, int]


class _Run:
    """The running federation and the track reports each recipient should hold so far."""

    def __init__(self, fed: Deployed, plan: Plan) -> None:
        self.fed = fed
        self.plan = plan
        self.pids = fed.pids()
        self.expected: dict[str, int] = {}
        self.warm = False

    async def begin(self) -> None:
        """Note what the pictures hold, then make every missile a track."""
        self.expected = await received(self.fed, self.fed.federation.parties)
        first = await offer(self.fed, PARTIES, self.plan.missiles, 1.0, 1.0)
        self._add(first)
        self.warm = await wait_received(self.fed, self.expected, self.plan.warm_s)

    def _add(self, offered: list[Offered]) -> None:
        for party, n in expected_deliveries(self.fed.federation, offered).items():
            self.expected[party] = self.expected.get(party, 0) + n

    async def step(self, multiple: float) -> Step:
        rate = self.plan.missiles * BASE_RATE_HZ * multiple
        before, start_ns = usage(self.pids), time.time_ns()
        offered = await offer(self.fed, PARTIES, rate, self.plan.step_s, TICK_S)
        sending_s = (time.time_ns() - start_ns) / 1e9
        self._add(offered)
        kept_up = await wait_received(self.fed, self.expected, KEPT_UP_S)
        end_ns, after = time.time_ns(), usage(self.pids)
        if not kept_up:
            await wait_received(self.fed, self.expected, self.plan.drain_s)
        return Step(
            multiple,
            offered,
            kept_up,
            start_ns,
            end_ns,
            sending_s,
            cpu_pct(before, after, (end_ns - start_ns) / 1e9),
            {name: rss for name, (_, rss) in after.items()},
        )


@dataclass(frozen=True, slots=True)
class Measured:
    """The steps as run, each process's resident bytes before them, what the pictures
    applied, and whether the first batch had reached every picture before the steps."""

    steps: list[Step]
    idle_rss: dict[str, int]
    applications: Applications
    warm_complete: bool


async def measure(folder: Path, plan: Plan) -> Measured:
    """Run the steps (module docstring) in `folder`."""
    async with deployed(default_federation_path(), folder, PARTIES, plan.missiles) as fed:
        run = _Run(fed, plan)
        await run.begin()
        idle = {name: rss for name, (_, rss) in usage(run.pids).items()}
        steps: list[Step] = []
        for multiple in plan.steps:
            steps.append(await run.step(multiple))
            if not steps[-1].kept_up:
                break
        if steps and not steps[0].kept_up:
            for multiple in plan.steps_down:
                steps.append(await run.step(multiple))
                if steps[-1].kept_up:
                    break
    return Measured(steps, idle, read_applications(fed), run.warm)


def summarise(
    step: Step, applications: Applications, federation: Federation, plan: Plan
) -> dict[str, Any]:
    """A step's figures as plain data: rates, latency quantiles, deliveries never
    applied, CPU and memory per process, CPU-µs per record offered."""
    latencies, missing = applications.latencies_ms(federation, step.offered, step.end_ns)
    samples = [s for values in latencies.values() for s in values]
    p50, p99 = quantiles(samples, 0.50, 0.99) if samples else (float("nan"), float("nan"))
    seconds = (step.end_ns - step.start_ns) / 1e9
    return {
        "multiple": step.multiple,
        "offered_reports_per_s": plan.missiles * BASE_RATE_HZ * step.multiple * len(PARTIES),
        "sent_reports_per_s": (records_in(step.offered) - records_in(step.offered, "unsent"))
        / step.sending_s
        if step.sending_s > 0
        else 0.0,
        "records": {
            outcome: records_in(step.offered, outcome)
            for outcome in ("accepted", "refused", "unanswered", "unsent")
        },
        "deliveries": len(samples),
        "never_applied": missing,
        "kept_up": step.kept_up,
        "p50_ms": p50,
        "p99_ms": p99,
        "by_recipient_p99_ms": {r: quantiles(v, 0.99)[0] for r, v in latencies.items() if v},
        "cpu_pct": step.cpu_pct,
        "rss_mb": {name: rss / 2**20 for name, rss in step.rss.items()},
        "cpu_us_per_record": {
            name: pct / 100 * seconds / records_in(step.offered) * 1e6
            for name, pct in step.cpu_pct.items()
        }
        if records_in(step.offered)
        else {},
    }


def figures(summaries: list[dict[str, Any]], idle_rss: dict[str, int]) -> list[Figure]:
    """The salvo's figures from its steps' summaries."""
    base = MISSILES * BASE_RATE_HZ * len(PARTIES)
    out = [
        figure(
            f"salvo.p99.{s['multiple']:g}x",
            s["p99_ms"],
            "ms",
            "the 50 ms budget",
            P99_BUDGET_MS,
            target=f"< {P99_BUDGET_MS:g} ms",
            met=s["p99_ms"] < P99_BUDGET_MS,
        )
        for s in summaries
    ]
    within = [s for s in summaries if s["p99_ms"] < P99_BUDGET_MS and not s["never_applied"]]
    best = max(within, key=lambda s: s["multiple"]) if within else None
    highest = best["offered_reports_per_s"] if best is not None else 0.0
    out.append(
        figure(
            "salvo.max_rate",
            highest,
            "reports/s",
            "1x: 100 missiles x 3 parties x 1 Hz",
            base,
            target=f">= {TARGET_MULTIPLE * base:,.0f} reports/s with p99 < {P99_BUDGET_MS:g} ms",
            met=highest >= TARGET_MULTIPLE * base,
        )
    )
    shown = best if best is not None else (summaries[0] if summaries else None)
    if shown is None:
        return out
    at = f"{shown['multiple']:g}x"
    for name, pct in sorted(shown["cpu_pct"].items()):
        out.append(figure(f"salvo.cpu.{name}", pct, "% core", f"one core (at {at})", 100.0))
    for name, mb in sorted(shown["rss_mb"].items()):
        out.append(
            figure(
                f"salvo.rss.{name}",
                mb,
                "MB",
                f"the same process before the steps (at {at})",
                idle_rss.get(name, 0) / 2**20,
            )
        )
    return out


def run(quick: bool = False, *, plan: Plan | None = None) -> Result:
    """Figure 3 (see the module docstring); `plan` overrides the quick or full plan."""
    chosen = plan or (QUICK if quick else FULL)
    with tempfile.TemporaryDirectory(prefix="warnlink-bench-salvo-") as tmp:
        measured = asyncio.run(measure(Path(tmp), chosen))
    federation = load_federation(default_federation_path())
    summaries = [summarise(s, measured.applications, federation, chosen) for s in measured.steps]
    run_multiples = {s.multiple for s in measured.steps}
    return Result(
        "salvo",
        figures(summaries, measured.idle_rss),
        {
            "shape": "warnlink up processes: a nats-server per party (mTLS, leaf links, "
            "JetStream fsync always), each node and USA's relay a process; the national "
            "sources (UDL over NATS) in the benchmark process",
            "missiles": chosen.missiles,
            "parties": list(PARTIES),
            "base_reports_per_s": chosen.missiles * BASE_RATE_HZ * len(PARTIES),
            "tick_s": TICK_S,
            "first_batch_everywhere": measured.warm_complete,
            "step_s": chosen.step_s,
            "kept_up_s": KEPT_UP_S,
            "steps": summaries,
            "not_run": [m for m in chosen.steps if m not in run_multiples],
            "steps_down": "when 1x does not keep up: 0.5x, 0.2x, 0.1x until one does",
        },
    )
