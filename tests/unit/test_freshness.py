"""Link health from heartbeats, link transitions over time, and staleness in a picture."""

from __future__ import annotations

import io

import msgspec
import pytest

from tests.factories import T0, envelope, impact, launch, track
from warnlink.deploy import announce_links
from warnlink.fusion.freshness import (
    STALE_AFTER_S,
    LinkState,
    LinkWatch,
    StaleItem,
    event_stale,
    is_stale,
    link_state,
    link_states,
    stale_items,
    staleness,
)
from warnlink.fusion.picture import Picture
from warnlink.model import ImpactPrediction, LaunchReport, TrackReport
from warnlink.model.time import NS_PER_S
from warnlink.sharing.gateway import HEARTBEAT_INTERVAL_S

INTERVAL_NS = round(HEARTBEAT_INTERVAL_S * NS_PER_S)
STALE_NS = round(STALE_AFTER_S * NS_PER_S)


@pytest.mark.parametrize(
    ("age_ns", "expected"),
    [
        (0, "up"),
        (2 * INTERVAL_NS, "up"),
        (2 * INTERVAL_NS + 1, "late"),
        (4 * INTERVAL_NS, "late"),
        (4 * INTERVAL_NS + 1, "down"),
        (100 * INTERVAL_NS, "down"),
    ],
)
def test_every_link_state_boundary(age_ns: int, expected: str) -> None:
    link = link_state("USA", T0, T0 + age_ns)
    assert link.state == expected
    assert link.last_heartbeat_ns == T0
    assert link.age_s == age_ns / NS_PER_S


def test_a_link_never_heard_is_down_with_no_age() -> None:
    assert link_state("USA", None, T0) == LinkState("USA", "down", None, None)


def test_the_picture_gives_every_peer_its_state_in_the_order_asked() -> None:
    picture = Picture("JPN")
    picture.heartbeats["USA"] = T0
    states = link_states(picture, ["USA", "ROK"], T0 + 3 * INTERVAL_NS)
    assert [(s.peer, s.state) for s in states] == [("USA", "late"), ("ROK", "down")]


def test_the_stale_threshold_is_three_heartbeat_intervals() -> None:
    assert STALE_AFTER_S == 3 * HEARTBEAT_INTERVAL_S
    assert not is_stale(T0, T0 + STALE_NS)
    assert is_stale(T0, T0 + STALE_NS + 1)
    assert not is_stale(T0, T0 - NS_PER_S)  # an epoch ahead of the clock is not old


def _picture(*payloads: TrackReport | LaunchReport | ImpactPrediction) -> Picture:
    picture = Picture("JPN")
    for seq, payload in enumerate(payloads, start=1):
        picture.apply(envelope(payload, originator="ROK", seq=seq), T0)
    return picture


def test_track_and_prediction_go_stale_when_not_refreshed_the_launch_never() -> None:
    picture = _picture(launch(), track(), impact())
    (event,) = picture.events.values()
    (contribution,) = event.contributions.values()
    fresh = staleness(contribution, T0 + STALE_NS)
    assert (fresh.track, fresh.impact, fresh.all_stale) == (False, False, False)
    assert not event_stale(event, T0 + STALE_NS)
    assert stale_items(picture, T0 + STALE_NS) == []

    later = T0 + STALE_NS + NS_PER_S
    old = staleness(contribution, later)
    assert (old.track, old.impact, old.all_stale) == (True, True, True)
    assert event_stale(event, later)
    assert stale_items(picture, later) == [
        StaleItem(event.event_id, "ROK", 1, kind, T0, STALE_AFTER_S + 1)
        for kind in ("impact", "track")
    ]


def test_an_item_missing_is_neither_stale_nor_fresh() -> None:
    picture = _picture(track())
    (event,) = picture.events.values()
    (contribution,) = event.contributions.values()
    marks = staleness(contribution, T0 + STALE_NS + 1)
    assert (marks.track, marks.impact) == (True, None)
    assert [i.kind for i in stale_items(picture, T0 + STALE_NS + 1)] == ["track"]


def test_an_event_with_one_fresh_item_is_not_stale() -> None:
    picture = _picture(track())
    later = T0 + STALE_NS + 1
    # Received now, but made from the state at T0: the prediction is stale too.
    picture.apply(envelope(impact(), originator="ROK", seq=9), later)
    (event,) = picture.events.values()
    assert event_stale(event, later)
    refreshed = msgspec.structs.replace(track(), epoch=later)
    picture.apply(envelope(refreshed, originator="ROK", seq=10), later)
    assert not event_stale(event, later)


def _at(peer: str, last_ns: int | None, now_ns: int) -> list[LinkState]:
    return [link_state(peer, last_ns, now_ns)]


def test_the_watch_reports_an_outage_and_its_length() -> None:
    watch = LinkWatch()
    s = NS_PER_S
    (first,) = watch.update(_at("USA", T0, T0), T0)  # heard before the first look
    assert (first.before, first.after, first.silent_s) == ("down", "up", None)
    assert watch.update(_at("USA", T0 + 5 * s, T0 + 6 * s), T0 + 6 * s) == []
    late = watch.update(_at("USA", T0 + 5 * s, T0 + 16 * s), T0 + 16 * s)
    assert [(t.before, t.after, t.silent_s) for t in late] == [("up", "late", 11.0)]
    down = watch.update(_at("USA", T0 + 5 * s, T0 + 26 * s), T0 + 26 * s)
    assert [(t.before, t.after, t.at_ns, t.silent_s) for t in down] == [
        ("late", "down", T0 + 26 * s, 21.0)
    ]
    assert watch.update(_at("USA", T0 + 5 * s, T0 + 30 * s), T0 + 30 * s) == []  # still down
    back = watch.update(_at("USA", T0 + 36 * s, T0 + 36 * s), T0 + 36 * s)
    assert [(t.before, t.after, t.silent_s) for t in back] == [("down", "up", 31.0)]
    (transition,) = back
    assert transition.describe("JPN") == "link JPN-USA up again after 31.0 s"
    assert down[0].describe("JPN") == "link JPN-USA down (no heartbeat for 21.0 s)"
    assert late[0].describe("JPN") == "link JPN-USA late (no heartbeat for 11.0 s)"


def test_a_link_heard_for_the_first_time_comes_up() -> None:
    watch = LinkWatch()
    assert watch.update(_at("USA", None, T0), T0) == []  # never heard: down, as assumed
    (first,) = watch.update(_at("USA", T0 + 1, T0 + NS_PER_S), T0 + NS_PER_S)
    assert (first.before, first.after, first.silent_s) == ("down", "up", None)
    assert first.describe("JPN") == "link JPN-USA up"


def test_the_watch_keeps_each_peer_apart() -> None:
    watch = LinkWatch()
    now = T0 + 30 * NS_PER_S
    assert len(watch.update([link_state("USA", now, now), link_state("ROK", now, now)], now)) == 2
    later = now + 25 * NS_PER_S
    changes = watch.update([link_state("USA", later, later), link_state("ROK", now, later)], later)
    assert [(t.peer, t.after) for t in changes] == [("ROK", "down")]


def test_a_node_process_prints_each_link_transition_once() -> None:
    picture, watch, out = Picture("JPN"), LinkWatch(), io.StringIO()
    s = NS_PER_S

    def look(now_ns: int) -> None:
        announce_links("JPN", watch, picture, ["USA"], now_ns, out)

    look(T0)  # never heard: down, and nothing said at the first look
    picture.heartbeats["USA"] = T0 + s
    look(T0 + s)
    look(T0 + 2 * s)
    look(T0 + 25 * s)  # past 4 intervals at once: down
    look(T0 + 26 * s)
    picture.heartbeats["USA"] = T0 + 40 * s
    look(T0 + 40 * s)
    assert out.getvalue().splitlines() == [
        "warnlink JPN node: link JPN-USA up",
        "warnlink JPN node: link JPN-USA down (no heartbeat for 24.0 s)",
        "warnlink JPN node: link JPN-USA up again after 39.0 s",
    ]
