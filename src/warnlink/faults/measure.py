"""What a fault case measures: everything released, everything applied, and the figures.

`Ledger` is fed from both ends and judges nothing until asked:

- the originator side: every envelope a gateway originates (`Node`'s ``on_original``),
  with the recipients its label releases it to; heartbeats are left out (a late
  heartbeat is worth nothing, so they are not kept through outages);
- the receiver side: every received envelope a picture applies (``on_applied``).

Figures (`CaseResult`), each per (recipient, message of the originator):

- due: released to the recipient (and not expected to be refused, see `expect_refused`);
- delivered: due and applied at least once;
- lost: due and never applied by the end of the case;
- duplicates applied: applications beyond the first of one originator's message at one
  recipient (any product of it: forwarded or redacted);
- order violations: per (recipient, originator, trk_id), a track report applied with an
  epoch older than one applied before it (applied epochs must be non-decreasing);
- release violations: `sharing.leaks.LeakChecker` on every application;
- time to resume: from the fault's end (`Ledger.fault_ended`) to the first application
  after it on a pair the fault cut off (`Ledger.fault_began`), seconds on the monotonic
  clock; optionally only of a message sent after the fault began (what was already
  past the broken part when it struck does not count);
- catch-up: from the fault's end to the last application (the backlog delivered);
- latency: from origination to each first application, seconds on the monotonic clock,
  handed to ``on_delivery`` as it happens (the soak, case 7, keeps it per window).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from warnlink.model import Envelope, Heartbeat, Resend, ResendRequest, TrackReport
from warnlink.model.payloads import LINK_LOCAL
from warnlink.sharing.leaks import LeakChecker

if TYPE_CHECKING:
    from warnlink.faults.soak import SoakFigures


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The figures of one fault case (see the module docstring).

    Attributes:
        case: its number (1-7).
        name: what was done.
        sent: messages originated (heartbeats excepted).
        due: deliveries due (message x recipient).
        delivered, lost, duplicates, order_violations, release_violations: the figures.
        resume_s: time to resume, None if nothing was delivered after the fault.
        refused: deliveries refused on purpose (a clock beyond the window), not lost.
        duration_s: how long the case ran.
        notes: what else was seen (counters).
        outage: whether the case has a fault to resume from (the skew case has not).
        soak: the soak's windows, memory growth and latency drift (case 7 only).
    """

    case: int
    name: str
    sent: int
    due: int
    delivered: int
    lost: int
    duplicates: int
    order_violations: int
    release_violations: int
    resume_s: float | None
    refused: int = 0
    duration_s: float = 0.0
    notes: dict[str, int | float | str] = field(default_factory=dict)
    outage: bool = True
    soak: SoakFigures | None = None

    @property
    def met(self) -> dict[str, bool]:
        """Each target: 0 lost, 0 duplicates, 0 order and release violations, resume < 2 s."""
        return {
            "lost": self.lost == 0,
            "duplicates": self.duplicates == 0,
            "order": self.order_violations == 0,
            "release": self.release_violations == 0,
            "resume": not self.outage
            or (self.resume_s is not None and self.resume_s < RESUME_TARGET_S),
        }


RESUME_TARGET_S = 2.0


class Ledger:
    """Records both ends of every delivery of one case."""

    def __init__(self) -> None:
        self.leaks = LeakChecker()
        self.originals: list[Envelope] = []
        self._originators: dict[str, str] = {}
        self._sent_at: dict[str, float] = {}
        self.fault_start: float | None = None
        self._affected: frozenset[tuple[str, str]] | None = None
        self._sent_after = False
        self.sent = 0
        self._due: dict[tuple[str, str], int] = {}  # (recipient, origin msg_id) -> 0
        self._refusable: set[str] = set()  # parties whose traffic may be refused
        self._applied: Counter[tuple[str, str]] = Counter()
        self._last_epoch: dict[tuple[str, str, int], int] = {}
        self.order_violations = 0
        self.release_violations = 0
        self.fault_end: float | None = None
        self.first_after_fault: float | None = None
        self.last_applied = 0.0
        #: Deliveries due and applied (at least once) so far.
        self.delivered = 0
        #: Called with (recipient, seconds from origination) at each first application.
        self.on_delivery: Callable[[str, float], None] | None = None
        #: (recipient, origin) whose application a damaged store lost (`store_lost`).
        self._refill: set[tuple[str, str]] = set()
        #: When the last of them was applied again, monotonic s.
        self.refilled_at: float | None = None

    def expect_refused(self, party: str) -> None:
        """Traffic from or to `party` may be refused (its clock is beyond the window)."""
        self._refusable.add(party)

    def original(self, envelope: Envelope, parties: tuple[str, ...]) -> None:
        """An envelope as its originator labelled it, before any release."""
        self.leaks.record_original(envelope)
        if isinstance(envelope.payload, (*LINK_LOCAL, ResendRequest, Resend)):
            return  # not kept through outages, or asking for what is
        self.originals.append(envelope)
        self._originators[envelope.msg_id] = envelope.originator
        self._sent_at[envelope.msg_id] = time.monotonic()
        self.sent += 1
        for recipient in parties:
            if recipient != envelope.originator and envelope.label.releases_to(recipient):
                self._due[recipient, envelope.msg_id] = 0

    def applied(self, recipient: str, envelope: Envelope) -> None:
        """An envelope `recipient`'s picture applied."""
        now = time.monotonic()
        self.release_violations += len(self.leaks.check(recipient, envelope))
        payload = envelope.payload
        if isinstance(payload, Heartbeat):
            return
        self.last_applied = now
        origin = envelope.derived_from or envelope.msg_id
        if (
            self.fault_end is not None
            and self.fault_start is not None
            and self.first_after_fault is None
            and (not self._sent_after or self._sent_at.get(origin, 0.0) >= self.fault_start)
            and (self._affected is None or (envelope.originator, recipient) in self._affected)
        ):
            self.first_after_fault = now
        self._applied[recipient, origin] += 1
        if self._applied[recipient, origin] == 1 and (recipient, origin) in self._due:
            self.delivered += 1
            if self.on_delivery is not None:
                self.on_delivery(recipient, now - self._sent_at[origin])
        if (recipient, origin) in self._refill:
            # An older state filling the gap a damaged store left: the picture keeps it
            # behind the newer ones it holds, so it is no order violation.
            self._refill.discard((recipient, origin))
            if not self._refill:
                self.refilled_at = now
            return
        if isinstance(payload, TrackReport):
            key = (recipient, envelope.originator, payload.trk_id)
            last = self._last_epoch.get(key)
            if last is not None and payload.epoch < last:
                self.order_violations += 1
            self._last_epoch[key] = payload.epoch if last is None else max(last, payload.epoch)

    def store_lost(self, recipient: str, origins: list[str]) -> None:
        """`recipient`'s durable store lost its applications of the originator's messages
        `origins` (it was damaged): they are due again, and count once more when
        applied again (not as duplicates)."""
        for origin in origins:
            key = (recipient, origin)
            if self._applied[key]:
                self._applied[key] -= 1
                if not self._applied[key] and key in self._due:
                    self.delivered -= 1
            self._refill.add(key)

    def fault_began(
        self, affected: frozenset[tuple[str, str]] | None = None, *, sent_after: bool = False
    ) -> None:
        """The fault strikes now (the relay killed, the link cut); resuming is judged
        on the (originator, recipient) pairs it `affected` (None: all), and, if
        `sent_after`, on messages sent from now on."""
        self.fault_start = time.monotonic()
        self._affected = affected
        self._sent_after = sent_after

    def fault_ended(self) -> None:
        """The fault is over (the relay restarted, the link healed): resume counts from now."""
        self.fault_end = time.monotonic()
        self.first_after_fault = None

    def _refusable_pair(self, recipient: str, msg_id: str) -> bool:
        return recipient in self._refusable or self._originators[msg_id] in self._refusable

    @property
    def due(self) -> int:
        """Deliveries due so far (refusable ones included)."""
        return len(self._due)

    def outstanding(self) -> int:
        """Deliveries due, not refusable, and not applied yet.

        Without refusable parties, from the counts kept as deliveries happen: the drain
        asks twenty times a second, and a sum over every delivery due (150,000 at the
        soak's full size, about 18 ms here) would take a third of the loop the nodes
        run on.
        """
        if not self._refusable:
            return len(self._due) - self.delivered
        return sum(
            1 for key in self._due if not self._applied[key] and not self._refusable_pair(*key)
        )

    def result(
        self,
        case: int,
        name: str,
        *,
        duration_s: float,
        notes: dict[str, int | float | str],
        outage: bool = True,
        soak: SoakFigures | None = None,
    ) -> CaseResult:
        """The figures so far."""
        due = [k for k in self._due if not self._refusable_pair(*k)]
        refusable = [k for k in self._due if self._refusable_pair(*k)]
        delivered = sum(1 for k in due if self._applied[k])
        duplicates = sum(n - 1 for n in self._applied.values() if n > 1)
        resume = (
            None
            if self.fault_end is None or self.first_after_fault is None
            else max(self.first_after_fault - self.fault_end, 0.0)
        )
        if self.fault_end is not None:
            notes = {**notes, "catch_up_s": round(max(self.last_applied - self.fault_end, 0.0), 2)}
        return CaseResult(
            case=case,
            name=name,
            sent=self.sent,
            due=len(due),
            delivered=delivered,
            lost=len(due) - delivered,
            duplicates=duplicates,
            order_violations=self.order_violations,
            release_violations=self.release_violations,
            resume_s=resume,
            refused=sum(1 for k in refusable if not self._applied[k]),
            duration_s=duration_s,
            notes=notes,
            outage=outage,
            soak=soak,
        )


_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_usage(pid: int) -> tuple[float, int] | None:
    """(CPU seconds used, resident bytes) of process `pid` from /proc; None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    cpu_s = (int(stat[11]) + int(stat[12])) / _CLOCK_TICKS
    rss_kb = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
    )
    return cpu_s, rss_kb * 1024
