"""The display's view model: one party's picture as the operator display shows it.

`build_state` is a pure function of what the party holds (`interop.party.PartyView`: its
picture, which holds only what was released to the party, and its alerting), read
through the output port's projection (`interop.projection`, which every output reads),
the relay decisions that concern the party and its alerts. The web layer only serves
what it returns, so everything the display shows is tested here without a browser.
Link health and staleness are `fusion.freshness`'s, as the node process's are.

Times are UTC: ISO 8601 strings for people, integer nanoseconds beside them where the
page computes with them. Distances for people are in km.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.alerting.ledger import TrackPoint
from warnlink.alerting.lifecycle import Alert as AlertMessage
from warnlink.alerting.overflight import GroundTrack
from warnlink.fusion.freshness import (
    STALE_AFTER_S,
    LinkState,
    LinkStateName,
    link_state,
    link_states,
)
from warnlink.geo.ellipse import LatLon, Ring
from warnlink.geo.wgs84 import surface_distance_m
from warnlink.interop.party import PartyView
from warnlink.interop.projection import (
    ContributionProjection,
    EventProjection,
    ImpactPoint,
    LaunchPoint,
    TrackState,
    project_party,
)
from warnlink.model import Ellipse
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S, utc_ns_to_iso
from warnlink.sharing.audit import DecisionRecord
from warnlink.sources.health import SourceHealth

#: How many of the relay's decisions concerning the party the display lists.
RECENT_DECISIONS: Final = 30


@dataclass(frozen=True, slots=True)
class Alert:
    """A threat to the viewing party: its territory, sea or airspace (from alerting).

    Attributes:
        event_id: the event in this party's picture.
        area: what is threatened, e.g. ``territory``, ``territorial_sea``, ``eez``,
            ``airspace``.
        headline: one line for the banner.
    """

    event_id: str
    area: str
    headline: str


@dataclass(frozen=True, slots=True)
class EllipseView:
    """A 95 % ellipse and its outline (lat, lon; closed: the first point last) for the map."""

    semi_major_km: float
    semi_minor_km: float
    orientation_deg: float
    ring: list[LatLon]


@dataclass(frozen=True, slots=True)
class LaunchView:
    """One originator's launch point and time."""

    lat: float
    lon: float
    time: str
    time_ns: int
    time_sigma_s: float
    range_class: str | None
    sensor: str | None
    ellipse: EllipseView


@dataclass(frozen=True, slots=True)
class TrackView:
    """One originator's latest track state and the ground track it flew."""

    time: str
    lat: float
    lon: float
    alt_km: float
    speed_m_s: float
    phase: str
    quality: int
    sensor: str | None
    covariance_released: bool
    age_s: float
    stale: bool
    flown: list[LatLon]


@dataclass(frozen=True, slots=True)
class ImpactView:
    """One originator's latest impact prediction."""

    lat: float
    lon: float
    time: str
    time_ns: int
    time_sigma_s: float
    made_from: str
    age_s: float
    stale: bool
    ellipse: EllipseView


@dataclass(frozen=True, slots=True)
class ContributionView:
    """One originator's track of the event, as this party received it."""

    originator: str
    track_number: int
    status: str
    track_reports: int
    launch: LaunchView | None
    track: TrackView | None
    impact: ImpactView | None
    #: (downrange km from the event's launch point, altitude km), oldest first.
    profile: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class EventView:
    """One missile: the summary the event list shows and every contribution.

    Attributes:
        data_mode: ``REAL``, ``EXERCISE``, ``TEST`` or ``SIMULATED``; the page badges
            every event that is not real.
        predicted_ground_track: the predicted ballistic path from the latest post-boost
            track state to impact (alerting's, `alerting.overflight`), empty before
            burnout.
    """

    event_id: str
    data_mode: str
    originators: list[str]
    range_class: str | None
    launch_time: str | None
    launch_time_ns: int | None
    since_launch_s: float | None
    impact_time: str | None
    impact_time_ns: int | None
    countdown_s: float | None
    impact_by: str | None
    status: str
    stale: bool
    predicted_ground_track: list[LatLon]
    contributions: list[ContributionView]


@dataclass(frozen=True, slots=True)
class LinkView:
    """Health of one bilateral link, from the peer's heartbeats."""

    peer: str
    state: LinkStateName
    last_heartbeat: str | None
    age_s: float | None


@dataclass(frozen=True, slots=True)
class SourceView:
    """One of the party's national sources, as its node sees it (`sources.health`).

    Attributes:
        state: ``live``, ``silent`` (nothing for longer than twice its interval) or
            ``revoked``.
        last_record: when its last record was taken (ISO UTC; None: none yet).
        refused: refusals since the node started, by reason.
    """

    name: str
    state: str
    data_mode: str
    last_record: str | None
    last_record_ns: int | None
    records_last_minute: int
    rate_per_s: float
    accepted: int
    duplicates: int
    refused: dict[str, int]
    interval_s: float


def source_view(health: SourceHealth) -> SourceView:
    """A source's health as the display shows it."""
    last = health.last_record_ns
    return SourceView(
        name=health.name,
        state=health.state.value,
        data_mode=health.data_mode,
        last_record=None if last is None else utc_ns_to_iso(last),
        last_record_ns=last,
        records_last_minute=health.records_last_minute,
        rate_per_s=round(health.rate_per_s, 3),
        accepted=health.accepted,
        duplicates=health.duplicates,
        refused=dict(health.refused),
        interval_s=health.interval_s,
    )


@dataclass(frozen=True, slots=True)
class DecisionView:
    """One relay decision that concerns the viewing party."""

    time: str
    decider: str
    originator: str
    kind: str
    recipient: str
    outcome: str
    reason: str
    withheld: list[str]


@dataclass(frozen=True, slots=True)
class StateView:
    """Everything one party's display shows (GET /api/state, and each WebSocket push).

    Attributes:
        non_real_modes: the data modes other than REAL among the events shown (e.g.
            ``["SIMULATED"]``), empty when all are real: the page's mode banner.
    """

    party: str
    party_name: str
    time: str | None
    time_ns: int | None
    stale_after_s: float
    non_real_modes: list[str]
    events: list[EventView]
    links: list[LinkView]
    decisions: list[DecisionView]
    alerts: list[Alert]
    sources: list[SourceView]


def build_state(
    party: str,
    party_name: str,
    view: PartyView | None,
    *,
    peers: Sequence[str],
    decisions: Iterable[DecisionRecord],
    alerts: Sequence[Alert] | None = None,
    sources: Sequence[SourceHealth] = (),
) -> StateView:
    """One party's display state.

    Args:
        party: the viewing party; `view` must be its own.
        party_name: the party's name, for the title.
        view: the party's picture, alerting and clock; None before its node runs (an
            empty display).
        peers: the party's link peers (`Federation.peers`).
        decisions: relay decisions, any party's: only those concerning `party` are kept.
        alerts: the banner's alerts; by default the view's alerts in force.
        sources: the party's national sources' health (`sources.health`), if it has any.
    """
    if view is None:
        return StateView(
            party=party,
            party_name=party_name,
            time=None,
            time_ns=None,
            stale_after_s=STALE_AFTER_S,
            non_real_modes=[],
            events=[],
            links=[LinkView(peer, "down", None, None) for peer in peers],
            decisions=decisions_for(party, decisions),
            alerts=list(alerts or ()),
            sources=[source_view(s) for s in sources],
        )
    projection = project_party(view)
    now_ns = projection.as_of_ns
    return StateView(
        party=party,
        party_name=party_name,
        time=utc_ns_to_iso(now_ns),
        time_ns=now_ns,
        stale_after_s=STALE_AFTER_S,
        non_real_modes=[m.value for m in projection.non_real_modes],
        events=[_event_view(e) for e in projection.events],
        links=[_link_view(link) for link in link_states(view.picture, peers, now_ns)],
        decisions=decisions_for(party, decisions),
        alerts=list(banner_alerts(projection.in_force) if alerts is None else alerts),
        sources=[source_view(s) for s in sources],
    )


def banner_alerts(in_force: Iterable[AlertMessage]) -> list[Alert]:
    """The banner's lines of the alerts in force; each says its data mode unless real."""
    shown = []
    for message in in_force:
        threat = message.threat
        headline = f"{threat.kind} of {threat.event_id} over {threat.area}"
        if threat.kind == "impact":
            headline += f" (probability {threat.probability:.2f})"
        if message.data_mode is not DataMode.REAL:
            headline = f"{message.data_mode}: {headline}"
        shown.append(Alert(threat.event_id, str(threat.area_kind), headline))
    return shown


def link_view(peer: str, last_heartbeat_ns: int | None, now_ns: int) -> LinkView:
    """One link's health, by `fusion.freshness.link_state` (up, late or down)."""
    return _link_view(link_state(peer, last_heartbeat_ns, now_ns))


def _link_view(link: LinkState) -> LinkView:
    if link.last_heartbeat_ns is None or link.age_s is None:
        return LinkView(link.peer, link.state, None, None)
    return LinkView(
        link.peer, link.state, utc_ns_to_iso(link.last_heartbeat_ns), round(link.age_s, 1)
    )


#: The outcomes a recipient is shown of decisions about it.
SHOWN_TO_RECIPIENT: Final = frozenset({"forwarded", "redacted"})


def decisions_for(party: str, records: Iterable[DecisionRecord]) -> list[DecisionView]:
    """The latest `RECENT_DECISIONS` decisions naming `party`, newest first.

    A party sees the decisions it made, those on its own data, and those that sent it
    something (forwarded or redacted). A refusal is not shown to the party refused:
    that a message it was not released existed, when, and of what kind, is itself
    something its originator did not release to it.
    """
    mine = [
        r
        for r in records
        if party in (r.decider, r.originator)
        or (party == r.recipient and r.outcome in SHOWN_TO_RECIPIENT)
    ]
    return [
        DecisionView(
            utc_ns_to_iso(r.time),
            r.decider,
            r.originator,
            r.kind,
            r.recipient,
            r.outcome,
            r.reason,
            list(r.withheld),
        )
        for r in reversed(mine[-RECENT_DECISIONS:])
    ]


def ellipse_view(ellipse: Ellipse, ring: Ring) -> EllipseView:
    """An ellipse's axes in km and its outline (`interop.projection`'s ring), rounded."""
    return EllipseView(
        round(ellipse.semi_major_m / 1000, 3),
        round(ellipse.semi_minor_m / 1000, 3),
        round(ellipse.orientation_deg, 1),
        [(round(lat, 4), round(lon, 4)) for lat, lon in ring],
    )


def ground_track_view(path: GroundTrack | None) -> list[LatLon]:
    """The predicted ground track's sub-points (lat, lon), rounded; empty when none."""
    if path is None:
        return []
    return [
        (round(lat, 4), round(lon, 4)) for lat, lon in zip(path.lat_deg, path.lon_deg, strict=True)
    ]


def profile(points: Sequence[TrackPoint], origin: LatLon) -> list[tuple[float, float]]:
    """(downrange km from `origin`, altitude km) of each track point."""
    if not points:
        return []
    downrange = surface_distance_m(
        origin[0], origin[1], [p.lat_deg for p in points], [p.lon_deg for p in points]
    )
    return [
        (round(float(d) / 1000, 2), round(p.alt_m / 1000, 2))
        for d, p in zip(np.atleast_1d(downrange), points, strict=True)
    ]


def _event_view(event: EventProjection) -> EventView:
    now_ns = event.as_of_ns
    launch = None if event.launch is None else event.launch.report
    impact = None if event.impact is None else event.impact.prediction
    origin = None if launch is None else (launch.launch_lat, launch.launch_lon)
    return EventView(
        event_id=event.event_id,
        data_mode=event.data_mode.value,
        originators=list(event.originators),
        range_class=None if event.range_class is None else event.range_class.value,
        launch_time=None if launch is None else utc_ns_to_iso(launch.launch_time),
        launch_time_ns=None if launch is None else launch.launch_time,
        since_launch_s=None if launch is None else _age_s(launch.launch_time, now_ns),
        impact_time=None if impact is None else utc_ns_to_iso(impact.impact_time),
        impact_time_ns=None if impact is None else impact.impact_time,
        countdown_s=None if impact is None else -_age_s(impact.impact_time, now_ns),
        impact_by=None if event.impact is None else event.impact.originator,
        status=event.status.value,
        stale=event.stale,
        predicted_ground_track=ground_track_view(event.ground_track),
        contributions=[_contribution_view(c, origin, now_ns) for c in event.contributions],
    )


def _contribution_view(
    c: ContributionProjection, origin: LatLon | None, now_ns: int
) -> ContributionView:
    """One contribution; its profile runs from `origin`, else from its first track point."""
    points = c.history
    return ContributionView(
        originator=c.originator,
        track_number=c.trk_id,
        status=c.status.value,
        track_reports=c.track_reports,
        launch=None if c.launch is None else _launch_view(c.launch),
        track=None if c.track is None else _track_view(c.track, points, now_ns),
        impact=None if c.impact is None else _impact_view(c.impact, now_ns),
        profile=profile(points, origin or (points[0].lat_deg, points[0].lon_deg)) if points else [],
    )


def _launch_view(launch: LaunchPoint) -> LaunchView:
    report = launch.report
    return LaunchView(
        lat=round(report.launch_lat, 4),
        lon=round(report.launch_lon, 4),
        time=utc_ns_to_iso(report.launch_time),
        time_ns=report.launch_time,
        time_sigma_s=round(report.launch_time_sigma_s, 2),
        range_class=None if report.range_class is None else report.range_class.value,
        sensor=report.sensor,
        ellipse=ellipse_view(report.launch_aou, launch.ring),
    )


def _impact_view(impact: ImpactPoint, now_ns: int) -> ImpactView:
    ipp = impact.prediction
    return ImpactView(
        lat=round(ipp.impact_lat, 4),
        lon=round(ipp.impact_lon, 4),
        time=utc_ns_to_iso(ipp.impact_time),
        time_ns=ipp.impact_time,
        time_sigma_s=round(ipp.impact_time_sigma_s, 2),
        made_from=utc_ns_to_iso(ipp.epoch),
        age_s=_age_s(ipp.epoch, now_ns),
        stale=impact.stale,
        ellipse=ellipse_view(ipp.impact_aou, impact.ring),
    )


def _track_view(track: TrackState, points: Sequence[TrackPoint], now_ns: int) -> TrackView:
    report, now = track.report, track.position
    return TrackView(
        time=utc_ns_to_iso(report.epoch),
        lat=round(now.lat_deg, 4),
        lon=round(now.lon_deg, 4),
        alt_km=round(now.alt_m / 1000, 2),
        speed_m_s=round(math.hypot(*report.vel), 1),
        phase=report.phase.value,
        quality=report.trk_qual,
        sensor=report.sensor,
        covariance_released=report.cov is not None,
        age_s=_age_s(report.epoch, now_ns),
        stale=track.stale,
        flown=[(round(p.lat_deg, 4), round(p.lon_deg, 4)) for p in points],
    )


def _age_s(epoch_ns: int, now_ns: int) -> float:
    return round((now_ns - epoch_ns) / NS_PER_S, 1)
