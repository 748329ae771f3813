"""A party's alerting over its own picture: the shell around the pure assessment and lifecycle.

Each party assesses only its own areas (`geo.areas.areas_for`), from its own picture,
which holds only what was released to it. The node records every message the picture
applies (`record`) and calls `update` every second; assessments are recomputed only
when their inputs change (a new impact prediction; a track state `PATH_EVERY_S` newer
than the one the ground track was flown from), so a tick with nothing new costs little.
Those caches hold only events still in the picture: an event merged into another, or
emptied, is dropped from them at the next `update`, so they do not grow with the
events a long run merges away.
"""

from __future__ import annotations

from typing import Final

from warnlink.alerting.assess import Threat, impact_threats, overflight_threats
from warnlink.alerting.ledger import ContributionKey, Ledger
from warnlink.alerting.lifecycle import Alert, AlertKey, AlertState, step
from warnlink.alerting.overflight import GroundTrack, ground_track
from warnlink.fusion.picture import Event, Picture
from warnlink.geo.areas import Area, areas_for
from warnlink.model import Envelope, Phase, Status, TrackReport
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

PATH_EVERY_S: Final = 10.0
#: The mode of an event none of whose reports said one. None can: an envelope must carry
#: the mode of every report (`Envelope.data_mode`); were one missing, the event is taken
#: as test data, so that nothing unmarked is ever warned of as real.
UNMARKED_MODE: Final = DataMode.TEST


def data_mode_of(event: Event) -> DataMode:
    """The event's data mode (`Event.data_mode`), `UNMARKED_MODE` when none is known."""
    return event.data_mode or UNMARKED_MODE


class AlertMonitor:
    """One party's alerts: what is in force (`book`) and every message sent (`alerts`).

    Args:
        party: the party warned.
        zones: user alert zones (`geo.areas.load_zones`); only the party's own are used.
    """

    def __init__(self, party: str, zones: tuple[Area, ...] = ()) -> None:
        self.party = party
        self.areas = areas_for(party, zones)
        self.ledger = Ledger()
        self.book: dict[AlertKey, AlertState] = {}
        self.alerts: list[Alert] = []
        self._impacts: dict[str, tuple[str | None, list[Threat]]] = {}
        self._paths: dict[str, tuple[int, GroundTrack | None, list[Threat]]] = {}

    def record(self, envelope: Envelope) -> None:
        """Note a message the picture applied, for provenance and track history."""
        self.ledger.record(envelope)

    def update(self, picture: Picture, now_ns: int) -> list[Alert]:
        """Assess every event of the picture and advance the alerts; returns new messages."""
        threats: list[Threat] = []
        lost: set[str] = set()
        for event in picture.events.values():
            threats += self._impact_threats(event)
            threats += self._overflight_threats(event)
            if all(c.status is Status.LOST for c in event.contributions.values()):
                lost.add(event.event_id)
        for cache in (self._impacts, self._paths):
            for gone in cache.keys() - picture.events.keys():
                del cache[gone]
        self.book, messages = step(self.party, self.book, threats, frozenset(lost), now_ns)
        self.alerts += messages
        return messages

    @property
    def cached(self) -> frozenset[str]:
        """The events whose assessments are cached (all in the picture after `update`)."""
        return frozenset(self._impacts.keys() | self._paths.keys())

    def ground_track(self, event: Event) -> GroundTrack | None:
        """The event's predicted ground track, as last flown (None before burnout)."""
        self._overflight_threats(event)
        cached = self._paths.get(event.event_id)
        return None if cached is None else cached[1]

    def _impact_threats(self, event: Event) -> list[Threat]:
        found = event.latest_impact()
        if found is None:
            return []
        key, ipp = found
        msg_id = self.ledger.msg_id(key, "impact_prediction")
        cached = self._impacts.get(event.event_id)
        if cached is None or cached[0] != msg_id or msg_id is None:
            derived = self.ledger.derived_from(key, "impact_prediction")
            threats = impact_threats(event.event_id, ipp, self.areas, derived, data_mode_of(event))
            cached = (msg_id, threats)
            self._impacts[event.event_id] = cached
        return cached[1]

    def _overflight_threats(self, event: Event) -> list[Threat]:
        found = latest_ballistic_track(event)
        if found is None:
            return []
        key, track = found
        cached = self._paths.get(event.event_id)
        if cached is not None and track.epoch - cached[0] < PATH_EVERY_S * NS_PER_S:
            return cached[2]
        path = ground_track(track)
        derived = self.ledger.derived_from(key, "track_report")
        threats = (
            []
            if path is None
            else overflight_threats(event.event_id, path, self.areas, derived, data_mode_of(event))
        )
        self._paths[event.event_id] = (track.epoch, path, threats)
        return threats


def latest_ballistic_track(event: Event) -> tuple[ContributionKey, TrackReport] | None:
    """The event's most recent track state past boost, and its source."""
    candidates = [
        (k, c.track)
        for k, c in event.contributions.items()
        if c.track is not None and c.track.phase is not Phase.BOOST
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda kc: kc[1].epoch)
