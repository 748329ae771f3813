"""Case 7, the soak: ten times the salvo rate for ten minutes, and what grows meanwhile.

On the same `Rig` as the other cases (a nats-server per party with mTLS leaf links, the
relay as its own OS process, the nodes in this process), ROK sends track reports of
`SOAK_TRACKS` tracks in turn, paced by wall time at `SOAK_RATE_MULTIPLE` times the
salvo's rate (`Sizes.rate_per_s`: 800 reports/s at full size) for `Sizes.soak_s`
(600 s), then waits up to `Sizes.soak_drain_s` for everything due. What is not applied
by then counts as lost, and the case says so (a missed target); the rate is never
lowered to make it pass.

Every tenth of the soak (a minute at full size), and on during the drain, a `Window`
is closed with what it saw: reports offered (the schedule) and sent, deliveries
applied, latency from origination to application at each recipient (p50, p99),
resident memory and CPU of every process (`measure.process_usage`, from
/proc), the backlog (deliveries due and not yet applied) and how many message ids the
pictures hold. The figures at the end (`SoakFigures`): memory growth per process
(resident MB of the last soak window minus the first, and per minute) and p99 drift
per recipient (the last soak window's p99 over the first's).

The arithmetic is pure (`offered_in`, `p50_p99_ms`, `window_of`, `growth`, `drift`),
the shell (`soak`) only samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from warnlink.faults.measure import CaseResult, Ledger, process_usage
from warnlink.faults.rig import Rig, Sizes

SOAK_RATE_MULTIPLE: Final = 10.0
"""The soak's rate over the salvo's (`Sizes.rate_per_s`)."""
SOAK_TRACKS: Final = 1000
"""Tracks the soak's reports go round (each track gets a report in turn)."""
WINDOWS: Final = 10
"""Windows per soak: a minute each at full size."""
ORIGINATOR: Final = "ROK"


@dataclass(frozen=True, slots=True)
class Window:
    """What one window of the soak (or of the drain after it) saw.

    Attributes:
        index: 1, 2, ... in order.
        phase: ``soak`` (reports being sent) or ``drain`` (waiting for the rest).
        end_s: when it ended, seconds since the soak began.
        length_s: how long it lasted, seconds.
        offered: reports the schedule offered in it.
        sent: reports sent in it.
        applied: deliveries applied in it (first applications of deliveries due).
        latency_ms: recipient -> (p50, p99) of origination to application, ms, over
            the deliveries applied in the window (absent: none applied).
        rss_mb: process -> resident memory at its end, MB (2**20 bytes).
        cpu_pct: process -> CPU used over it, % of one core.
        backlog: deliveries due and not applied at its end.
        held: what the nodes hold that could grow: the most message ids any picture
            remembers (``picture ids``) and keeps as provenance (``provenance ids``).
    """

    index: int
    phase: str
    end_s: float
    length_s: float
    offered: int
    sent: int
    applied: int
    latency_ms: Mapping[str, tuple[float, float]]
    rss_mb: Mapping[str, float]
    cpu_pct: Mapping[str, float]
    backlog: int
    held: Mapping[str, int]

    @property
    def offered_per_s(self) -> float:
        return self.offered / self.length_s if self.length_s > 0 else 0.0

    @property
    def sent_per_s(self) -> float:
        return self.sent / self.length_s if self.length_s > 0 else 0.0

    @property
    def applied_per_s(self) -> float:
        return self.applied / self.length_s if self.length_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Growth:
    """Resident memory growth of one process over the soak: MB, and MB per minute."""

    mb: float
    mb_per_min: float


@dataclass(frozen=True, slots=True)
class SoakFigures:
    """The soak's windows and its figures at the end.

    Attributes:
        rate_per_s: reports per second offered.
        soak_s: how long reports were offered, seconds.
        windows: the soak's windows, then the drain's.
        growth: process -> memory growth, first to last soak window.
        drift: recipient -> last soak window's p99 over the first's (None: a window
            without deliveries to that recipient).
    """

    rate_per_s: float
    soak_s: float
    windows: tuple[Window, ...]
    growth: Mapping[str, Growth]
    drift: Mapping[str, float | None]

    @property
    def sent(self) -> int:
        return sum(w.sent for w in self.windows)

    @property
    def achieved_per_s(self) -> float:
        """Reports sent per second over the soak."""
        return self.sent / self.soak_s if self.soak_s > 0 else 0.0


def offered_in(rate_per_s: float, start_s: float, end_s: float, soak_s: float) -> int:
    """Reports the schedule offers in [start_s, end_s): report k is due at k / rate,
    for every k with k / rate < soak_s."""
    end_s = min(end_s, soak_s)
    if end_s <= start_s:
        return 0
    return math.ceil(end_s * rate_per_s) - math.ceil(start_s * rate_per_s)


def p50_p99_ms(samples_s: Sequence[float]) -> tuple[float, float] | None:
    """p50 and p99 of latency samples (seconds) in ms, empirical quantiles (inclusive
    method); None without samples."""
    if not samples_s:
        return None
    if len(samples_s) == 1:
        return samples_s[0] * 1e3, samples_s[0] * 1e3
    cuts = statistics.quantiles(samples_s, n=100, method="inclusive")
    return cuts[49] * 1e3, cuts[98] * 1e3


def window_of(
    index: int,
    phase: str,
    *,
    end_s: float,
    length_s: float,
    offered: int,
    sent: int,
    samples_s: Mapping[str, Sequence[float]],
    rss_mb: Mapping[str, float],
    cpu_pct: Mapping[str, float],
    backlog: int,
    held: Mapping[str, int],
) -> Window:
    """A window from its counts and its latency samples (recipient -> seconds)."""
    latency = {r: q for r, s in sorted(samples_s.items()) if (q := p50_p99_ms(s)) is not None}
    return Window(
        index=index,
        phase=phase,
        end_s=end_s,
        length_s=length_s,
        offered=offered,
        sent=sent,
        applied=sum(len(s) for s in samples_s.values()),
        latency_ms=latency,
        rss_mb=dict(rss_mb),
        cpu_pct=dict(cpu_pct),
        backlog=backlog,
        held=dict(held),
    )


def _soak_windows(windows: Sequence[Window]) -> tuple[Window, Window] | None:
    during = [w for w in windows if w.phase == "soak"]
    return (during[0], during[-1]) if during else None


def growth(windows: Sequence[Window]) -> dict[str, Growth]:
    """Per process: resident MB at the last soak window's end minus at the first's, and
    that per minute between the two ends (0 when there is one soak window)."""
    ends = _soak_windows(windows)
    if ends is None:
        return {}
    first, last = ends
    minutes = (last.end_s - first.end_s) / 60
    result = {}
    for name in first.rss_mb.keys() & last.rss_mb.keys():
        mb = last.rss_mb[name] - first.rss_mb[name]
        result[name] = Growth(mb, mb / minutes if minutes > 0 else 0.0)
    return dict(sorted(result.items()))


def drift(windows: Sequence[Window]) -> dict[str, float | None]:
    """Per recipient: the last soak window's p99 over the first's (None if either
    window has no delivery to it, or the first's p99 is 0)."""
    ends = _soak_windows(windows)
    if ends is None:
        return {}
    first, last = ends
    result: dict[str, float | None] = {}
    for recipient in sorted(first.latency_ms.keys() | last.latency_ms.keys()):
        a, b = first.latency_ms.get(recipient), last.latency_ms.get(recipient)
        result[recipient] = None if a is None or b is None or a[1] <= 0 else b[1] / a[1]
    return result


class _Sampler:
    """Closes a window every `window_s` seconds from `start` (the shell of the soak)."""

    def __init__(self, rig: Rig, rate_per_s: float, soak_s: float, window_s: float) -> None:
        self.rig = rig
        self.rate_per_s = rate_per_s
        self.soak_s = soak_s
        self.window_s = window_s
        self.windows: list[Window] = []
        self._samples: defaultdict[str, list[float]] = defaultdict(list)
        self._start = time.monotonic()
        self._last_end_s = 0.0
        self._last_sent = 0
        self._last_cpu_s: dict[str, float] = {}
        rig.ledger.on_delivery = self._delivered

    def _delivered(self, recipient: str, latency_s: float) -> None:
        self._samples[recipient].append(latency_s)

    def begin(self) -> None:
        """The soak begins now: windows count from here."""
        self._start = time.monotonic()
        self._samples.clear()
        self._last_sent = self.rig.ledger.sent
        self._last_cpu_s = self._usage()[1]

    def _usage(self) -> tuple[dict[str, float], dict[str, float]]:
        """Resident MB and CPU seconds used so far, per process."""
        rss, cpu_s = {}, {}
        for name, pid in self.rig.pids().items():
            usage = process_usage(pid)
            if usage is not None:
                cpu_s[name], rss[name] = usage[0], usage[1] / 2**20
        return rss, cpu_s

    def close(self) -> None:
        """Close the window running now."""
        rss, cpu_s = self._usage()
        end_s = time.monotonic() - self._start
        length_s = end_s - self._last_end_s
        cpu = {
            name: 100 * (used - self._last_cpu_s[name]) / length_s
            for name, used in cpu_s.items()
            if name in self._last_cpu_s and length_s > 0
        }
        ledger = self.rig.ledger
        pictures = [node.picture for node in self.rig.nodes.values()]
        held = {
            "picture ids": max((p.remembered for p in pictures), default=0),
            "provenance ids": max((p.provenance_kept for p in pictures), default=0),
        }
        self.windows.append(
            window_of(
                len(self.windows) + 1,
                "soak" if self._last_end_s < self.soak_s else "drain",
                end_s=end_s,
                length_s=length_s,
                offered=offered_in(self.rate_per_s, self._last_end_s, end_s, self.soak_s),
                sent=ledger.sent - self._last_sent,
                samples_s=self._samples,
                rss_mb=rss,
                cpu_pct=cpu,
                backlog=ledger.due - ledger.delivered,
                held=held,
            )
        )
        self._samples = defaultdict(list)
        self._last_end_s = end_s
        self._last_sent = ledger.sent
        self._last_cpu_s = cpu_s

    async def run(self) -> None:
        """Close a window at every multiple of `window_s` (until cancelled)."""
        while True:
            boundary = self._start + (len(self.windows) + 1) * self.window_s
            await asyncio.sleep(max(boundary - time.monotonic(), 0.0))
            self.close()


async def soak(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 7 (see the module docstring)."""
    rate = sizes.rate_per_s * SOAK_RATE_MULTIPLE
    name = (
        f"soak: {rate:g} reports/s ({SOAK_RATE_MULTIPLE:g}x the salvo) from {ORIGINATOR} "
        f"over {SOAK_TRACKS} tracks for {sizes.soak_s:g} s"
    )
    rig = Rig(folder, Ledger())
    started = time.monotonic()
    await rig.start()
    try:
        sampler = _Sampler(rig, rate, sizes.soak_s, sizes.soak_s / WINDOWS)
        sampler.begin()
        ticking = asyncio.create_task(sampler.run())
        try:
            await rig.stream(
                ORIGINATOR, tracks=SOAK_TRACKS, rate_per_s=rate, duration_s=sizes.soak_s
            )
            # The soak's windows end on schedule; the drain's as they come, then the rest.
            while len(sampler.windows) < WINDOWS and not ticking.done():
                await asyncio.sleep(0.05)
            if ticking.done():
                ticking.result()  # the sampler failed: say why, do not wait for it
            drained = await rig.drain(sizes.soak_drain_s)
        finally:
            ticking.cancel()
            # A sampler that failed was reported above; here it must not hide an error
            # already on its way out.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ticking
        sampler.close()
        notes: dict[str, int | float | str] = {**rig.counters(), "drained": str(drained)}
    finally:
        await rig.stop()
    windows = tuple(sampler.windows)
    figures = SoakFigures(rate, sizes.soak_s, windows, growth(windows), drift(windows))
    notes["achieved_per_s"] = round(figures.achieved_per_s, 1)
    return [
        rig.ledger.result(
            7, name, duration_s=time.monotonic() - started, notes=notes, outage=False, soak=figures
        )
    ]
