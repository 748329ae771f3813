"""Each source's health: when it last sent, how much, what was refused, whether it is silent.

`HealthTracker` is told of every answer the node gives a source (`observe`) and of
every request refused whole (`refuse`: a revoked certificate, a body too large...),
with the time; it reads no clock. `HealthTracker.snapshot` turns that and the
registry's entries into `SourceHealth` values for the display, ``/api/state`` and
``/metrics`` (`web.metrics.SourceHealthCollector`).

A source is ``live`` while it sends: its last record (accepted or a duplicate: the
source is there and its data is good) is at most twice its expected interval old.
Past that it is ``silent``, as is a source added longer ago than that which never
sent a record. Refused input does not count as sending: a source whose every batch is
refused is silent, with its refusals counted by reason. A revoked source is
``revoked`` whatever it does.
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from warnlink.sources.base import IngestAnswer
from warnlink.sources.registry import SourceEntry

#: Silent after this many expected intervals without a record.
SILENT_AFTER_INTERVALS: Final = 2.0
#: The window the rate is counted over, s.
RATE_WINDOW_S: Final = 60
_NS: Final = 1_000_000_000


class SourceState(enum.StrEnum):
    """How a source is doing (see the module docstring)."""

    LIVE = "live"
    SILENT = "silent"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source's health at one instant.

    Attributes:
        name: the source.
        state: live, silent or revoked.
        last_record_ns: when its last record was taken (accepted or duplicate), UTC ns.
        records_last_minute: records taken over the last `RATE_WINDOW_S` seconds.
        accepted, duplicates: records taken since the node started.
        refused: refusals since the node started, by reason (`sources.base.REASONS`),
            records and whole requests alike.
        interval_s: how often it is expected to send.
        data_mode: the mode its registry entry gives.
    """

    name: str
    state: SourceState
    last_record_ns: int | None
    records_last_minute: int
    accepted: int
    duplicates: int
    refused: tuple[tuple[str, int], ...]
    interval_s: float
    data_mode: str

    @property
    def rate_per_s(self) -> float:
        """Records per second over the last minute."""
        return self.records_last_minute / RATE_WINDOW_S

    def as_json(self) -> dict[str, object]:
        """The form ``/api/state`` shows (its names, snake_case, as the rest of it)."""
        return {
            "name": self.name,
            "state": self.state.value,
            "last_record_ns": self.last_record_ns,
            "records_last_minute": self.records_last_minute,
            "rate_per_s": round(self.rate_per_s, 3),
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "refused": dict(self.refused),
            "interval_s": self.interval_s,
            "data_mode": self.data_mode,
        }


def judge(entry: SourceEntry, last_record_ns: int | None, now_ns: int) -> SourceState:
    """Whether `entry`'s source is live, silent or revoked at `now_ns` (module docstring)."""
    if not entry.live:
        return SourceState.REVOKED
    since = entry.added_ns if last_record_ns is None else last_record_ns
    limit_ns = SILENT_AFTER_INTERVALS * entry.interval_s * _NS
    return SourceState.SILENT if now_ns - since > limit_ns else SourceState.LIVE


@dataclass
class _Tally:
    last_record_ns: int | None = None
    accepted: int = 0
    duplicates: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    # (second, records) per second that had any, newest last: at most RATE_WINDOW_S + 1.
    seconds: deque[tuple[int, int]] = field(default_factory=deque)

    def took(self, records: int, now_ns: int) -> None:
        second = now_ns // _NS
        if self.seconds and self.seconds[-1][0] == second:
            self.seconds[-1] = (second, self.seconds[-1][1] + records)
        else:
            self.seconds.append((second, records))
        self._prune(second)
        if self.last_record_ns is None or now_ns > self.last_record_ns:
            self.last_record_ns = now_ns

    def last_minute(self, now_ns: int) -> int:
        self._prune(now_ns // _NS)
        return sum(n for _, n in self.seconds)

    def _prune(self, second: int) -> None:
        while self.seconds and self.seconds[0][0] <= second - RATE_WINDOW_S:
            self.seconds.popleft()


class HealthTracker:
    """What each source sent and was refused, told by the node as it answers."""

    def __init__(self) -> None:
        self._tallies: dict[str, _Tally] = {}

    def observe(self, source: str, answer: IngestAnswer, now_ns: int) -> None:
        """Note the node's answer to one batch of `source`'s at `now_ns` (UTC ns)."""
        tally = self._tally(source)
        tally.accepted += answer.accepted
        tally.duplicates += answer.duplicates
        tally.refused.update(r.reason for r in answer.refused)
        if answer.accepted + answer.duplicates:
            tally.took(answer.accepted + answer.duplicates, now_ns)

    def refuse(self, source: str, reason: str) -> None:
        """Note a request of `source`'s refused whole, for `reason` (`sources.base.REASONS`).

        `source` is a registered name (one the server or the registry authenticated):
        input from no known source is counted by the node's counters alone.
        """
        self._tally(source).refused[reason] += 1

    def snapshot(self, entries: Iterable[SourceEntry], now_ns: int) -> tuple[SourceHealth, ...]:
        """Every registered source's health at `now_ns`, by name.

        A name with several entries (a certificate revoked, then a new one) is shown
        once, by its live entry if it has one, else by its latest.
        """
        shown: dict[str, SourceEntry] = {}
        for entry in sorted(entries, key=lambda e: (e.live, e.added_ns)):
            shown[entry.name] = entry  # live after revoked, newer after older
        result = []
        for name, entry in sorted(shown.items()):
            tally = self._tallies.get(name, _Tally())
            result.append(
                SourceHealth(
                    name=name,
                    state=judge(entry, tally.last_record_ns, now_ns),
                    last_record_ns=tally.last_record_ns,
                    records_last_minute=tally.last_minute(now_ns),
                    accepted=tally.accepted,
                    duplicates=tally.duplicates,
                    refused=tuple(sorted(tally.refused.items())),
                    interval_s=entry.interval_s,
                    data_mode=entry.data_mode.value,
                )
            )
        return tuple(result)

    def _tally(self, source: str) -> _Tally:
        tally = self._tallies.get(source)
        if tally is None:
            tally = self._tallies[source] = _Tally()
        return tally
