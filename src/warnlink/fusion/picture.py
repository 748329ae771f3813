"""A party's picture: everything it received and produced, grouped by event.

An event is one missile. Each originator's track of it is a `Contribution`,
keyed by (originator, originator's track number), holding that originator's
latest launch report, track state, impact prediction and status, with the ids of
the messages it came from (provenance). Contributions are grouped into events by
global nearest neighbour on statistically gated tracks (`_assign_tracks`), or by
the gates in `association` where only launch reports or impact predictions arrived.
Two events found later to be the same missile are merged; a contribution whose
ballistic track no longer gates with its event's others is split off and assigned
again. Merges and splits are recorded on the events.

Per report the work does not grow with the picture: a known track's contribution is
found by its key; the track assignment runs only when an event it depends on changed
(`track_index`), gating all candidates in one batch (`gating.distances2`); and a split is
looked for only on evidence: unless a cheap bound shows the report still gates with its
event (`gating.surely_gated`), the gate itself decides. Contributions without a track are
assigned again only where the report changed a cost (`trackless`).

Data of different modes (`model.record.DataMode`: real, exercise, test, simulated) is
never associated: an event holds contributions of one mode only, so an exercise track
never joins a real missile, nor its alerts.

Messages are applied once: a message id seen before is ignored (idempotent). What
the picture holds per message is bounded, so a node that runs for weeks does not grow
with its traffic:

- the applied message ids remembered for that are the last `APPLIED_KEPT`
  (`Picture.has_applied`). That is safe because the picture is not the first line
  against a repeat: the receiving gateway's replay guard (`sharing.replay`) drops an
  (originator, seq) it handled before, by its seen-set within the freshness window and
  by its path marks beyond it, before the picture sees it. The picture's own check
  catches what the guard cannot: a message applied but not yet marked handled when
  its node crashed or its handling failed. Such a message is redelivered first on its
  consumer (the process that subscribes again holds newer messages behind it) within
  the ack wait, or after a restart, where the picture is rebuilt from the applied-log in order
  (its last ids are the ones remembered); either way far fewer than `APPLIED_KEPT`
  messages are applied in between (at 800 a second, 65,536 are 80 s).
- a contribution's provenance (`Contribution.msg_ids`) keeps the id of its first
  message and of its last `PROVENANCE_KEPT` - 1, and counts them all
  (`Contribution.msg_count`); which message each alert was derived from is kept apart,
  by the alerting ledger.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Container
from typing import Final

import numpy as np
from scipy.optimize import linear_sum_assignment

from warnlink.fusion.association import impacts_match
from warnlink.fusion.event import (
    LAUNCH_ONLY_COST,
    PROVENANCE_KEPT,
    Contribution,
    ContributionKey,
    Event,
    FusedState,
    tightest_launch,
)
from warnlink.fusion.gating import GATE_CHI2_3DOF, GateState, distances2, surely_gated
from warnlink.fusion.track_index import TrackIndex
from warnlink.fusion.trackless import NO_MATCH, TracklessIndex
from warnlink.model import (
    Envelope,
    EventStatus,
    Heartbeat,
    ImpactPrediction,
    LaunchReport,
    TrackReport,
)

__all__ = [
    "APPLIED_KEPT",
    "LAUNCH_ONLY_COST",
    "PROVENANCE_KEPT",
    "Contribution",
    "ContributionKey",
    "Event",
    "FusedState",
    "Picture",
    "tightest_launch",
]

#: Applied message ids a picture remembers to drop a repeat: the most recent ones.
APPLIED_KEPT: Final = 65_536


class Picture:
    """What one party knows, built from the envelopes it applies.

    Args:
        party: whose picture.
        applied_kept: how many applied message ids it remembers (the most recent).
    """

    def __init__(self, party: str, *, applied_kept: int = APPLIED_KEPT) -> None:
        self.party = party
        self.applied_kept = applied_kept
        self.events: dict[str, Event] = {}
        #: Reports (not heartbeats) received, by originator.
        self.received_from: Counter[str] = Counter()
        #: When the last heartbeat of each link peer arrived, UTC ns.
        self.heartbeats: dict[str, int] = {}
        self._applied: set[str] = set()
        self._applied_order: deque[str] = deque()
        self._event_of: dict[ContributionKey, str] = {}
        self._next_event = 1
        self._index = TrackIndex()
        self._trackless = TracklessIndex(self.events, self._event_of, self._index.serial)

    def has_applied(self, msg_id: str) -> bool:
        """Whether `msg_id` was applied and is still remembered (one of the last
        `APPLIED_KEPT`, see the module docstring)."""
        return msg_id in self._applied

    @property
    def remembered(self) -> int:
        """How many applied message ids are remembered (at most `APPLIED_KEPT`)."""
        return len(self._applied)

    @property
    def provenance_kept(self) -> int:
        """How many message ids the contributions keep as provenance, all events."""
        return sum(len(c.msg_ids) for e in self.events.values() for c in e.contributions.values())

    def apply(self, envelope: Envelope, received_ns: int) -> bool:
        """Apply one accepted message; False if it was applied before (and is still
        remembered: `has_applied`)."""
        if self.has_applied(envelope.msg_id):
            return False
        self._remember(envelope.msg_id)
        payload = envelope.payload
        if isinstance(payload, Heartbeat):
            self.heartbeats[envelope.originator] = received_ns
            return True
        if envelope.originator != self.party:
            self.received_from[envelope.originator] += 1
        key = (envelope.originator, payload.trk_id)
        contribution = self._contribution(key, received_ns)
        tracked = contribution.track is not None
        contribution.add_provenance(envelope.msg_id)
        contribution.data_mode = contribution.data_mode or envelope.data_mode
        match payload:
            case LaunchReport():
                contribution.launch = payload
                contribution.launch_received_ns = contribution.launch_received_ns or received_ns
            case TrackReport():
                if contribution.track is None or payload.epoch >= contribution.track.epoch:
                    contribution.set_track(payload)
                    contribution.track_label = envelope.label.including(envelope.originator)
                contribution.track_count += 1
            case ImpactPrediction():
                if contribution.impact is None or payload.epoch >= contribution.impact.epoch:
                    contribution.impact = payload
                contribution.impact_received_ns = contribution.impact_received_ns or received_ns
            case EventStatus():
                # The latest word by event time, not by arrival: an older status
                # arriving late (recovered after a damaged store) does not undo a newer.
                if contribution.status_epoch is None or payload.epoch >= contribution.status_epoch:
                    contribution.status = payload.status
                    contribution.status_epoch = payload.epoch
        event = self.events[self._event_of[key]]
        if tracked and isinstance(payload, TrackReport):
            self._index.refresh(event)  # a later track changes nothing a trackless cost reads
        else:
            self._refresh(event)
        if isinstance(payload, TrackReport):
            self._check_split(key)
        self._associate(key, gates_others=not isinstance(payload, TrackReport))
        return True

    def _remember(self, msg_id: str) -> None:
        """Remember an applied id; forget the oldest beyond `applied_kept`."""
        self._applied.add(msg_id)
        self._applied_order.append(msg_id)
        if len(self._applied_order) > self.applied_kept:
            self._applied.discard(self._applied_order.popleft())

    def _contribution(self, key: ContributionKey, received_ns: int) -> Contribution:
        event_id = self._event_of.get(key)
        if event_id is not None:
            return self.events[event_id].contributions[key]
        event = self._new_event()
        contribution = Contribution(key[0], key[1], received_ns)
        event.contributions[key] = contribution
        self._event_of[key] = event.event_id
        self._index.keys_of.setdefault(key[0], set()).add(key)
        return contribution

    def _new_event(self) -> Event:
        event = Event(f"{self.party}-E{self._next_event}")
        self._index.serial[event.event_id] = self._next_event
        self._next_event += 1
        self.events[event.event_id] = event
        return event

    def _refresh(self, event: Event) -> None:
        """Note that `event` changed (`TrackIndex.refresh`, `TracklessIndex.refresh`)."""
        self._index.refresh(event)
        self._trackless.refresh(event)

    def _forget(self, event_id: str) -> None:
        """Drop an event that was merged or moved away (`TrackIndex.forget`,
        `TracklessIndex.forget`)."""
        del self.events[event_id]
        self._index.forget(event_id)
        self._trackless.forget(event_id)

    def _associate(self, key: ContributionKey, *, gates_others: bool) -> None:
        """Join the contribution's event to an earlier event of the same missile.

        A contribution with a track is assigned by global nearest neighbour among
        tracks (`_assign_tracks`); one without (only launch reports or impact
        predictions reached this party) by `_assign_trackless`. A new launch point or
        impact prediction (`gates_others`) may be the first thing another originator's
        trackless contributions gate on, which may have arrived first and will not be
        sent again: theirs are assigned afresh too.
        """
        own = self.events[self._event_of[key]]
        if own.contributions[key].track is not None:
            self._assign_tracks(key[0])
        else:
            self._assign_trackless(key[0])
        if gates_others:
            for originator in sorted(self._index.keys_of.keys() - {key[0]}):
                self._assign_trackless(originator)

    def _assign_trackless(self, originator: str) -> None:
        """Global nearest neighbour for the originator's contributions without a track.

        Each is assigned, with every new report, to the event it fits at least summed
        cost (`Event.match_cost` against the event's other contributions), so in a
        salvo a wrong early fit is put right once better predictions arrive, even where
        the right places are held by each other (a swap). One contribution per
        originator per event. A contribution that only launch gates place, ambiguously
        (several events), waits on its own for an impact prediction. A move is recorded
        in the source's `split_off` and the target's `merged_from`. Only what the report
        can change is computed again (`trackless.TracklessIndex.solve`).
        """
        rows = self._trackless.rows.get(originator)
        if not rows:
            return
        for key, target in self._trackless.solve(originator):
            self._move(key, target, rows)

    def _move(
        self, key: ContributionKey, target: Event | None, moving: Container[ContributionKey]
    ) -> None:
        """Put a contribution in `target`, or alone (None); `moving` are not anchors."""
        current = self.events[self._event_of[key]]
        if current is target:
            return
        if target is None and all(k in moving for k in current.contributions):
            return  # already apart from every anchored contribution
        contribution = current.contributions.pop(key)
        if current.contributions:
            self._refresh(current)
        else:
            self._forget(current.event_id)
        destination = self._new_event() if target is None else target
        destination.contributions[key] = contribution
        self._event_of[key] = destination.event_id
        self._refresh(destination)
        if current.event_id in self.events:
            current.split_off.append(destination.event_id)
        else:
            destination.merged_from.append(current.event_id)

    def _check_split(self, key: ContributionKey) -> None:
        """Take an event apart when the contribution's track no longer gates.

        Association during boost can pair tracks wrongly (thrust is only allowed for, by
        the gate's boost process noise), and reports without a track may have joined on
        that wrong pair. The evidence is the report's own gate to its event: one batched
        distance to the event's other tracks (`gating.distances2`). A pair beyond the
        gate, in any phase, dissolves the event: every contribution goes back to an event
        of its own and is associated again (`_reassociate`).
        """
        event = self.events[self._event_of[key]]
        contribution = event.contributions[key]
        others = [c for k, c in event.contributions.items() if k != key and c.track]
        mine = contribution.track
        if mine is None or not others:
            return
        if any(surely_gated(mine, c.track) for c in others if c.track):
            return  # no evidence against the pair: the gate itself need not run
        distances = distances2(_ready(contribution), [_ready(c) for c in others])
        distances = distances[~np.isnan(distances)]
        if not distances.size or distances.min() <= GATE_CHI2_3DOF:
            return
        keys = list(event.contributions)
        for other_key in keys[1:]:
            alone = self._new_event()
            alone.contributions[other_key] = event.contributions.pop(other_key)
            self._event_of[other_key] = alone.event_id
            event.split_off.append(alone.event_id)
            self._refresh(alone)
        self._refresh(event)
        self._reassociate(keys)

    def _reassociate(self, keys: list[ContributionKey]) -> None:
        """Associate contributions again: tracks first (by originator), then the rest."""
        with_track = [k for k in keys if self._contribution_of(k).track is not None]
        for originator in sorted({k[0] for k in with_track}):
            self._assign_tracks(originator)
        for k in keys:
            if self._contribution_of(k).track is None:
                self._associate(k, gates_others=False)

    def _contribution_of(self, key: ContributionKey) -> Contribution:
        return self.events[self._event_of[key]].contributions[key]

    def _assign_tracks(self, originator: str) -> None:
        """Global nearest neighbour between the originator's unassociated tracks and events.

        Costs are squared Mahalanobis distances at a common time (`gating`); pairs
        beyond the gate are not assigned. Where every track of a candidate is too old
        to gate (`gating.MAX_GAP_S`: a track re-acquired after its predecessor was
        deleted), agreeing impact predictions (`association.impacts_match`) give the
        pair the gate's own cost, so any statistically gated pair is preferred. The
        assignment minimises the summed cost (Munkres, via scipy's
        `linear_sum_assignment`), so in a salvo two close tracks are not both given the
        same missile. The originator's unassociated events come from the index
        (`track_index`), and nothing is computed unless one of them, or an event it could
        join, changed since the last time: the outcome would be the same.
        """
        rows = [self.events[event_id] for event_id in self._index.take_pending(originator)]
        if not rows:
            return
        candidates = [
            e
            for e in self.events.values()
            if originator not in self._index.held[e.event_id] and e.latest_track() is not None
        ]
        if not candidates:
            return
        tracked = [(j, c) for j, e in enumerate(candidates) for c in e.contributions.values()]
        columns = np.array([j for j, c in tracked if c.track is not None], dtype=np.intp)
        states = [_ready(c) for _, c in tracked if c.track is not None]
        modes = [e.data_mode for e in candidates]
        costs = np.full((len(rows), len(candidates)), NO_MATCH)
        for i, event in enumerate(rows):
            distances = distances2(_latest_gate(event), states)
            gated = ~np.isnan(distances)
            nearest = np.full(len(candidates), np.inf)
            np.minimum.at(nearest, columns[gated], distances[gated])
            measured = np.zeros(len(candidates), dtype=bool)
            measured[columns[gated]] = True
            same_mode = np.array([m is event.data_mode for m in modes])  # never fused across
            within = same_mode & measured & (nearest <= GATE_CHI2_3DOF)
            costs[i, within] = nearest[within]
            if any(c.impact is not None for c in event.contributions.values()):
                for j in np.flatnonzero(same_mode & ~measured).tolist():
                    if _impacts_agree(event, candidates[j]):
                        costs[i, j] = GATE_CHI2_3DOF
        assigned_rows, cols = linear_sum_assignment(costs)
        for row, col in zip(assigned_rows.tolist(), cols.tolist(), strict=True):
            if costs[row, col] < NO_MATCH:
                self._merge(into=candidates[col], other=rows[row])

    def _merge(self, *, into: Event, other: Event) -> None:
        into.contributions.update(other.contributions)
        into.merged_from.extend([other.event_id, *other.merged_from])
        for key in other.contributions:
            self._event_of[key] = into.event_id
        self._forget(other.event_id)
        self._refresh(into)


def _ready(contribution: Contribution) -> GateState:
    """A tracked contribution's gate state (`Contribution.ready_track`)."""
    state = contribution.ready_track()
    assert state is not None
    return state


def _latest_gate(event: Event) -> GateState:
    """The gate state of the event's most recent track (`Event.latest_track`)."""
    tracked = [c for c in event.contributions.values() if c.track is not None]
    return _ready(max(tracked, key=lambda c: c.track.epoch if c.track is not None else 0))


def _impacts_agree(a: Event, b: Event) -> bool:
    """Whether some impact prediction of `a` and some of `b` gate together."""
    return any(
        x.impact is not None and y.impact is not None and impacts_match(x.impact, y.impact)
        for x in a.contributions.values()
        for y in b.contributions.values()
    )
