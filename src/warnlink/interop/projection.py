"""One projection of an event: what every output shows of one missile in one party's picture.

The display (`web.view`), Cursor-on-Target (`interop.cot`), GeoJSON and KML
(`interop.export`) and the output folder (`interop.outputs`, through `interop.formats`)
all read these values and nothing else of the picture, so they agree: the same best
launch, latest impact, 95 % rings (`geo.ellipse.ellipse_ring`), predicted ground track
(alerting's ballistic one, `alerting.overflight`), track histories (the alerting ledger's
track states as applied), staleness (`fusion.freshness`) and data mode.

`project_party` is a pure function of what a `PartyView` holds (the party's picture, its
alerting monitor) and its clock's now; `project_event` of one event, the monitor and now.
The only thing it asks of the monitor beyond reading is the event's ground track, which
the monitor flies once per track state `alerting.monitor.PATH_EVERY_S` newer and caches.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from warnlink.alerting.ledger import TrackPoint, point_of
from warnlink.alerting.lifecycle import Alert
from warnlink.alerting.monitor import AlertMonitor, data_mode_of
from warnlink.alerting.overflight import GroundTrack
from warnlink.fusion.freshness import event_stale, is_stale
from warnlink.fusion.picture import Contribution, Event
from warnlink.geo.ellipse import Ring, ellipse_ring
from warnlink.interop.party import PartyView
from warnlink.model import Ellipse, ImpactPrediction, LaunchReport, RangeClass, Status, TrackReport
from warnlink.model.record import DataMode

#: Range classes, shortest first: an event shows the longest any originator reported.
RANGE_ORDER: Final = (RangeClass.SRBM, RangeClass.MRBM, RangeClass.IRBM, RangeClass.ICBM)
#: Rings remembered: a report's ring is drawn once, not at every projection (the display
#: projects up to 4 times a second per client, the CoT feed once a second).
RINGS_KEPT: Final = 4096


@dataclass(frozen=True, slots=True)
class LaunchPoint:
    """One originator's launch report and its 95 % ellipse's outline (closed, lat/lon)."""

    originator: str
    trk_id: int
    report: LaunchReport
    ring: Ring


@dataclass(frozen=True, slots=True)
class TrackState:
    """One originator's latest track state, its geodetic position, and whether it is stale."""

    originator: str
    trk_id: int
    report: TrackReport
    position: TrackPoint
    stale: bool


@dataclass(frozen=True, slots=True)
class ImpactPoint:
    """One originator's latest impact prediction, its 95 % ring, and whether it is stale."""

    originator: str
    trk_id: int
    prediction: ImpactPrediction
    ring: Ring
    stale: bool


@dataclass(frozen=True, slots=True)
class ContributionProjection:
    """One originator's track of the event, as the party received it.

    Attributes:
        history: its track states as applied, oldest first (the alerting ledger's).
    """

    originator: str
    trk_id: int
    status: Status
    track_reports: int
    launch: LaunchPoint | None
    track: TrackState | None
    impact: ImpactPoint | None
    history: tuple[TrackPoint, ...]


@dataclass(frozen=True, slots=True)
class EventProjection:
    """One missile as every output shows it, as of `as_of_ns` (UTC ns).

    Attributes:
        data_mode: whether it is real (`alerting.monitor.data_mode_of`); an event never
            mixes modes.
        range_class: the longest any originator reported (the cautious reading).
        status: flying while any originator holds it flying, else the most common ending.
        stale: every contribution's items are stale (`fusion.freshness.event_stale`).
        launch: the tightest launch report (smallest 95 % semi-major axis).
        track: the most recent track state of any originator.
        impact: the most recent impact prediction (ties: the smaller ellipse).
        ground_track: the predicted ballistic path from the latest post-boost track state
            to impact (`AlertMonitor.ground_track`); None before burnout.
        contributions: by originator, then track number.
    """

    party: str
    event_id: str
    as_of_ns: int
    data_mode: DataMode
    originators: tuple[str, ...]
    range_class: RangeClass | None
    status: Status
    stale: bool
    launch: LaunchPoint | None
    track: TrackState | None
    impact: ImpactPoint | None
    ground_track: GroundTrack | None
    contributions: tuple[ContributionProjection, ...]


@dataclass(frozen=True, slots=True)
class PartyProjection:
    """Every event of one party's picture and its alerts, as of `as_of_ns`.

    Attributes:
        events: by launch time (events without a launch report first), then id.
        alerts: every alert message the party sent, in order (CAP).
        in_force: the latest message of each alert in force (the display's banner).
    """

    party: str
    as_of_ns: int
    events: tuple[EventProjection, ...]
    alerts: tuple[Alert, ...]
    in_force: tuple[Alert, ...]

    def event(self, event_id: str) -> EventProjection | None:
        """The event of that id, or None."""
        return next((e for e in self.events if e.event_id == event_id), None)

    @property
    def non_real_modes(self) -> tuple[DataMode, ...]:
        """The data modes other than REAL among the events, in `DataMode` order."""
        shown = {e.data_mode for e in self.events}
        return tuple(m for m in DataMode if m in shown and m is not DataMode.REAL)


def project_party(view: PartyView, event_ids: Collection[str] | None = None) -> PartyProjection:
    """The projection of a party's picture now (only `event_ids` when given) and its alerts."""
    now_ns = view.clock.now_ns()
    monitor = view.alerts
    events = [
        project_event(view.party, event, monitor, now_ns)
        for event_id, event in view.picture.events.items()
        if event_ids is None or event_id in event_ids
    ]
    events.sort(key=lambda e: (0 if e.launch is None else e.launch.report.launch_time, e.event_id))
    return PartyProjection(
        party=view.party,
        as_of_ns=now_ns,
        events=tuple(events),
        alerts=tuple(a for a in monitor.alerts if event_ids is None or a.key[0] in event_ids),
        in_force=tuple(
            s.latest
            for s in monitor.book.values()
            if s.active and (event_ids is None or s.latest.key[0] in event_ids)
        ),
    )


def project_event(party: str, event: Event, monitor: AlertMonitor, now_ns: int) -> EventProjection:
    """The projection of one event of `party`'s picture at `now_ns` (UTC ns)."""
    projected = {key: _contribution(c, monitor, now_ns) for key, c in event.contributions.items()}
    # Picks in the picture's order of contributions, as `fusion.picture` makes them.
    launches = [p.launch for p in projected.values() if p.launch is not None]
    tracks = [p.track for p in projected.values() if p.track is not None]
    found = event.latest_impact()
    ranges = [x.report.range_class for x in launches if x.report.range_class is not None]
    return EventProjection(
        party=party,
        event_id=event.event_id,
        as_of_ns=now_ns,
        data_mode=data_mode_of(event),
        originators=tuple(sorted(event.originators())),
        range_class=max(ranges, key=RANGE_ORDER.index) if ranges else None,
        status=_event_status([c.status for c in event.contributions.values()]),
        stale=event_stale(event, now_ns),
        launch=min(launches, key=lambda x: x.report.launch_aou.semi_major_m) if launches else None,
        track=max(tracks, key=lambda t: t.report.epoch) if tracks else None,
        impact=None if found is None else projected[found[0]].impact,
        ground_track=monitor.ground_track(event),
        contributions=tuple(projected[key] for key in sorted(projected)),
    )


def _contribution(c: Contribution, monitor: AlertMonitor, now_ns: int) -> ContributionProjection:
    key = (c.originator, c.trk_id)
    launch, track, impact = c.launch, c.track, c.impact
    return ContributionProjection(
        originator=c.originator,
        trk_id=c.trk_id,
        status=c.status,
        track_reports=c.track_count,
        launch=None
        if launch is None
        else LaunchPoint(
            c.originator,
            c.trk_id,
            launch,
            _ring(launch.launch_lat, launch.launch_lon, launch.launch_aou),
        ),
        track=None
        if track is None
        else TrackState(
            c.originator, c.trk_id, track, point_of(track), is_stale(track.epoch, now_ns)
        ),
        impact=None
        if impact is None
        else ImpactPoint(
            c.originator,
            c.trk_id,
            impact,
            _ring(impact.impact_lat, impact.impact_lon, impact.impact_aou),
            is_stale(impact.epoch, now_ns),
        ),
        history=monitor.ledger.track_points(key),
    )


@functools.lru_cache(maxsize=RINGS_KEPT)
def _ring(lat_deg: float, lon_deg: float, ellipse: Ellipse) -> Ring:
    """`geo.ellipse.ellipse_ring`, remembered (it is a pure function of its arguments)."""
    return ellipse_ring(lat_deg, lon_deg, ellipse)


def _event_status(statuses: list[Status]) -> Status:
    """Flying while any originator holds it flying; else the most common ending."""
    if Status.FLYING in statuses:
        return Status.FLYING
    return max(sorted(set(statuses)), key=statuses.count)
