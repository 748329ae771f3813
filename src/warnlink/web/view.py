"""The display's view model: one party's picture as the operator display shows it.

`build_state` is a pure function of what the party's node holds (its `Picture`, which
holds only what was released to the party), its track states as applied, the
relay decisions that concern the party and its alerts. The web layer only serves
what it returns, so everything the display shows is tested here without a browser.
Link health and staleness are `fusion.freshness`'s, as the node process's are.

Times are UTC: ISO 8601 strings for people, integer nanoseconds beside them where the
page computes with them. Distances for people are in km.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from warnlink.alerting.ledger import TrackPoint, point_of
from warnlink.fusion.freshness import (
    STALE_AFTER_S,
    LinkState,
    LinkStateName,
    event_stale,
    is_stale,
    link_state,
    link_states,
)
from warnlink.fusion.picture import Contribution, ContributionKey, Event, Picture, tightest_launch
from warnlink.geo.wgs84 import destination, initial_azimuth_deg, surface_distance_m
from warnlink.model import Ellipse
from warnlink.model.time import NS_PER_S, utc_ns_to_iso
from warnlink.sharing.audit import DecisionRecord

#: How many of the relay's decisions concerning the party the display lists.
RECENT_DECISIONS: Final = 30
#: Points on an ellipse's outline and on a predicted ground track.
RING_POINTS: Final = 36
GROUND_TRACK_POINTS: Final = 24

LatLon = tuple[float, float]


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
    """A 95 % ellipse and its outline (lat, lon) for the map."""

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
    """One missile: the summary the event list shows and every contribution."""

    event_id: str
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
    #: From the latest track's ground point to the predicted impact point (great circle).
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
    """Everything one party's display shows (GET /api/state, and each WebSocket push)."""

    party: str
    party_name: str
    time: str | None
    time_ns: int | None
    stale_after_s: float
    events: list[EventView]
    links: list[LinkView]
    decisions: list[DecisionView]
    alerts: list[Alert]


def build_state(
    party: str,
    party_name: str,
    picture: Picture | None,
    now_ns: int | None,
    *,
    peers: Sequence[str],
    history: Mapping[ContributionKey, Sequence[TrackPoint]],
    decisions: Iterable[DecisionRecord],
    alerts: Sequence[Alert],
) -> StateView:
    """One party's display state.

    Args:
        party: the viewing party; `picture` must be its node's picture.
        party_name: the party's name, for the title.
        picture: the node's picture; None before the node runs (an empty display).
        now_ns: the node's clock, UTC ns; None before the node runs.
        peers: the party's link peers (`Federation.peers`).
        history: each contribution's track states as applied (`alerting.ledger.Ledger.tracks`).
        decisions: relay decisions, any party's: only those concerning `party` are kept.
        alerts: the party's alerts (empty until alerting provides them).
    """
    if picture is None or now_ns is None:
        events: list[EventView] = []
        links = [LinkView(peer, "down", None, None) for peer in peers]
    else:
        events = sorted(
            (_event_view(e, now_ns, history) for e in picture.events.values()),
            key=lambda e: (e.launch_time_ns or 0, e.event_id),
        )
        links = [_link_view(link) for link in link_states(picture, peers, now_ns)]
    return StateView(
        party=party,
        party_name=party_name,
        time=None if now_ns is None else utc_ns_to_iso(now_ns),
        time_ns=now_ns,
        stale_after_s=STALE_AFTER_S,
        events=events,
        links=links,
        decisions=decisions_for(party, decisions),
        alerts=list(alerts),
    )


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


def ellipse_view(lat: float, lon: float, ellipse: Ellipse) -> EllipseView:
    """An ellipse on the local tangent plane, with its outline as great-circle offsets."""
    a, b = ellipse.semi_major_m, ellipse.semi_minor_m
    t = np.linspace(0.0, 2.0 * math.pi, RING_POINTS, endpoint=False)
    along, across = a * np.cos(t), b * np.sin(t)
    azimuth = ellipse.orientation_deg + np.degrees(np.arctan2(across, along))
    lats, lons = destination(lat, lon, azimuth, np.hypot(along, across))
    ring = [(round(float(y), 4), round(float(x), 4)) for y, x in zip(lats, lons, strict=True)]
    return EllipseView(
        round(a / 1000, 3), round(b / 1000, 3), round(ellipse.orientation_deg, 1), ring
    )


def great_circle(start: LatLon, end: LatLon, points: int = GROUND_TRACK_POINTS) -> list[LatLon]:
    """Points from `start` to `end` along the great circle, both included."""
    distance = float(surface_distance_m(start[0], start[1], end[0], end[1]))
    azimuth = float(initial_azimuth_deg(start[0], start[1], end[0], end[1]))
    lats, lons = destination(start[0], start[1], azimuth, np.linspace(0.0, distance, points))
    return [(round(float(y), 4), round(float(x), 4)) for y, x in zip(lats, lons, strict=True)]


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


def _event_view(
    event: Event, now_ns: int, history: Mapping[ContributionKey, Sequence[TrackPoint]]
) -> EventView:
    contributions = sorted(event.contributions.values(), key=lambda c: (c.originator, c.trk_id))
    launch = tightest_launch(contributions)
    found = event.latest_impact()
    impact_of = None if found is None else event.contributions[found[0]]
    impact = None if impact_of is None else impact_of.impact
    origin = None if launch is None else (launch.launch_lat, launch.launch_lon)
    views = [_contribution_view(c, origin, now_ns, history) for c in contributions]
    latest_track = event.latest_track()
    latest = None if latest_track is None else point_of(latest_track)
    ground = (
        great_circle((latest.lat_deg, latest.lon_deg), (impact.impact_lat, impact.impact_lon))
        if latest is not None and impact is not None
        else []
    )
    range_classes = [v.launch.range_class for v in views if v.launch and v.launch.range_class]
    return EventView(
        event_id=event.event_id,
        originators=sorted(event.originators()),
        range_class=_widest(range_classes),
        launch_time=None if launch is None else utc_ns_to_iso(launch.launch_time),
        launch_time_ns=None if launch is None else launch.launch_time,
        since_launch_s=None if launch is None else _age_s(launch.launch_time, now_ns),
        impact_time=None if impact is None else utc_ns_to_iso(impact.impact_time),
        impact_time_ns=None if impact is None else impact.impact_time,
        countdown_s=None if impact is None else -_age_s(impact.impact_time, now_ns),
        impact_by=None if impact_of is None else impact_of.originator,
        status=_event_status(views),
        stale=event_stale(event, now_ns),
        predicted_ground_track=ground,
        contributions=views,
    )


def _contribution_view(
    c: Contribution,
    origin: LatLon | None,
    now_ns: int,
    history: Mapping[ContributionKey, Sequence[TrackPoint]],
) -> ContributionView:
    """One contribution; its profile runs from `origin`, else from its first track point."""
    points = history.get((c.originator, c.trk_id), ())
    return ContributionView(
        originator=c.originator,
        track_number=c.trk_id,
        status=c.status.value,
        track_reports=c.track_count,
        launch=None
        if c.launch is None
        else LaunchView(
            lat=round(c.launch.launch_lat, 4),
            lon=round(c.launch.launch_lon, 4),
            time=utc_ns_to_iso(c.launch.launch_time),
            time_ns=c.launch.launch_time,
            time_sigma_s=round(c.launch.launch_time_sigma_s, 2),
            range_class=None if c.launch.range_class is None else c.launch.range_class.value,
            sensor=c.launch.sensor,
            ellipse=ellipse_view(c.launch.launch_lat, c.launch.launch_lon, c.launch.launch_aou),
        ),
        track=_track_view(c, points, now_ns),
        impact=None
        if c.impact is None
        else ImpactView(
            lat=round(c.impact.impact_lat, 4),
            lon=round(c.impact.impact_lon, 4),
            time=utc_ns_to_iso(c.impact.impact_time),
            time_ns=c.impact.impact_time,
            time_sigma_s=round(c.impact.impact_time_sigma_s, 2),
            made_from=utc_ns_to_iso(c.impact.epoch),
            age_s=_age_s(c.impact.epoch, now_ns),
            stale=is_stale(c.impact.epoch, now_ns),
            ellipse=ellipse_view(c.impact.impact_lat, c.impact.impact_lon, c.impact.impact_aou),
        ),
        profile=profile(points, origin or (points[0].lat_deg, points[0].lon_deg)) if points else [],
    )


def _track_view(c: Contribution, points: Sequence[TrackPoint], now_ns: int) -> TrackView | None:
    if c.track is None:
        return None
    now = point_of(c.track)
    age_s = _age_s(c.track.epoch, now_ns)
    return TrackView(
        time=utc_ns_to_iso(c.track.epoch),
        lat=round(now.lat_deg, 4),
        lon=round(now.lon_deg, 4),
        alt_km=round(now.alt_m / 1000, 2),
        speed_m_s=round(math.hypot(*c.track.vel), 1),
        phase=c.track.phase.value,
        quality=c.track.trk_qual,
        sensor=c.track.sensor,
        covariance_released=c.track.cov is not None,
        age_s=age_s,
        stale=is_stale(c.track.epoch, now_ns),
        flown=[(round(p.lat_deg, 4), round(p.lon_deg, 4)) for p in points],
    )


def _age_s(epoch_ns: int, now_ns: int) -> float:
    return round((now_ns - epoch_ns) / NS_PER_S, 1)


_RANGE_ORDER: Final = ("SRBM", "MRBM", "IRBM", "ICBM")


def _widest(range_classes: Sequence[str]) -> str | None:
    """The longest range class any originator reported (the cautious reading)."""
    return max(range_classes, key=_RANGE_ORDER.index) if range_classes else None


def _event_status(views: Sequence[ContributionView]) -> str:
    """Flying while any originator holds it flying; else the most common ending."""
    statuses = [v.status for v in views]
    if "flying" in statuses:
        return "flying"
    return max(sorted(set(statuses)), key=statuses.count)
