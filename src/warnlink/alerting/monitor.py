"""A party's alerting over its own picture: the shell around the pure assessment and lifecycle.

Each party assesses only its own areas (`geo.areas.areas_for`), from its own picture,
which holds only what was released to it. The node records every message the picture
applies (`record`) and calls `update` every second; assessments are recomputed only
when their inputs change enough to matter: a new impact prediction whose ellipse moved,
grew, shrank or turned, or whose impact time moved, beyond what changes an alert, or
that is `REASSESS_EVERY_S` newer than the one last assessed (the rate bound: a drift in
steps below those is seen within it; `impact_worth_reassessing`); a track state
`PATH_EVERY_S` newer than the one the ground track was flown from that left its path, or
`PATH_MAX_AGE_S` newer (`path_worth_reflying`). So a tick with nothing new costs little,
and a stream of predictions that agree costs one assessment per `REASSESS_EVERY_S`.
Those caches hold only events still in the picture: an event
merged into another, or emptied, is dropped from them at the next `update`, so they do
not grow with the events a long run merges away.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from warnlink.alerting.assess import Threat, impact_threats, overflight_threats
from warnlink.alerting.ledger import ContributionKey, Ledger
from warnlink.alerting.lifecycle import Alert, AlertKey, AlertState, step
from warnlink.alerting.overflight import GroundTrack, ground_track
from warnlink.estimation.refresh import drift_sigma
from warnlink.fusion.picture import Event, Picture
from warnlink.geo.areas import Area, areas_for
from warnlink.geo.ellipse import ELLIPSE_95_SCALE
from warnlink.geo.wgs84 import enu_rotation, lla_to_ecef
from warnlink.model import Envelope, ImpactPrediction, Phase, Status, TrackReport
from warnlink.model.covariance import unpack_covariance
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

#: The ground track is flown again from a track state at most this often (event time),
#: and then only when the state left the path by `PATH_MOVED_SIGMA` of its sigmas (below
#: sqrt(chi2_2(0.95)) = 2.45: the new path lies within the old one's uncertainty; a
#: consistent filter moves ~1 sigma per radar revisit) or is `PATH_MAX_AGE_S` newer.
PATH_EVERY_S: Final = 10.0
PATH_MOVED_SIGMA: Final = 2.0
PATH_MAX_AGE_S: Final = 30.0
#: An impact prediction whose changes stay below the steps below is assessed anyway once
#: it is this much newer (event time) than the one last assessed: the longest an alert
#: waits for a slow drift (each step below the thresholds) to be seen.
REASSESS_EVERY_S: Final = 10.0
#: The centre moved by this fraction of the ellipse's smaller 1-sigma axis: the mass over
#: an area's edge moves by at most 0.4 x 0.1 = 0.04 (the normal density's peak times the
#: shift), below the lifecycle's issue (0.05) and update (0.10) steps.
REASSESS_MOVED_SIGMA: Final = 0.1
#: An axis grew or shrank by this fraction, or (for an ellipse this much longer than wide)
#: turned by `REASSESS_TURN_DEG`: the mass over an edge moves by at most ~0.03.
REASSESS_AXIS_CHANGE: Final = 0.1
REASSESS_TURN_DEG: Final = 5.0
#: The impact time moved by this much: a third of the lifecycle's update step
#: (`lifecycle.UPDATE_TIME_S`), so the alert's times stay within it.
REASSESS_TIME_S: Final = 10.0
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
        self._impacts: dict[str, tuple[ImpactPrediction, DataMode, list[Threat]]] = {}
        self._paths: dict[str, tuple[TrackReport, GroundTrack | None, list[Threat]]] = {}

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
        mode = data_mode_of(event)
        cached = self._impacts.get(event.event_id)
        if cached is None or cached[1] is not mode or impact_worth_reassessing(cached[0], ipp):
            derived = self.ledger.derived_from(key, "impact_prediction")
            cached = (ipp, mode, impact_threats(event.event_id, ipp, self.areas, derived, mode))
            self._impacts[event.event_id] = cached
        return cached[2]

    def _overflight_threats(self, event: Event) -> list[Threat]:
        found = latest_ballistic_track(event)
        if found is None:
            return []
        key, track = found
        cached = self._paths.get(event.event_id)
        if cached is not None and not path_worth_reflying(cached[0], track):
            return cached[2]
        path = ground_track(track)
        derived = self.ledger.derived_from(key, "track_report")
        threats = (
            []
            if path is None
            else overflight_threats(event.event_id, path, self.areas, derived, data_mode_of(event))
        )
        self._paths[event.event_id] = (track, path, threats)
        return threats


def path_worth_reflying(flown: TrackReport, track: TrackReport) -> bool:
    """Whether `track` is `PATH_EVERY_S` newer than the state the ground track was flown
    from and either left that path by `PATH_MOVED_SIGMA` of its sigmas (`estimation.
    refresh.drift_sigma`), gives no covariance to tell, or is `PATH_MAX_AGE_S` newer."""
    age_s = (track.epoch - flown.epoch) / NS_PER_S
    if age_s < PATH_EVERY_S:
        return False
    if age_s >= PATH_MAX_AGE_S or track.cov is None:
        return True
    drift = drift_sigma(
        np.array([*flown.pos, *flown.vel], dtype=np.float64),
        np.array([*track.pos, *track.vel], dtype=np.float64),
        unpack_covariance(track.cov),
        age_s,
    )
    return drift > PATH_MOVED_SIGMA


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


def impact_worth_reassessing(assessed: ImpactPrediction, ipp: ImpactPrediction) -> bool:
    """Whether `ipp` differs from the prediction last assessed enough to assess it again.

    Enough: it is `REASSESS_EVERY_S` newer, or its impact time moved by `REASSESS_TIME_S`,
    an axis changed by `REASSESS_AXIS_CHANGE`, an elongated ellipse turned by
    `REASSESS_TURN_DEG`, or the centre moved by `REASSESS_MOVED_SIGMA` of the smaller
    1-sigma axis (on the tangent plane at the assessed centre).
    """
    if ipp == assessed:
        return False
    if ipp.epoch - assessed.epoch >= REASSESS_EVERY_S * NS_PER_S or ipp.epoch < assessed.epoch:
        return True
    if abs(ipp.impact_time - assessed.impact_time) >= REASSESS_TIME_S * NS_PER_S:
        return True
    old, new = assessed.impact_aou, ipp.impact_aou
    for before, after in (
        (old.semi_major_m, new.semi_major_m),
        (old.semi_minor_m, new.semi_minor_m),
    ):
        if abs(after - before) > REASSESS_AXIS_CHANGE * before:
            return True
    turn = abs(new.orientation_deg - old.orientation_deg) % 180.0
    if min(turn, 180.0 - turn) > REASSESS_TURN_DEG and (
        old.semi_major_m > (1.0 + REASSESS_AXIS_CHANGE) * old.semi_minor_m
    ):
        return True
    shift = enu_rotation(assessed.impact_lat, assessed.impact_lon) @ (
        lla_to_ecef(ipp.impact_lat, ipp.impact_lon, 0.0)
        - lla_to_ecef(assessed.impact_lat, assessed.impact_lon, 0.0)
    )
    sigma_minor = old.semi_minor_m / ELLIPSE_95_SCALE
    return bool(math.hypot(shift[0], shift[1]) > REASSESS_MOVED_SIGMA * sigma_minor)
