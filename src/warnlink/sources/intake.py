"""The node's input port: one path from every source to the node (a `RecordSink`).

Every source adapter hands its records to `Intake.take` under the source's registered
name. The intake checks what is common to every source, whatever its wire:

- the record is its source's, for this party (``party``: a source writes only as its
  own party);
- its epoch is inside the federation's freshness window around now (``stale``,
  ``future``), as messages between parties are;
- a track keeps its data mode (``mode_changed``): a source that switches a track from
  EXERCISE to REAL must start a new track;
- the source's backlog is under `SOURCE_BACKLOG` records (``flood``), so one source
  cannot bury another.

A batch with any refusal is refused whole (`RecordSink`). An accepted batch goes into
the journal (`sources.journal`: durable when `take` returns); records already there
(same source, track id, epoch and content) are counted as duplicates and not taken again. The
journalled records are handed to the node (`NodeInput.ingest`) in each source's order,
the sources in turn (`run`, or `drain` for a caller that steps time itself), then marked
done. A restarted node hands over what was not done; what was done within the window is
replayed into the node quietly first (`NodeInput.restore`), so each track's reporter
knows its history (launch point from boost, last prediction). A crash between handing a
record over and marking it done hands it over again: the reports it gives are sent again
with new message ids (harmless: receivers keep the latest by event time).

Counters: ``ingest.accepted``, ``ingest.duplicates``, ``ingest_rejected.<reason>``
(`sources.base.REASONS`), ``ingest.applied``, ``ingest.apply_failed``,
``transport.failed`` (the node's store failed: the record is handed over again later).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from warnlink.counters import Counters
from warnlink.errors import TransportError
from warnlink.model.record import SourceRecord
from warnlink.model.time import NS_PER_S, Clock
from warnlink.sources.base import IngestAnswer, Refusal
from warnlink.sources.journal import Entry, Journal, RecordKey, record_key

log = logging.getLogger(__name__)

#: Most records of one source waiting to be handed to the node.
SOURCE_BACKLOG: Final = 20_000
#: Records handed to the node between two marks in the journal.
BATCH: Final = 100
#: Seconds before a record is handed over again after the node's store failed.
RETRY_S: Final = 0.5
#: Done records are kept this long beyond the freshness window (repeats are told by them).
PRUNE_MARGIN_S: Final = 60.0

AnswerHook = Callable[[str, IngestAnswer, int], None]
"""Called with (source, answer, now_ns) after every batch (source health)."""


class NodeInput(Protocol):
    """What the intake hands records to: the node (`node.Node`)."""

    async def ingest(self, record: SourceRecord, track_number: int) -> None:
        """Turn the record into reports and send them."""
        ...

    def restore(self, record: SourceRecord, track_number: int) -> None:
        """Let the track's reporter know the record, sending nothing."""
        ...

    async def settle(self) -> None:
        """Wait until the reports of the records handed over are in the outbox."""
        ...


class Intake:
    """The input port of one party's node (see the module docstring).

    Args:
        party: the node's party.
        journal: where accepted records are kept.
        node: where they go.
        clock: the node's clock.
        window_s: the freshness window (the federation's ``freshness_window_s``).
        counters: the node's counters.
        on_answer: called after every batch with its answer (source health).
        source_backlog: most records of one source waiting for the node.
    """

    def __init__(
        self,
        party: str,
        journal: Journal,
        node: NodeInput,
        clock: Clock,
        *,
        window_s: float,
        counters: Counters,
        on_answer: AnswerHook | None = None,
        source_backlog: int = SOURCE_BACKLOG,
    ) -> None:
        self.party = party
        self.journal = journal
        self.node = node
        self.clock = clock
        self.window_ns = round(window_s * NS_PER_S)
        self.counters = counters
        self.on_answer = on_answer
        self.source_backlog = source_backlog
        self._queues: dict[str, deque[Entry]] = {}
        self._wake = asyncio.Event()
        self._last_prune_ns: int | None = None

    @property
    def backlog(self) -> int:
        """Records accepted and not yet handed to the node."""
        return sum(len(q) for q in self._queues.values())

    def start(self) -> None:
        """After a restart: replay into the node what it handled within the window,
        quietly, and queue what it did not handle yet."""
        since = self.clock.now_ns() - self.window_ns - round(PRUNE_MARGIN_S * NS_PER_S)
        restored = self.journal.done_since(since)
        for entry in restored:
            self.node.restore(entry.record, entry.number)
        pending = self.journal.pending()
        for entry in pending:
            self._queues.setdefault(entry.record.source, deque()).append(entry)
        if restored or pending:
            log.info(
                "%s intake: %d records replayed, %d to hand over",
                self.party,
                len(restored),
                len(pending),
            )
        if pending:
            self._wake.set()

    async def take(self, source: str, records: Sequence[SourceRecord]) -> IngestAnswer:
        """Check `records` of `source` whole; journal them if none is refused."""
        now = self.clock.now_ns()
        refused = self._check(source, records, now)
        if refused:
            answer = IngestAnswer(refused=tuple(refused))
            for refusal in refused:
                self.counters.inc(f"ingest_rejected.{refusal.reason}")
        else:
            keys = [record_key(r) for r in records]
            held = self.journal.held(keys)
            fresh: dict[RecordKey, SourceRecord] = {}
            for key, record in zip(keys, records, strict=True):
                if key not in held:
                    fresh.setdefault(key, record)
            entries = self.journal.append(list(fresh.values()), now)
            if entries:
                self._queues.setdefault(source, deque()).extend(entries)
                self._wake.set()
            answer = IngestAnswer(accepted=len(entries), duplicates=len(records) - len(entries))
            self.counters.inc("ingest.accepted", answer.accepted)
            self.counters.inc("ingest.duplicates", answer.duplicates)
        if self.on_answer is not None:
            self.on_answer(source, answer, now)
        return answer

    def _check(self, source: str, records: Sequence[SourceRecord], now: int) -> list[Refusal]:
        refused: list[Refusal] = []
        waiting = len(self._queues.get(source, ()))
        if waiting + len(records) > self.source_backlog:
            return [
                Refusal(
                    None,
                    "",
                    "flood",
                    f"source {source} has {waiting} records waiting for the node (at most "
                    f"{self.source_backlog}); send again later",
                )
            ]
        known = self.journal.tracks({(r.source, r.track_id) for r in records})
        modes = {key: track.data_mode for key, track in known.items()}
        for index, record in enumerate(records):
            problem = self._problem(source, record, now)
            if problem is None:
                track = (record.source, record.track_id)
                mode = modes.setdefault(track, record.data_mode)
                if mode is not record.data_mode:
                    problem = (
                        "mode_changed",
                        f"track {record.track_id} is {mode}, this record says "
                        f"{record.data_mode}: a new mode needs a new track",
                    )
            if problem is not None:
                refused.append(Refusal(index, "", *problem))
        return refused

    def _problem(self, source: str, record: SourceRecord, now: int) -> tuple[str, str] | None:
        if record.source != source or record.party != self.party:
            return (
                "party",
                f"a record of {record.source} for {record.party} cannot come from "
                f"{source} of {self.party}",
            )
        age_s = (now - record.epoch_ns) / NS_PER_S
        window_s = self.window_ns / NS_PER_S
        if age_s > window_s:
            return ("stale", f"state {age_s:.0f} s old, beyond the {window_s:.0f} s window")
        if -age_s > window_s:
            return (
                "future",
                f"state {-age_s:.0f} s ahead of now, beyond the {window_s:.0f} s window",
            )
        return None

    async def run(self, stop: asyncio.Event) -> None:
        """Hand journalled records to the node as they come, until `stop` is set."""
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                try:
                    handed = await self._hand_over()
                except TransportError as exc:  # the node could not store the reports
                    self.counters.inc("transport.failed")
                    # Its records stay undone in the journal: a restart hands them over again.
                    log.warning("%s intake: %s; the gateway tries again", self.party, exc)
                    await asyncio.sleep(RETRY_S)
                    continue
                if not handed:
                    self._wake.clear()
                    waking = asyncio.create_task(self._wake.wait())
                    await asyncio.wait([waking, stopping], return_when=asyncio.FIRST_COMPLETED)
                    waking.cancel()
        finally:
            stopping.cancel()

    async def drain(self) -> None:
        """Hand every journalled record to the node now (for a caller that steps time)."""
        while await self._hand_over():
            pass

    async def _hand_over(self) -> bool:
        """Hand at most `BATCH` records to the node, the sources in turn; False when
        there was nothing to hand over."""
        done: list[int] = []
        try:
            while len(done) < BATCH and self._queues:
                for source in list(self._queues):
                    queue = self._queues[source]
                    entry = queue[0]
                    try:
                        await self.node.ingest(entry.record, entry.number)
                        self.counters.inc("ingest.applied")
                    except TransportError as exc:
                        self.counters.inc("transport.failed")
                        log.warning("%s intake: %s; handing over again", self.party, exc)
                        await asyncio.sleep(RETRY_S)
                        return True
                    except Exception:  # one record must not stop the port (invariant 5)
                        self.counters.inc("ingest.apply_failed")
                        log.exception(
                            "%s could not take %s's record of track %s",
                            self.party,
                            source,
                            entry.record.track_id,
                        )
                    queue.popleft()
                    done.append(entry.seq)
                    if not queue:
                        del self._queues[source]
                    # Let requests in between records: applying one costs the node
                    # milliseconds, a batch of them would hold every port's answers.
                    await asyncio.sleep(0)
        finally:
            if done:
                # Reports wait a few ms to be signed together: done once in the outbox.
                await self.node.settle()
                self.journal.mark_done(done)
        self._prune()
        return bool(done)

    def _prune(self) -> None:
        now = self.clock.now_ns()
        every_ns = round(PRUNE_MARGIN_S * NS_PER_S)
        if self._last_prune_ns is not None and now - self._last_prune_ns < every_ns:
            return
        self._last_prune_ns = now
        self.journal.prune(now - self.window_ns - every_ns)
