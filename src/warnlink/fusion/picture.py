"""A party's picture: everything it received and produced, grouped by event.

An event is one missile. Each originator's track of it is a `Contribution`,
keyed by (originator, originator's track number), holding that originator's
latest launch report, track state, impact prediction and status, with the ids of
the messages it came from (provenance). Contributions are grouped into events by
the gates in `association`; two events found later to be the same missile are
merged, and the merge is recorded.

Messages are applied once: a message id seen before is ignored (idempotent).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from warnlink.fusion.association import impacts_match, launches_match, tracks_match
from warnlink.model import (
    Envelope,
    EventStatus,
    Heartbeat,
    ImpactPrediction,
    LaunchReport,
    Status,
    TrackReport,
)

ContributionKey = tuple[str, int]


@dataclass
class Contribution:
    """One originator's track of one missile, as this party knows it."""

    originator: str
    trk_id: int
    first_received_ns: int
    launch: LaunchReport | None = None
    launch_received_ns: int | None = None
    track: TrackReport | None = None
    track_count: int = 0
    impact: ImpactPrediction | None = None
    impact_received_ns: int | None = None
    status: Status = Status.FLYING
    msg_ids: list[str] = field(default_factory=list)


@dataclass
class Event:
    """One missile: the contributions of every originator that tracks it."""

    event_id: str
    contributions: dict[ContributionKey, Contribution] = field(default_factory=dict)
    merged_from: list[str] = field(default_factory=list)

    def matches(self, other: Contribution) -> bool:
        """Whether `other` describes this event's missile, by any gate that applies."""
        for mine in self.contributions.values():
            if mine.launch and other.launch and launches_match(mine.launch, other.launch):
                return True
            if mine.track and other.track and tracks_match(mine.track, other.track):
                return True
            if mine.impact and other.impact and impacts_match(mine.impact, other.impact):
                return True
        return False


class Picture:
    """What one party knows, built from the envelopes it applies."""

    def __init__(self, party: str) -> None:
        self.party = party
        self.events: dict[str, Event] = {}
        #: Reports (not heartbeats) received, by originator.
        self.received_from: Counter[str] = Counter()
        #: When the last heartbeat of each link peer arrived, UTC ns.
        self.heartbeats: dict[str, int] = {}
        self._applied: set[str] = set()
        self._event_of: dict[ContributionKey, str] = {}
        self._next_event = 1

    def apply(self, envelope: Envelope, received_ns: int) -> bool:
        """Apply one accepted message; False if it was applied before."""
        if envelope.msg_id in self._applied:
            return False
        self._applied.add(envelope.msg_id)
        payload = envelope.payload
        if isinstance(payload, Heartbeat):
            self.heartbeats[envelope.originator] = received_ns
            return True
        if envelope.originator != self.party:
            self.received_from[envelope.originator] += 1
        key = (envelope.originator, payload.trk_id)
        contribution = self._contribution(key, received_ns)
        contribution.msg_ids.append(envelope.msg_id)
        match payload:
            case LaunchReport():
                contribution.launch = payload
                contribution.launch_received_ns = contribution.launch_received_ns or received_ns
            case TrackReport():
                if contribution.track is None or payload.epoch >= contribution.track.epoch:
                    contribution.track = payload
                contribution.track_count += 1
            case ImpactPrediction():
                if contribution.impact is None or payload.epoch >= contribution.impact.epoch:
                    contribution.impact = payload
                contribution.impact_received_ns = contribution.impact_received_ns or received_ns
            case EventStatus():
                contribution.status = payload.status
        self._associate(key)
        return True

    def _contribution(self, key: ContributionKey, received_ns: int) -> Contribution:
        event_id = self._event_of.get(key)
        if event_id is not None:
            return self.events[event_id].contributions[key]
        event = Event(f"{self.party}-E{self._next_event}")
        self._next_event += 1
        contribution = Contribution(key[0], key[1], received_ns)
        event.contributions[key] = contribution
        self.events[event.event_id] = event
        self._event_of[key] = event.event_id
        return contribution

    def _associate(self, key: ContributionKey) -> None:
        """Merge the contribution's event into an earlier event of the same missile."""
        own = self.events[self._event_of[key]]
        contribution = own.contributions[key]
        own_originators = {k[0] for k in own.contributions}
        for event in list(self.events.values()):
            # One contribution per originator per event: an originator's two tracks are
            # two missiles (its own tracker has already told them apart).
            if event is own or own_originators & {k[0] for k in event.contributions}:
                continue
            if event.matches(contribution):
                self._merge(into=event, other=own)
                return

    def _merge(self, *, into: Event, other: Event) -> None:
        into.contributions.update(other.contributions)
        into.merged_from.extend([other.event_id, *other.merged_from])
        for key in other.contributions:
            self._event_of[key] = into.event_id
        del self.events[other.event_id]
