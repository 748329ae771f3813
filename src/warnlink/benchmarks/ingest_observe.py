"""What the ingest benchmark reads back from the nodes' files once they have stopped.

Every node keeps an applied-log (`node.stores`: every message its picture applied,
its own included, with the time it did so by its clock, the system's UTC clock) and its
input port's journal (`sources.journal`: the party's number for each source track).
Read after the node processes end (a node holds its files locked), they say to the
nanosecond, without watching the nodes while they run:

- when each record was applied at its own node: a node applies its own track report
  as soon as it has sent it, so that is when the record was handed over and turned
  into reports;
- when each other party's picture applied the record's track report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from warnlink.model import TrackReport, decode
from warnlink.model.time import NS_PER_S
from warnlink.node.stores import queue_store
from warnlink.runtime import journal_in
from warnlink.sources.journal import TrackKey


@dataclass(frozen=True, slots=True)
class Applied:
    """A track report a picture applied: when (UTC ns), whose, which track and state."""

    time_ns: int
    originator: str
    trk_id: int
    epoch_ns: int


@dataclass(frozen=True, slots=True)
class Sent:
    """A batch a source sent and had answered 2xx.

    Attributes:
        source: the source's name.
        track_ids: its records' tracks (one record each).
        epoch_ns: its records' epoch (every record of the batch has the same).
        answered_ns: when the 2xx arrived, UTC ns.
    """

    source: str
    track_ids: tuple[str, ...]
    epoch_ns: int
    answered_ns: int


def applied_track_reports(data: Path, party: str) -> list[Applied]:
    """Every track report in `party`'s applied-log (data folder `data`), in order.

    Raises:
        StoreError: the log cannot be opened (its node still runs) or read.
    """
    store = queue_store(data / party, f"applied-{party}", "applied-log")
    try:
        entries = store.entries()
    finally:
        store.close()
    out = []
    for entry in entries:
        if not entry.intact:
            continue
        envelope = decode(entry.data)
        payload = envelope.payload
        if isinstance(payload, TrackReport):
            out.append(Applied(entry.time_ns, envelope.originator, payload.trk_id, payload.epoch))
    return out


def track_numbers(data: Path, party: str, keys: Iterable[TrackKey]) -> dict[TrackKey, int]:
    """`party`'s number of each (source, track id) among `keys` that its journal holds."""
    journal = journal_in(data / party, party)
    try:
        return {key: track.number for key, track in journal.tracks(keys).items()}
    finally:
        journal.close()


def applied_rate(applied: Iterable[Applied], originator: str, start_ns: int, end_ns: int) -> float:
    """`originator`'s track reports applied from `start_ns` to `end_ns`, per second."""
    count = sum(1 for a in applied if a.originator == originator and start_ns <= a.time_ns < end_ns)
    return count / ((end_ns - start_ns) / NS_PER_S)


def delays_ms(
    sent: Sequence[Sent],
    numbers: Mapping[TrackKey, int],
    applied: Iterable[Applied],
    originator: str,
    until_ns: int,
) -> tuple[list[float], int]:
    """Per record of `sent`, ms from its batch's 2xx to its track report in `applied`
    (a picture's); and how many never arrived, counted with their wait until `until_ns`
    (a lower bound on their delay)."""
    first: dict[tuple[int, int], int] = {}
    for a in applied:
        if a.originator == originator:
            first.setdefault((a.trk_id, a.epoch_ns), a.time_ns)
    delays: list[float] = []
    missing = 0
    for batch in sent:
        for track_id in batch.track_ids:
            number = numbers.get((batch.source, track_id))
            when = None if number is None else first.get((number, batch.epoch_ns))
            if when is None:
                missing += 1
                when = until_ns
            delays.append((when - batch.answered_ns) / 1e6)
    return delays, missing
